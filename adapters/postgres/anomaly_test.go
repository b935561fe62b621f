package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/anomaly/anomalytest"
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
	svc := anomaly.NewService(store, clock, eusaas.RecorderFunc(func(_ context.Context, ev eusaas.AuditEvent) error {
		actions = append(actions, ev.Action)
		return nil
	}))
	got, err := svc.Acknowledge(ctx, tn, a.ID, "alice")
	require.NoError(t, err)
	require.Equal(t, "alice", got.AcknowledgedBy)
	clock.Set(clock.Now().Add(time.Second))
	_, err = svc.Acknowledge(ctx, tn, a.ID, "alice")
	require.NoError(t, err)
	require.Equal(t, []string{"ANOMALY_ACKNOWLEDGED"}, actions, "exactly the first acknowledgement is audited")
}
