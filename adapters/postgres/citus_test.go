package postgres

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/internal/pgtest"
)

// On vanilla PostgreSQL every Citus path is switched off: Status reports "not installed"
// without error, the operations refuse with ErrCitusNotInstalled, and the catalog helpers
// the distribution sequence relies on (which need no Citus) are right.
func TestCitusOnVanillaPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := New(pgtest.Pool(t))
	tenant := eusaas.NewTenantID()
	require.NoError(t, db.CreateTenantSchema(ctx, tenant))

	on, err := db.CitusInstalled(ctx)
	require.NoError(t, err)
	require.False(t, on)
	dist, err := citusDistributedSchema(ctx, db.Pool, tenant.SchemaName())
	require.NoError(t, err)
	require.False(t, dist)
	require.NoError(t, db.checkPlatformLocal(ctx))

	c := NewCitus(db, RegionNodes{"eu-central-1": {{Host: "10.0.0.5", Port: 5432}}})
	st, err := c.Status(ctx)
	require.NoError(t, err)
	require.Equal(t, CitusStatus{}, st)
	_, err = c.Distribute(ctx, tenant)
	require.ErrorIs(t, err, ErrCitusNotInstalled)
	_, err = c.Undistributed(ctx)
	require.ErrorIs(t, err, ErrCitusNotInstalled)

	// Truncation order: billing_invoice_lines (referencing) before billing_invoices.
	tables, err := schemaTablesReferencingFirst(ctx, db.Pool, tenant.SchemaName())
	require.NoError(t, err)
	require.Contains(t, tables, "auth_users")
	lines, invoices := -1, -1
	for i, tb := range tables {
		switch tb {
		case "billing_invoice_lines":
			lines = i
		case "billing_invoices":
			invoices = i
		}
	}
	require.True(t, lines >= 0 && invoices > lines, "%v", tables)
	var n int
	require.NoError(t, db.Pool.QueryRow(ctx, "SELECT count(*) FROM pg_class WHERE relnamespace = $1::regnamespace AND relkind = 'r'", tenant.SchemaName()).Scan(&n))
	require.Len(t, tables, n)

	// The triggers the sequence disables and re-enables; a disabled one is left alone.
	trigs, err := enabledUserTriggers(ctx, db.Pool, tenant.SchemaName())
	require.NoError(t, err)
	require.Equal(t, [][2]string{{"billing_invoice_lines", "billing_invoice_lines_immutable"}, {"billing_invoices", "billing_invoice_immutable"}}, trigs)
	_, err = db.Pool.Exec(ctx, "ALTER TABLE "+tenant.SchemaName()+".billing_invoices DISABLE TRIGGER billing_invoice_immutable")
	require.NoError(t, err)
	trigs, err = enabledUserTriggers(ctx, db.Pool, tenant.SchemaName())
	require.NoError(t, err)
	require.Equal(t, [][2]string{{"billing_invoice_lines", "billing_invoice_lines_immutable"}}, trigs)
}

// CreateLocalSchema is idempotent and never joins the caller's transaction.
func TestCreateLocalSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := New(pgtest.Pool(t))
	require.NoError(t, db.CreateLocalSchema(ctx, "ops_local"))
	require.NoError(t, db.CreateLocalSchema(ctx, "ops_local"))
	err := db.InTx(ctx, func(ctx context.Context) error {
		if err := db.CreateLocalSchema(ctx, "ops_other"); err != nil {
			return err
		}
		return eusaas.E(eusaas.Aborted, "roll the caller back")
	})
	require.Error(t, err)
	var n int
	require.NoError(t, db.Pool.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname IN ('ops_local', 'ops_other')").Scan(&n))
	require.Equal(t, 2, n, "the schema was made in a transaction of its own")
}

// On vanilla PostgreSQL the placing provisioner is TenantSchemas: with region labels
// configured, a tenant is still created, migrated and dropped exactly as without them (the
// placement step sees no citus extension and does nothing).
func TestCitusProvisionerOnVanillaPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := New(pgtest.Pool(t))
	schemas, err := EmbeddedTenantSchemas(db)
	require.NoError(t, err)
	nodes := RegionNodes{"eu-central-1": {{Host: "10.0.0.5", Port: 5432}}}
	p := NewCitusProvisioner(schemas, NewCitus(db, nodes))
	tenant := eusaas.NewTenantID()
	require.NoError(t, p.Create(ctx, tenant))
	require.NoError(t, p.Migrate(ctx, tenant))
	st, err := schemas.State(ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, "ready", st.State)
	dist, err := citusDistributedSchema(ctx, db.Pool, tenant.SchemaName())
	require.NoError(t, err)
	require.False(t, dist)

	require.NoError(t, p.Drop(ctx, tenant))
	var exists bool
	require.NoError(t, db.Pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", tenant.SchemaName()).Scan(&exists))
	require.False(t, exists)
	require.NoError(t, p.Drop(ctx, tenant), "dropping a missing schema is not an error")
}
