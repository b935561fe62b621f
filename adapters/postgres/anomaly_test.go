package postgres_test

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/anomaly/anomalytest"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/gdpr/gdprtest"
	"github.com/eusaas/eusaas/internal/pgtest"
)

func TestConformanceAnomalyStore(t *testing.T) {
	anomalytest.Run(t, anomalytest.Harness{New: func(t *testing.T) anomalytest.Env {
		db := postgres.New(pgtest.Pool(t))
		return anomalytest.Env{
			Store: postgres.NewAnomalyStore(db),
			NewTenant: func(t *testing.T) eusaas.TenantID {
				id := eusaas.NewTenantID()
				require.NoError(t, db.CreateTenantSchema(context.Background(), id))
				return id
			},
			Tx: db,
			SoftDeleteBefore: func(t *testing.T, tenant eusaas.TenantID, cutoff time.Time) {
				// default_retention_days = 1 one day after cutoff; the grace period has not passed.
				p := gdpr.Policy{TenantID: tenant, DefaultRetentionDays: 1, AuditLogRetentionDays: 30, BackupRetentionDays: 7, PIIRetentionDays: 1}
				_, err := postgres.NewGDPRData(db).EnforceRetention(context.Background(), tenant, p, cutoff.AddDate(0, 0, 1), 365*24*time.Hour)
				require.NoError(t, err)
			},
		}
	}})
}

// TestAnomalyAcknowledgeAuditedOnPostgres: the first acknowledgement is an audit event also
// when the store keeps microseconds and the clock has nanoseconds (it was silently skipped).
func TestAnomalyAcknowledgeAuditedOnPostgres(t *testing.T) {
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(t))
	tn := eusaas.NewTenantID()
	require.NoError(t, db.CreateTenantSchema(ctx, tn))
	store := postgres.NewAnomalyStore(db)
	a := anomalytest.Sample(tn, "CPU", 0)
	_, _, err := store.Insert(ctx, a)
	require.NoError(t, err)
	var actions []string
	clock := eusaas.NewFakeClock(time.Date(2026, 3, 3, 10, 0, 0, 123456789, time.UTC)) // sub-microsecond part
	svc, err := anomaly.NewService(anomaly.Deps{Store: store, Recorder: eusaas.RecorderFunc(func(_ context.Context, ev eusaas.AuditEvent) error {
		actions = append(actions, ev.Action)
		return nil
	})}, anomaly.Options{Clock: clock})
	require.NoError(t, err)
	got, err := svc.Acknowledge(ctx, tn, a.ID, "alice")
	require.NoError(t, err)
	require.Equal(t, "alice", got.AcknowledgedBy)
	clock.Set(clock.Now().Add(time.Second))
	_, err = svc.Acknowledge(ctx, tn, a.ID, "alice")
	require.NoError(t, err)
	require.Equal(t, []string{"ANOMALY_ACKNOWLEDGED"}, actions, "exactly the first acknowledgement is audited")
}

// TestAnomalyRetentionThroughGDPR: with default_retention_days = 1, two days after detection
// the gdpr service's retention (the generic GDPRData retainer) soft-deletes the anomaly (no
// longer listed, its row kept), and after the grace period deletes the row;
// RETENTION_EXECUTED carries both counts.
func TestAnomalyRetentionThroughGDPR(t *testing.T) {
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(t))
	require.NoError(t, db.MigratePlatform(ctx))
	tn := eusaas.NewTenantID()
	require.NoError(t, db.CreateTenantSchema(ctx, tn))
	store := postgres.NewAnomalyStore(db)
	a := anomalytest.Sample(tn, "CPU", 0)
	_, _, err := store.Insert(ctx, a)
	require.NoError(t, err)
	rows := func() (n int) {
		require.NoError(t, db.InTenantTx(ctx, tn, func(ctx context.Context, tx pgx.Tx) error {
			return tx.QueryRow(ctx, "SELECT count(*) FROM anomalies").Scan(&n)
		}))
		return n
	}
	gstore, err := postgres.NewGDPRStore(db, nil)
	require.NoError(t, err)
	_, key, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	rec := &gdprtest.Recorder{}
	clock := eusaas.NewFakeClock(a.DetectedAt)
	grace := 30 * 24 * time.Hour
	data := postgres.NewGDPRData(db)
	svc, err := gdpr.NewService(gdpr.Deps{Requests: gstore, Policies: gstore, Holds: gstore, Keys: gstore, Archives: &gdprDiscard{}, Data: data, Queue: &gdprtest.Queue{},
		Tx: db, Recorder: rec, Retainers: []gdpr.Retainer{data}},
		gdpr.Options{Clock: clock, SigningKey: key, RetentionGrace: grace})
	require.NoError(t, err)
	actx := eusaas.WithActor(ctx, eusaas.Actor{Kind: eusaas.ActorUser, ID: "owner-1", TenantID: tn})
	_, err = svc.SetRetentionPolicy(actx, gdpr.Policy{TenantID: tn, DefaultRetentionDays: 1, AuditLogRetentionDays: 30, BackupRetentionDays: 7, PIIRetentionDays: 1})
	require.NoError(t, err)

	clock.Advance(2 * 24 * time.Hour)
	counts, err := svc.EnforceTenantRetention(ctx, tn)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"anomalies.soft_deleted": 1}, counts)
	require.Equal(t, 1, rec.Last(gdpr.ActionRetentionExecuted).Changes["anomalies.soft_deleted"])
	l, err := store.List(ctx, tn, anomaly.Filter{}, eusaas.Page{Page: 1, Size: 10})
	require.NoError(t, err)
	require.Zero(t, l.Total, "soft-deleted anomalies are not listed")
	require.Equal(t, 1, rows(), "the row stays for the grace period")

	clock.Advance(grace + time.Hour)
	counts, err = svc.EnforceTenantRetention(ctx, tn)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"anomalies.hard_deleted": 1}, counts)
	require.Equal(t, 1, rec.Last(gdpr.ActionRetentionExecuted).Changes["anomalies.hard_deleted"])
	require.Zero(t, rows(), "gone after the grace period")
	require.Equal(t, 2, rec.Count(tn, gdpr.ActionRetentionExecuted))
}
