package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/internal/pgtest"
)

// functionsWithoutSearchPath lists the functions of schema whose proconfig fixes no
// search_path.
func functionsWithoutSearchPath(t *testing.T, db *postgres.DB, schema string) []string {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `
		SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
		JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = $1
		  AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) AS c WHERE c LIKE 'search\_path=%')
		ORDER BY 1`, schema)
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return names
}

// Every function of the platform schema and of a tenant schema runs with a fixed
// search_path (issue 20: on a Citus worker the caller's path is another one). A new
// function without SET search_path fails this test.
func TestFunctionsHaveFixedSearchPath(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(t))
	require.NoError(t, db.MigratePlatform(ctx))
	tenant := eusaas.NewTenantID()
	require.NoError(t, db.CreateTenantSchema(ctx, tenant))

	var nPlatform, nTenant int
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE n.nspname = $1), count(*) FILTER (WHERE n.nspname = $2)
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace`, postgres.PlatformSchema, tenant.SchemaName()).Scan(&nPlatform, &nTenant))
	require.Positive(t, nPlatform, "the check must see the platform functions")
	require.Positive(t, nTenant, "the check must see the tenant functions")

	require.Empty(t, functionsWithoutSearchPath(t, db, postgres.PlatformSchema), "platform functions without a fixed search_path")
	require.Empty(t, functionsWithoutSearchPath(t, db, tenant.SchemaName()), "tenant functions without a fixed search_path")

	// A tenant function's path is its own schema (then pg_temp), never another tenant's.
	var cfg []string
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT proconfig FROM pg_proc WHERE oid = $1::regprocedure`,
		tenant.SchemaName()+".billing_invoice_lines_immutable()").Scan(&cfg))
	require.Equal(t, []string{`search_path="` + tenant.SchemaName() + `", pg_temp`}, cfg)

	// The check itself catches a function without one.
	_, err := db.Pool.Exec(ctx, "CREATE FUNCTION "+tenant.SchemaName()+".careless() RETURNS int LANGUAGE sql AS 'SELECT 1'")
	require.NoError(t, err)
	require.Equal(t, []string{tenant.SchemaName() + ".careless()"}, functionsWithoutSearchPath(t, db, tenant.SchemaName()))
}

// The invoice-lines trigger still finds its table when the caller's search_path is another
// (as on a Citus worker): the change is refused as immutable, not failed as a missing
// relation.
func TestTriggersWorkUnderAnySearchPath(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(t))
	tenant := eusaas.NewTenantID()
	require.NoError(t, db.CreateTenantSchema(ctx, tenant))
	s := pgx.Identifier{tenant.SchemaName()}.Sanitize()
	_, err := db.Pool.Exec(ctx, `INSERT INTO `+s+`.billing_invoices (id, number, status, period_start, period_end, currency,
		subtotal, tax_rate, tax_amount, total_amount, rounding_rule, created_at, issued_at)
		VALUES ('00000000-0000-0000-0000-000000000001', 'INV-2026-000001', 'DRAFT', '2026-11-01', '2026-11-30', 'EUR',
		1, 0, 0, 1, 'half_up', now(), NULL)`)
	require.NoError(t, err)
	_, err = db.Pool.Exec(ctx, `INSERT INTO `+s+`.billing_invoice_lines (invoice_id, line_no, resource_type, description, unit,
		quantity, amount, usage_month, adjustment) VALUES ('00000000-0000-0000-0000-000000000001', 1, 'CPU', 'cpu', 'vCPU-hour', 50, 1, '2026-11-01', false)`)
	require.NoError(t, err)
	_, err = db.Pool.Exec(ctx, `UPDATE `+s+`.billing_invoices SET status = 'ISSUED', issued_at = now()`)
	require.NoError(t, err)

	for _, path := range []string{"public", "pg_catalog", `"$user"`, ""} {
		err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT set_config('search_path', $1, true)", path); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `DELETE FROM `+s+`.billing_invoice_lines`)
			return err
		})
		var pg *pgconn.PgError
		require.True(t, errors.As(err, &pg), "search_path %q: %v", path, err)
		require.Equal(t, "23514", pg.Code, "search_path %q: %v", path, err)
	}
}
