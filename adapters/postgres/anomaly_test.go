package postgres_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
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
