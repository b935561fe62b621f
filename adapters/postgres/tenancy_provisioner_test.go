package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/tenancy/tenancytest"
)

func TestConformanceTenantProvisioner(t *testing.T) {
	t.Parallel()
	tenancytest.RunProvisioner(t, provisionerHarness(0))
}

// The same suite with spare schemas in the pool (issue 19): a tenant schema made by renaming
// a spare behaves exactly as one created on demand; the outdated provisioner's spares lag by
// one migration, as spares made before an upgrade do.
func TestConformanceTenantProvisionerFromPool(t *testing.T) {
	t.Parallel()
	tenancytest.RunProvisioner(t, provisionerHarness(3))
}

func provisionerHarness(spares int) tenancytest.ProvisionerHarness {
	return tenancytest.ProvisionerHarness{
		New: func(t *testing.T) tenancytest.ProvisionerEnv {
			db := tenancyDB(t)
			migs, err := postgres.TenantMigrations()
			require.NoError(t, err)
			require.GreaterOrEqual(t, len(migs), 2, "the outdated provisioner needs two migrations")
			full, err := postgres.NewTenantSchemas(db, migs)
			require.NoError(t, err)
			// Every migration but the newest: the schemas it makes lag by one.
			outdated, err := postgres.NewTenantSchemas(db, migs[:len(migs)-1])
			require.NoError(t, err)
			if spares > 0 {
				made, err := full.FillPool(context.Background(), spares)
				require.NoError(t, err)
				require.Equal(t, spares, made)
			}
			latest := 0
			for _, m := range migs {
				latest = max(latest, m.Version)
			}
			return tenancytest.ProvisionerEnv{
				Provisioner: full,
				Outdated:    outdated,
				Latest:      latest,
				Exists: func(ctx context.Context, id eusaas.TenantID) (bool, error) {
					var ok bool
					err := db.Pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)",
						id.SchemaName()).Scan(&ok)
					return ok, err
				},
				Version: func(ctx context.Context, id eusaas.TenantID) (int, bool, error) {
					var v int
					err := db.Pool.QueryRow(ctx, "SELECT version FROM eusaas.tenant_schemas WHERE tenant_id = $1", id.UUID()).Scan(&v)
					if errors.Is(err, pgx.ErrNoRows) {
						return 0, false, nil
					}
					return v, err == nil, err
				},
				PutData: func(ctx context.Context, id eusaas.TenantID) error {
					return db.InTenantTx(ctx, id, func(ctx context.Context, tx pgx.Tx) error {
						_, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS conformance_marker (v int); INSERT INTO conformance_marker VALUES (1)")
						return err
					})
				},
				HasData: func(ctx context.Context, id eusaas.TenantID) (bool, error) {
					var ok bool
					err := db.Pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL",
						pgx.Identifier{id.SchemaName(), "conformance_marker"}.Sanitize()).Scan(&ok)
					return ok, err
				},
			}
		},
	}
}
