package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
)

// A schema taken from the pool is indistinguishable from one created on demand: same
// tables, functions pinned to the tenant's own schema, a version row with every migration,
// nothing for `migrate tenants` to do; the spare is gone from the pool.
func TestTenantSchemaFromPool(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := tenancyDB(t)
	schemas, err := postgres.EmbeddedTenantSchemas(db)
	require.NoError(t, err)

	one, err := schemas.AddSpare(ctx, 2)
	require.NoError(t, err)
	require.True(t, one, "AddSpare makes one spare")
	made, err := schemas.FillPool(ctx, 2)
	require.NoError(t, err)
	require.Equal(t, 1, made, "FillPool tops up to the size")
	one, err = schemas.AddSpare(ctx, 2)
	require.NoError(t, err)
	require.False(t, one, "AddSpare makes none into a full pool")
	made, err = schemas.FillPool(ctx, 2)
	require.NoError(t, err)
	require.Zero(t, made, "a full pool gets no more spares")

	pooled, fresh := eusaas.NewTenantID(), eusaas.NewTenantID()
	require.NoError(t, schemas.Create(ctx, pooled))
	n, err := schemas.PoolSize(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n, "the tenant took a spare")
	// Drain the pool so the second tenant's schema is made on demand, for comparison.
	_, err = db.Pool.Exec(ctx, "DELETE FROM eusaas.tenant_schema_pool")
	require.NoError(t, err)
	require.NoError(t, schemas.Create(ctx, fresh))

	shape := func(id eusaas.TenantID) (tables, functions []string) {
		rows, err := db.Pool.Query(ctx, `SELECT table_name || ':' || column_name || ':' || data_type FROM information_schema.columns
			WHERE table_schema = $1 ORDER BY 1`, id.SchemaName())
		require.NoError(t, err)
		defer rows.Close()
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			tables = append(tables, s)
		}
		require.NoError(t, rows.Err())
		frows, err := db.Pool.Query(ctx, `SELECT p.proname || ':' || replace(array_to_string(p.proconfig, ';'), $1, '<schema>')
			FROM pg_proc p WHERE p.pronamespace = $1::regnamespace ORDER BY 1`, id.SchemaName())
		require.NoError(t, err)
		defer frows.Close()
		for frows.Next() {
			var s string
			require.NoError(t, frows.Scan(&s))
			functions = append(functions, s)
		}
		require.NoError(t, frows.Err())
		return tables, functions
	}
	pt, pf := shape(pooled)
	ft, ff := shape(fresh)
	require.NotEmpty(t, pt)
	require.Equal(t, ft, pt, "columns of a pooled schema")
	require.NotEmpty(t, pf)
	require.Equal(t, ff, pf, "functions and their fixed search_path")
	for _, f := range pf {
		require.NotContains(t, f, "p_", "no function still points at the spare's name")
	}

	st, err := schemas.State(ctx, pooled)
	require.NoError(t, err)
	fs, err := schemas.State(ctx, fresh)
	require.NoError(t, err)
	require.Equal(t, fs.Version, st.Version)
	require.Equal(t, fs.Applied, st.Applied)
	require.Equal(t, "ready", st.State)
	lag, err := schemas.Lagging(ctx)
	require.NoError(t, err)
	require.Empty(t, lag)

	// The immutability trigger of the renamed schema finds its tables.
	_, err = db.Pool.Exec(ctx, `INSERT INTO `+pooled.SchemaName()+`.billing_invoices (id, number, status, period_start, period_end, currency,
		subtotal, tax_rate, tax_amount, total_amount, rounding_rule, created_at, issued_at)
		VALUES ('00000000-0000-0000-0000-000000000001', 'INV-2026-000001', 'ISSUED', '2026-11-01', '2026-11-30', 'EUR',
		1, 0, 0, 1, 'half_up', now(), now())`)
	require.NoError(t, err)
	_, err = db.Pool.Exec(ctx, `SET search_path = public; UPDATE `+pooled.SchemaName()+`.billing_invoices SET subtotal = 2`)
	require.ErrorContains(t, err, "immutable")

	require.NoError(t, schemas.Drop(ctx, pooled))
}

// Concurrent creations never take the same spare: with 3 spares and 8 tenants created at
// once, 3 schemas come from the pool, 5 are made on demand, all are complete.
func TestTenantSchemaPoolConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := tenancyDB(t)
	schemas, err := postgres.EmbeddedTenantSchemas(db)
	require.NoError(t, err)
	_, err = schemas.FillPool(ctx, 3)
	require.NoError(t, err)

	ids := make([]eusaas.TenantID, 8)
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	for i := range ids {
		ids[i] = eusaas.NewTenantID()
		wg.Go(func() { errs[i] = schemas.Create(ctx, ids[i]) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	n, err := schemas.PoolSize(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	var spares int
	require.NoError(t, db.Pool.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'p\\_%'").Scan(&spares))
	require.Zero(t, spares, "every spare schema was renamed, none left behind")
	lag, err := schemas.Lagging(ctx)
	require.NoError(t, err)
	require.Empty(t, lag)
}
