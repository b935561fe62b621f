package memanomaly_test

import (
	"context"
	"testing"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly/anomalytest"
	"github.com/eusaas/eusaas/anomaly/memanomaly"
	"github.com/eusaas/eusaas/memtx"
)

func TestConformance(t *testing.T) {
	anomalytest.Run(t, anomalytest.Harness{New: func(t *testing.T) anomalytest.Env {
		store := memanomaly.NewStore()
		return anomalytest.Env{
			Store:     store,
			NewTenant: func(*testing.T) eusaas.TenantID { return eusaas.NewTenantID() },
			Tx:        memtx.NewTxRunner(),
			SoftDeleteBefore: func(t *testing.T, tenant eusaas.TenantID, cutoff time.Time) {
				// default_retention_days = 1 one day after cutoff; the grace period has not passed.
				if _, err := store.EnforceDataRetention(context.Background(), tenant, 1, cutoff.AddDate(0, 0, 1), 365*24*time.Hour); err != nil {
					t.Fatal(err)
				}
			},
		}
	}})
}
