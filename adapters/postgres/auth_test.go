package postgres_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/auth/authtest"
	"github.com/eusaas/eusaas/internal/pgtest"
)

func TestConformanceAuth(t *testing.T) {
	t.Parallel()
	authtest.Run(t, authtest.Harness{New: func(t *testing.T) authtest.Stores {
		ctx := context.Background()
		db := postgres.New(pgtest.Pool(t))
		require.NoError(t, db.MigratePlatform(ctx))
		s := postgres.NewAuthStore(db)
		return authtest.Stores{Users: s, Operators: s, Sessions: s, Invitations: s, Tx: db,
			NewTenant: func(t *testing.T) eusaas.TenantID {
				id := eusaas.NewTenantID()
				require.NoError(t, db.CreateTenantSchema(ctx, id))
				return id
			}}
	}, Features: authtest.Features{TimePrecision: 1000}})
}
