package postgres

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/internal/pgtest"
	"github.com/eusaas/eusaas/tenancy"
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

// The placement record and its audit event, which need no Citus: record is what Distribute
// calls once a schema is on a node (here a node of configuration, never of a cluster).
func TestCitusPlacementRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := New(pgtest.Pool(t))
	schemas, err := EmbeddedTenantSchemas(db)
	require.NoError(t, err)
	tenant := eusaas.NewTenantID()
	require.NoError(t, schemas.Create(ctx, tenant))

	var mu sync.Mutex
	var events []eusaas.AuditEvent
	c := NewCitus(db, RegionNodes{"eu-central-1": {{Host: "10.0.0.5", Port: 5432}}, "eu-west-1": {{Host: "10.0.1.5", Port: 5432}}})
	c.SetRecorder(eusaas.RecorderFunc(func(_ context.Context, ev eusaas.AuditEvent) error {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, ev)
		return nil
	}))
	_, ok, err := c.Placement(ctx, tenant)
	require.NoError(t, err)
	require.False(t, ok, "nothing recorded before a placement")

	// Distributed now: recorded and audited.
	frankfurt, dublin := CitusNode{Host: "10.0.0.5", Port: 5432}, CitusNode{Host: "10.0.1.5", Port: 5432}
	d := CitusDistribution{TenantID: tenant, Schema: tenant.SchemaName(), Node: frankfurt}
	require.NoError(t, c.record(ctx, d, "eu-central-1"))
	p, ok, err := c.Placement(ctx, tenant)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "10.0.0.5:5432", p.Node)
	require.Equal(t, "eu-central-1", p.Region)
	require.WithinDuration(t, time.Now(), p.PlacedAt, time.Minute)
	require.Len(t, events, 1)
	ev := events[0]
	require.Equal(t, tenancy.ActionPlaced, ev.Action)
	require.Equal(t, tenant, ev.TenantID)
	require.Equal(t, tenancy.ResourceType, ev.ResourceType)
	require.Equal(t, map[string]any{"node": "10.0.0.5:5432", "region": "eu-central-1", "schema": tenant.SchemaName(), "distributed_now": true}, ev.Changes)
	require.Equal(t, eusaas.System, ev.Actor)

	// A rerun that finds it where it was recorded adds nothing.
	d.AlreadyDistributed = true
	require.NoError(t, c.record(ctx, d, "eu-central-1"))
	require.Len(t, events, 1)

	// Moved for a new region: the record follows and the move is audited.
	d.MovedFrom, d.Node = frankfurt, dublin
	require.NoError(t, c.record(ctx, d, "eu-west-1"))
	require.Len(t, events, 2)
	require.Equal(t, map[string]any{"node": "10.0.1.5:5432", "region": "eu-west-1", "schema": tenant.SchemaName(),
		"distributed_now": false, "moved_from": "10.0.0.5:5432", "previous_node": "10.0.0.5:5432"}, events[1].Changes)
	p, _, err = c.Placement(ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, "10.0.1.5:5432", p.Node)

	// A failing recorder rolls the record back: never a placement without its audit entry.
	c.SetRecorder(eusaas.RecorderFunc(func(context.Context, eusaas.AuditEvent) error { return errors.New("audit down") }))
	require.Error(t, c.record(ctx, CitusDistribution{TenantID: tenant, Schema: tenant.SchemaName(), Node: frankfurt, AlreadyDistributed: true}, "eu-central-1"))
	p, _, err = c.Placement(ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, "10.0.1.5:5432", p.Node)

	// What status lists per tenant schema carries the record.
	rows, err := tenantSchemaRows(ctx, db.Pool)
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.Equal(t, tenant, rows[0].TenantID)
	require.Equal(t, "10.0.1.5:5432", rows[0].Recorded.Node)
	require.Equal(t, p.PlacedAt, rows[0].Recorded.PlacedAt)

	// The record goes with the schema.
	require.NoError(t, schemas.Drop(ctx, tenant))
	_, ok, err = c.Placement(ctx, tenant)
	require.NoError(t, err)
	require.False(t, ok)
}
