package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/tenancy"
)

// Citus (12+) schema-based sharding distributes each tenant schema whole to one worker
// node while the platform schema stays on the coordinator. Everything Citus-specific in
// this package switches on the presence of the citus extension in the connected
// database, so vanilla PostgreSQL runs exactly as before. See docs/scale-out.md.

// citusInstalled reports whether the citus extension is installed in the database.
func citusInstalled(ctx context.Context, q querier) (bool, error) {
	var on bool
	err := q.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus')").Scan(&on)
	return on, translate(err)
}

// CitusInstalled reports whether the citus extension is installed in the database.
func (db *DB) CitusInstalled(ctx context.Context) (bool, error) {
	return citusInstalled(ctx, db.q(ctx))
}

// CreateLocalSchema creates schema if it does not exist, never as a Citus distributed
// schema: with citus.enable_schema_based_sharding on, CREATE SCHEMA would distribute it,
// and the platform schema (the tenant registry, the audit log, the job queue) must stay on
// the coordinator, where its multi-statement migrations and cross-tenant queries run.
//
// It runs in a transaction of its own, never the context's: SET LOCAL there would also keep
// a tenant schema created later in that transaction from being distributed.
func (db *DB) CreateLocalSchema(ctx context.Context, schema string) error {
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		on, err := citusInstalled(ctx, tx)
		if err != nil {
			return err
		}
		if on {
			if _, err := tx.Exec(ctx, "SET LOCAL citus.enable_schema_based_sharding = off"); err != nil {
				return translate(err)
			}
		}
		_, err = tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize())
		return translate(err)
	})
}

// citusDistributedSchema reports whether schema is a Citus distributed schema (listed in
// pg_dist_schema, Citus 12+). False without Citus or on a Citus without schema sharding.
func citusDistributedSchema(ctx context.Context, q querier, schema string) (bool, error) {
	var has bool
	if err := q.QueryRow(ctx, "SELECT to_regclass('pg_catalog.pg_dist_schema') IS NOT NULL").Scan(&has); err != nil || !has {
		return false, translate(err)
	}
	var dist bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_schema d
		JOIN pg_catalog.pg_namespace n ON n.oid = d.schemaid WHERE n.nspname = $1)`, schema).Scan(&dist)
	return dist, translate(err)
}

// checkPlatformLocal fails when the platform schema was made a distributed schema (it was
// created while citus.enable_schema_based_sharding was on, before eusaas created it).
func (db *DB) checkPlatformLocal(ctx context.Context) error {
	on, err := citusInstalled(ctx, db.Pool)
	if err != nil || !on {
		return err
	}
	dist, err := citusDistributedSchema(ctx, db.Pool, PlatformSchema)
	if err != nil || !dist {
		return err
	}
	return eusaas.Errorf(eusaas.FailedPrecondition,
		"postgres: the platform schema %s is a Citus distributed schema; it must stay on the coordinator: run SELECT citus_schema_undistribute('%s') and migrate again (docs/scale-out.md)",
		PlatformSchema, PlatformSchema)
}

// ErrCitusNotInstalled: a Citus operation on a database without the citus extension.
var ErrCitusNotInstalled = eusaas.Sentinel(eusaas.FailedPrecondition, "citus_not_installed", "Citus not installed")

// Citus operates the Citus side of tenant schemas: what is placed where (Status), and the
// distribution of existing tenant schemas onto the workers with residency-aware placement
// (Distribute). Without the citus extension Status reports Installed false and the other
// operations fail with ErrCitusNotInstalled; nothing else in this package needs it.
//
// None of the Citus code paths have been run against a Citus cluster (none was available;
// see docs/scale-out.md): they follow the Citus 12/13 documentation and the trial recorded
// in issue 20.
type Citus struct {
	db    *DB
	nodes RegionNodes
	rec   eusaas.Recorder
}

// NewCitus returns the Citus operations on db; nodes labels workers with data residency
// regions (ParseRegionNodes), nil or empty to leave placement to Citus. Placements are
// audited once SetRecorder is called.
func NewCitus(db *DB, nodes RegionNodes) *Citus {
	return &Citus{db: db, nodes: nodes, rec: eusaas.Discard}
}

// SetRecorder sets the audit recorder of placements (TENANT_PLACED on the tenant's chain).
// It is a setter because the recorder (the platform's audit service) is built on the store
// set this Citus belongs to; call it during wiring, before any placement runs.
func (c *Citus) SetRecorder(r eusaas.Recorder) {
	if r == nil {
		r = eusaas.Discard
	}
	c.rec = r
}

// Nodes returns the region labels.
func (c *Citus) Nodes() RegionNodes { return c.nodes }

// CitusStatus is what Status reports.
type CitusStatus struct {
	Installed bool
	Version   string // the citus extension version
	// SchemaSharding is citus.enable_schema_based_sharding as this session sees it: new
	// tenant schemas are distributed at creation when on.
	SchemaSharding bool
	// PlatformDistributed: the platform schema was made distributed (it must not be).
	PlatformDistributed bool
	Nodes               []CitusNodeStatus
	Tenants             []CitusTenantPlacement
	// Undistributed counts tenant schemas still local to the coordinator.
	Undistributed int
}

// CitusNodeStatus is one worker node with the tenant schemas it holds.
type CitusNodeStatus struct {
	Node    CitusNode
	Region  string // from the region labels; "" when unlabelled
	Schemas int
	Bytes   int64
}

// CitusTenantPlacement is where one tenant schema lives.
type CitusTenantPlacement struct {
	TenantID    eusaas.TenantID
	Schema      string
	Region      string    // the tenant's data_residency_region ("" without a registry row)
	Distributed bool      // a distributed schema (else local to the coordinator)
	Node        CitusNode // zero when not distributed
	Bytes       int64
	// ResidencyOK: the node is labelled for the tenant's region (true when no labels are
	// configured or the tenant has no region; false for a schema not distributed).
	ResidencyOK bool
	// Recorded is the placement last recorded in eusaas.tenant_placements (Node "" when
	// none); it differs from Node when the schema was moved outside eusaas.
	Recorded tenancy.Placement
}

// Status reports the Citus cluster as the tenant schemas see it. Without the citus
// extension it returns Installed false and no error.
func (c *Citus) Status(ctx context.Context) (CitusStatus, error) {
	var st CitusStatus
	q := c.db.q(ctx)
	on, err := citusInstalled(ctx, q)
	if err != nil || !on {
		return st, err
	}
	st.Installed = true
	if err := q.QueryRow(ctx, `SELECT extversion, coalesce(current_setting('citus.enable_schema_based_sharding', true), 'off') = 'on'
		FROM pg_catalog.pg_extension WHERE extname = 'citus'`).Scan(&st.Version, &st.SchemaSharding); err != nil {
		return st, translate(err)
	}
	if st.PlatformDistributed, err = citusDistributedSchema(ctx, q, PlatformSchema); err != nil {
		return st, err
	}
	nodes, err := c.workers(ctx, q)
	if err != nil {
		return st, err
	}
	places, err := c.placements(ctx, q)
	if err != nil {
		return st, err
	}
	idx := map[CitusNode]int{}
	for _, n := range nodes {
		region, _ := c.nodes.RegionOf(n)
		idx[n] = len(st.Nodes)
		st.Nodes = append(st.Nodes, CitusNodeStatus{Node: n, Region: region})
	}
	tenants, err := tenantSchemaRows(ctx, q)
	if err != nil {
		return st, err
	}
	for _, p := range tenants {
		if pl, ok := places[p.Schema]; ok {
			p.Distributed, p.Node, p.Bytes = true, pl.node, pl.bytes
			p.ResidencyOK = len(c.nodes) == 0 || p.Region == "" || slices.Contains(c.nodes[p.Region], p.Node)
			if i, ok := idx[p.Node]; ok {
				st.Nodes[i].Schemas++
				st.Nodes[i].Bytes += p.Bytes
			}
		} else {
			st.Undistributed++
		}
		st.Tenants = append(st.Tenants, p)
	}
	return st, nil
}

// tenantSchemaRows lists every tenant schema with its tenant's region and its recorded
// placement, by schema name; the Citus columns are left for Status to fill.
func tenantSchemaRows(ctx context.Context, q querier) ([]CitusTenantPlacement, error) {
	rows, err := q.Query(ctx, `SELECT ts.tenant_id, ts.schema_name, coalesce(t.data_residency_region, ''),
			coalesce(p.node, ''), coalesce(p.region, ''), coalesce(p.placed_at, 'epoch')
		FROM eusaas.tenant_schemas ts LEFT JOIN eusaas.tenants t ON t.id = ts.tenant_id
		LEFT JOIN eusaas.tenant_placements p ON p.tenant_id = ts.tenant_id
		ORDER BY ts.schema_name`)
	if err != nil {
		return nil, translate(err)
	}
	return collect(rows, func(r pgx.Rows) (CitusTenantPlacement, error) {
		var p CitusTenantPlacement
		var id uuid.UUID
		if err := r.Scan(&id, &p.Schema, &p.Region, &p.Recorded.Node, &p.Recorded.Region, &p.Recorded.PlacedAt); err != nil {
			return p, err
		}
		p.TenantID = eusaas.TenantID(id)
		if p.Recorded.Node == "" {
			p.Recorded.PlacedAt = time.Time{}
		} else {
			p.Recorded.PlacedAt = p.Recorded.PlacedAt.UTC()
		}
		return p, nil
	})
}

// workers lists the active primary nodes that may hold shards.
func (c *Citus) workers(ctx context.Context, q querier) ([]CitusNode, error) {
	rows, err := q.Query(ctx, `SELECT nodename, nodeport FROM pg_catalog.pg_dist_node
		WHERE noderole = 'primary' AND isactive AND shouldhaveshards ORDER BY nodename, nodeport`)
	if err != nil {
		return nil, translate(err)
	}
	return collect(rows, func(r pgx.Rows) (CitusNode, error) {
		var n CitusNode
		return n, r.Scan(&n.Host, &n.Port)
	})
}

type citusPlacement struct {
	node  CitusNode
	bytes int64
}

// placements reads where every distributed schema lives: pg_dist_schema gives its
// colocation group, citus_shards the node and size of the group's shards (a distributed
// schema's tables are single-shard tables colocated on one node).
func (c *Citus) placements(ctx context.Context, q querier) (map[string]citusPlacement, error) {
	rows, err := q.Query(ctx, `SELECT n.nspname, s.nodename, s.nodeport, coalesce(sum(s.shard_size), 0)::bigint
		FROM pg_catalog.pg_dist_schema d
		JOIN pg_catalog.pg_namespace n ON n.oid = d.schemaid
		JOIN pg_catalog.citus_shards s ON s.colocation_id = d.colocationid
		GROUP BY n.nspname, s.nodename, s.nodeport`)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := map[string]citusPlacement{}
	for rows.Next() {
		var schema string
		var p citusPlacement
		if err := rows.Scan(&schema, &p.node.Host, &p.node.Port, &p.bytes); err != nil {
			return nil, translate(err)
		}
		out[schema] = p
	}
	return out, translate(rows.Err())
}

func collect[T any](rows pgx.Rows, scan func(pgx.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, v)
	}
	return out, translate(rows.Err())
}

// CitusDistribution is the outcome of distributing one tenant schema.
type CitusDistribution struct {
	TenantID eusaas.TenantID
	Schema   string
	// AlreadyDistributed: the schema was distributed before (at creation, with schema-based
	// sharding on, or by an earlier run); only its placement was checked.
	AlreadyDistributed bool
	Rows               int64     // rows copied to the worker (verified equal after)
	Node               CitusNode // where it lives now
	MovedFrom          CitusNode // the node it was moved away from for residency (zero: not moved)
}

// Distribute makes the tenant's schema a distributed schema and places it on a node of the
// tenant's data residency region, in the safe sequence for a schema holding data:
//
//  1. under the schema's migration lock, with citus.enable_unsafe_triggers on for the
//     transaction, count the rows of every table, disable the schema's enabled user
//     triggers (the invoice-lines immutability trigger would otherwise fire for every
//     copied row), citus_schema_distribute, re-enable exactly those triggers, and truncate
//     the coordinator's local copy of every table (truncate_local_data_after_distributing_table,
//     referencing tables first): Citus leaves it on disk otherwise, and it is personal data
//     that erasure would no longer reach;
//  2. verify: the schema is in pg_dist_schema, the rows read through Citus equal the rows
//     counted before, every coordinator shell is empty on disk, the triggers are enabled;
//  3. when region labels are configured and the schema's node is not labelled for the
//     tenant's region, move it with citus_schema_move to the region's node holding the
//     fewest tenant schemas (ErrNoRegionNode when the region has none).
//
// A schema already distributed goes straight to step 3. Errors: ErrCitusNotInstalled,
// NotFound (no such tenant schema), ErrNoRegionNode.
func (c *Citus) Distribute(ctx context.Context, tenant eusaas.TenantID) (CitusDistribution, error) {
	schema := tenant.SchemaName()
	d := CitusDistribution{TenantID: tenant, Schema: schema}
	on, err := citusInstalled(ctx, c.db.Pool)
	if err != nil {
		return d, err
	}
	if !on {
		return d, ErrCitusNotInstalled
	}
	var region string
	err = c.db.Pool.QueryRow(ctx, `SELECT coalesce(t.data_residency_region, '') FROM eusaas.tenant_schemas ts
		LEFT JOIN eusaas.tenants t ON t.id = ts.tenant_id WHERE ts.tenant_id = $1`, tenant.UUID()).Scan(&region)
	if err != nil {
		return d, translate(err)
	}
	if d.AlreadyDistributed, err = citusDistributedSchema(ctx, c.db.Pool, schema); err != nil {
		return d, err
	}
	if !d.AlreadyDistributed {
		counts, err := c.distribute(ctx, schema)
		if err != nil {
			return d, fmt.Errorf("postgres: distributing %s: %w", schema, err)
		}
		for _, n := range counts {
			d.Rows += n
		}
		if err := c.verify(ctx, schema, counts); err != nil {
			return d, fmt.Errorf("postgres: verifying %s after distribution: %w", schema, err)
		}
	}
	d, err = c.place(ctx, d, region)
	// Where the schema is now is recorded even when its move failed: it was distributed.
	if rerr := c.record(ctx, d, region); rerr != nil {
		err = errors.Join(err, fmt.Errorf("postgres: recording the placement of %s: %w", schema, rerr))
	}
	return d, err
}

// record writes the schema's placement to eusaas.tenant_placements and audits it
// (TENANT_PLACED), in one transaction, when it is new: distributed or moved now, or not
// what was recorded before (a schema distributed at creation, or moved by hand). A
// placement already recorded as it is is left alone, so reruns add no audit entries.
func (c *Citus) record(ctx context.Context, d CitusDistribution, region string) error {
	if d.Node.IsZero() {
		return nil
	}
	return c.db.InTx(ctx, func(ctx context.Context) error {
		q := c.db.q(ctx)
		var prev tenancy.Placement
		err := q.QueryRow(ctx, "SELECT node, region FROM eusaas.tenant_placements WHERE tenant_id = $1 FOR UPDATE",
			d.TenantID.UUID()).Scan(&prev.Node, &prev.Region)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return translate(err)
		}
		node := d.Node.String()
		if prev.Node == node && prev.Region == region && d.AlreadyDistributed && d.MovedFrom.IsZero() {
			return nil
		}
		if _, err := q.Exec(ctx, `INSERT INTO eusaas.tenant_placements (tenant_id, node, region, placed_at) VALUES ($1, $2, $3, now())
			ON CONFLICT (tenant_id) DO UPDATE SET node = excluded.node, region = excluded.region, placed_at = excluded.placed_at`,
			d.TenantID.UUID(), node, region); err != nil {
			return translate(err)
		}
		changes := map[string]any{"node": node, "region": region, "schema": d.Schema, "distributed_now": !d.AlreadyDistributed}
		if !d.MovedFrom.IsZero() {
			changes["moved_from"] = d.MovedFrom.String()
		}
		if prev.Node != "" && prev.Node != node {
			changes["previous_node"] = prev.Node
		}
		return c.rec.Record(ctx, eusaas.AuditEvent{
			TenantID: d.TenantID, Actor: eusaas.ActorFrom(ctx), Action: tenancy.ActionPlaced,
			ResourceType: tenancy.ResourceType, ResourceID: d.TenantID.String(), Changes: changes,
			Meta: eusaas.RequestMetaFrom(ctx),
		})
	})
}

var _ tenancy.PlacementReader = (*Citus)(nil)

// Placement returns the tenant's recorded placement (tenancy.PlacementReader); ok is false
// when none is recorded, as always on vanilla PostgreSQL.
func (c *Citus) Placement(ctx context.Context, id eusaas.TenantID) (tenancy.Placement, bool, error) {
	var p tenancy.Placement
	err := c.db.q(ctx).QueryRow(ctx, "SELECT node, region, placed_at FROM eusaas.tenant_placements WHERE tenant_id = $1",
		id.UUID()).Scan(&p.Node, &p.Region, &p.PlacedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return tenancy.Placement{}, false, nil
	}
	if err != nil {
		return tenancy.Placement{}, false, translate(err)
	}
	p.PlacedAt = p.PlacedAt.UTC()
	return p, true, nil
}

// distribute is step 1 of Distribute; it returns the row count of every table.
func (c *Citus) distribute(ctx context.Context, schema string) (map[string]int64, error) {
	counts := map[string]int64{}
	err := pgx.BeginFunc(ctx, c.db.Pool, func(tx pgx.Tx) error {
		if err := tenancyLock(ctx, tx, schema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SET LOCAL citus.enable_unsafe_triggers = on"); err != nil {
			return translate(err)
		}
		tables, err := schemaTablesReferencingFirst(ctx, tx, schema)
		if err != nil {
			return err
		}
		if len(tables) == 0 {
			return eusaas.Errorf(eusaas.NotFound, "tenant schema %s has no tables", schema)
		}
		for _, tb := range tables {
			var n int64
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{schema, tb}.Sanitize()).Scan(&n); err != nil {
				return translate(err)
			}
			counts[tb] = n
		}
		trigs, err := enabledUserTriggers(ctx, tx, schema)
		if err != nil {
			return err
		}
		for _, tg := range trigs {
			if _, err := tx.Exec(ctx, "ALTER TABLE "+pgx.Identifier{schema, tg[0]}.Sanitize()+" DISABLE TRIGGER "+pgx.Identifier{tg[1]}.Sanitize()); err != nil {
				return translate(err)
			}
		}
		if _, err := tx.Exec(ctx, "SELECT citus_schema_distribute($1::regnamespace)", schema); err != nil {
			return translate(err)
		}
		for _, tg := range trigs {
			if _, err := tx.Exec(ctx, "ALTER TABLE "+pgx.Identifier{schema, tg[0]}.Sanitize()+" ENABLE TRIGGER "+pgx.Identifier{tg[1]}.Sanitize()); err != nil {
				return translate(err)
			}
		}
		for _, tb := range tables {
			if _, err := tx.Exec(ctx, "SELECT truncate_local_data_after_distributing_table($1::regclass)", pgx.Identifier{schema, tb}.Sanitize()); err != nil {
				return translate(err)
			}
		}
		return nil
	})
	return counts, err
}

// verify is step 2 of Distribute.
func (c *Citus) verify(ctx context.Context, schema string, counts map[string]int64) error {
	dist, err := citusDistributedSchema(ctx, c.db.Pool, schema)
	if err != nil {
		return err
	}
	if !dist {
		return eusaas.Errorf(eusaas.Internal, "%s is not in pg_dist_schema", schema)
	}
	for tb, want := range counts {
		rel := pgx.Identifier{schema, tb}.Sanitize()
		var got, local int64
		if err := c.db.Pool.QueryRow(ctx, "SELECT count(*) FROM "+rel).Scan(&got); err != nil {
			return translate(err)
		}
		if got != want {
			return eusaas.Errorf(eusaas.Internal, "%s holds %d rows through Citus, %d before distribution", rel, got, want)
		}
		// The coordinator's shell: its own heap, not Citus's view of the shards.
		if err := c.db.Pool.QueryRow(ctx, "SELECT pg_relation_size($1::regclass)", rel).Scan(&local); err != nil {
			return translate(err)
		}
		if local != 0 {
			return eusaas.Errorf(eusaas.Internal, "the coordinator still holds %d bytes of %s's local data", local, rel)
		}
	}
	var disabled int
	if err := c.db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_catalog.pg_trigger tg JOIN pg_catalog.pg_class c ON c.oid = tg.tgrelid
		WHERE c.relnamespace = $1::regnamespace AND NOT tg.tgisinternal AND tg.tgenabled = 'D'`, schema).Scan(&disabled); err != nil {
		return translate(err)
	}
	if disabled != 0 {
		return eusaas.Errorf(eusaas.Internal, "%d triggers of %s are disabled", disabled, schema)
	}
	return nil
}

// place is step 3 of Distribute.
func (c *Citus) place(ctx context.Context, d CitusDistribution, region string) (CitusDistribution, error) {
	places, err := c.placements(ctx, c.db.Pool)
	if err != nil {
		return d, err
	}
	d.Node = places[d.Schema].node
	if len(c.nodes) == 0 || region == "" {
		return d, nil
	}
	load := map[CitusNode]int{}
	for _, p := range places {
		load[p.node]++
	}
	target, move, err := c.nodes.PlanPlacement(region, d.Node, load)
	if err != nil || !move {
		return d, err
	}
	// citus_schema_move copies the schema's shards (logical replication when every table
	// has a replica identity, as tenant tables do with their primary keys); it runs alone on
	// the pool, not in a transaction with other statements. The casts pick the (name, port)
	// overload over the (node id, transfer mode) one.
	if _, err := c.db.Pool.Exec(ctx, "SELECT citus_schema_move($1::regnamespace, $2::text, $3::integer)", d.Schema, target.Host, target.Port); err != nil {
		return d, fmt.Errorf("postgres: moving %s to %s for region %s: %w", d.Schema, target, region, translate(err))
	}
	d.MovedFrom, d.Node = d.Node, target
	return d, nil
}

// Undistributed lists the tenants whose schemas are still local to the coordinator.
func (c *Citus) Undistributed(ctx context.Context) ([]eusaas.TenantID, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	if !st.Installed {
		return nil, ErrCitusNotInstalled
	}
	var out []eusaas.TenantID
	for _, p := range st.Tenants {
		if !p.Distributed {
			out = append(out, p.TenantID)
		}
	}
	return out, nil
}

// schemaTablesReferencingFirst lists the schema's tables so that a table comes after every
// table with a foreign key to it. truncate_local_data_after_distributing_table truncates
// with CASCADE (locally), so in this order each table's local data is removed by its own
// call and a referenced table never has local referencing rows left.
func schemaTablesReferencingFirst(ctx context.Context, q querier, schema string) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT c.relname, coalesce(array_agg(r.relname) FILTER (WHERE r.relname IS NOT NULL), '{}')
		FROM pg_catalog.pg_class c
		LEFT JOIN pg_catalog.pg_constraint fk ON fk.confrelid = c.oid AND fk.contype = 'f' AND fk.conrelid <> c.oid
		LEFT JOIN pg_catalog.pg_class r ON r.oid = fk.conrelid
		WHERE c.relnamespace = $1::regnamespace AND c.relkind = 'r'
		GROUP BY c.relname ORDER BY c.relname`, schema)
	if err != nil {
		return nil, translate(err)
	}
	type node struct {
		name  string
		refBy []string
	}
	nodes, err := collect(rows, func(r pgx.Rows) (node, error) {
		var n node
		return n, r.Scan(&n.name, &n.refBy)
	})
	if err != nil {
		return nil, err
	}
	done := map[string]bool{}
	var out []string
	for len(out) < len(nodes) {
		progress := false
		for _, n := range nodes {
			if done[n.name] {
				continue
			}
			ready := true
			for _, r := range n.refBy {
				ready = ready && done[r]
			}
			if ready {
				done[n.name], progress = true, true
				out = append(out, n.name)
			}
		}
		if !progress { // a foreign key cycle: the rest in name order
			for _, n := range nodes {
				if !done[n.name] {
					done[n.name] = true
					out = append(out, n.name)
				}
			}
		}
	}
	return out, nil
}

// enabledUserTriggers lists (table, trigger) for the schema's enabled, non-internal triggers.
func enabledUserTriggers(ctx context.Context, q querier, schema string) ([][2]string, error) {
	rows, err := q.Query(ctx, `SELECT c.relname, tg.tgname FROM pg_catalog.pg_trigger tg
		JOIN pg_catalog.pg_class c ON c.oid = tg.tgrelid
		WHERE c.relnamespace = $1::regnamespace AND NOT tg.tgisinternal AND tg.tgenabled <> 'D'
		ORDER BY c.relname, tg.tgname`, schema)
	if err != nil {
		return nil, translate(err)
	}
	return collect(rows, func(r pgx.Rows) ([2]string, error) {
		var t [2]string
		return t, r.Scan(&t[0], &t[1])
	})
}
