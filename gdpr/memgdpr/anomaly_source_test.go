package memgdpr_test

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/anomaly/anomalytest"
	"github.com/eusaas/eusaas/anomaly/memanomaly"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/gdpr/gdprtest"
	"github.com/eusaas/eusaas/gdpr/memgdpr"
	"github.com/eusaas/eusaas/internal/gdprfixture"
)

func TestAnomalyGDPRSource(t *testing.T) {
	runSource(t, sourceCase{
		pick:     func(s stores) eusaas.DataSource { return s.Anomalies },
		subjects: map[string]string{"anomalies": "", "anomaly_alert_subscriptions": ""},
		counts:   map[string]int{"anomalies": 2, "anomaly_alert_subscriptions": 0},
	})
}

// TestAnomalyGDPRDeleteTenantStore checks the deletion through the store's own methods, and
// that the subject filter skips the table (no subject column, as in Postgres).
func TestAnomalyGDPRDeleteTenantStore(t *testing.T) {
	ctx := context.Background()
	s := newStores()
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
	seed := gdprfixture.Fill(t, ctx, s.ports(), a)
	seedB := gdprfixture.Fill(t, ctx, s.ports(), b)
	n := 0
	if err := s.Anomalies.ScanData(ctx, a, "anomalies", []string{seed.U1.String()}, func(eusaas.DataRow) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("subject-filtered scan: %d rows, %v", n, err)
	}
	if _, err := s.Anomalies.DeleteTenantData(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Anomalies.Get(ctx, a, seed.Anomaly); eusaas.KindOf(err) != eusaas.NotFound {
		t.Fatalf("anomaly after erasure: %v", err)
	}
	if l, err := s.Anomalies.List(ctx, a, anomaly.Filter{}, eusaas.Page{Page: 1, Size: 10}); err != nil || l.Total != 0 {
		t.Fatalf("anomalies after erasure: %+v, %v", l, err)
	}
	if l, err := s.Anomalies.List(ctx, b, anomaly.Filter{}, eusaas.Page{Page: 1, Size: 10}); err != nil || l.Total != 2 {
		t.Fatalf("tenant B's anomalies: %+v, %v", l, err)
	}
	if _, err := s.Anomalies.Get(ctx, b, seedB.Anomaly); err != nil {
		t.Fatalf("tenant B's anomaly: %v", err)
	}
}

// TestAnomalyRetentionThroughGDPR: with default_retention_days = 1, two days after detection
// the gdpr service's retention soft-deletes the anomaly (no longer listed, its row kept),
// and after the grace period removes the row; RETENTION_EXECUTED carries both counts.
func TestAnomalyRetentionThroughGDPR(t *testing.T) {
	ctx := context.Background()
	store := memanomaly.NewStore()
	tn := eusaas.NewTenantID()
	a := anomalytest.Sample(tn, "CPU", 0)
	_, _, err := store.Insert(ctx, a)
	require.NoError(t, err)
	rows := func() int {
		n := 0
		require.NoError(t, store.ScanData(ctx, tn, "anomalies", nil, func(eusaas.DataRow) error { n++; return nil }))
		return n
	}
	_, key, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	rec := &gdprtest.Recorder{}
	clock := eusaas.NewFakeClock(a.DetectedAt)
	grace := 30 * 24 * time.Hour
	gstore, data := memgdpr.NewStore(), memgdpr.NewTenantData(store)
	svc, err := gdpr.NewService(gdpr.Deps{Requests: gstore, Policies: gstore, Holds: gstore, Keys: gstore, Archives: memgdpr.NewArchives(), Data: data, Queue: &gdprtest.Queue{},
		Recorder: rec, Retainers: []gdpr.Retainer{anomalyRetainer{store}}},
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

// anomalyRetainer adapts the store's retention to gdpr.Retainer, as cmd/eusaas's wiring does.
type anomalyRetainer struct{ s *memanomaly.Store }

func (r anomalyRetainer) EnforceRetention(ctx context.Context, tenant eusaas.TenantID, p gdpr.Policy, now time.Time, grace time.Duration) (map[string]int, error) {
	return r.s.EnforceDataRetention(ctx, tenant, p.DefaultRetentionDays, now, grace)
}
