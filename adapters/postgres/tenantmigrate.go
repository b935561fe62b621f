package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/eusaas/eusaas"
)

// Tenant schema migrations are a resumable per-schema state machine (DESIGN.md):
//
//   - eusaas.tenant_schemas holds one row per tenant schema: the set of migration versions
//     applied, the highest one, a state (ready, migrating, failed) and the last error. The
//     row is created and deleted in the same transaction as the schema.
//   - One catalog query (pg_namespace joined with tenant_schemas, array containment) finds
//     the schemas lacking any known migration, so a run with nothing to do costs one query
//     however many schemas there are.
//   - Each missing migration of a schema is applied in its own transaction that first takes
//     the schema's advisory lock (pg_advisory_xact_lock), re-reads the applied set under it,
//     applies the SQL with the search_path set to the schema, and records the version. A
//     crash or a concurrent runner therefore never applies a version twice, and a rerun
//     resumes where the last committed step ended.
//   - Schemas are migrated by a bounded pool of workers; a failing schema is marked failed
//     with its error and reported while the others go on.

// tenancyLockClass is the first key of the two-key advisory lock of a tenant schema (the
// second is hashtext(schema_name)); it keeps these locks apart from other advisory locks.
const tenancyLockClass = 0x7e5a

// tenancyPlatformReady remembers pools whose platform schema has the tenant_schemas table.
var tenancyPlatformReady sync.Map // *pgxpool.Pool -> struct{}

// SchemaState is a tenant schema's migration state.
type SchemaState struct {
	TenantID eusaas.TenantID
	Schema   string
	Version  int   // highest applied version
	Applied  []int // every applied version
	State    string
	// Untracked: the schema exists without a tenant_schemas row (made outside eusaas or
	// before versions were recorded); it is reported, never migrated blindly.
	Untracked bool
	LastError string
}

// SchemaResult is the outcome of migrating one schema in a run.
type SchemaResult struct {
	Schema   string
	TenantID eusaas.TenantID
	From, To int   // highest version before and after
	Applied  []int // versions applied in this run
	Err      error
	Duration time.Duration
	// Done and Total count the run's schemas so far, for progress output.
	Done, Total int
}

// RunResult summarises a migration run over every tenant schema.
type RunResult struct {
	Lagging  int // schemas found lacking a migration
	Migrated int // schemas brought up to date
	Failed   []SchemaResult
	Duration time.Duration
}

// TenantSchemas creates, migrates and drops tenant schemas. It implements
// tenancy.Provisioner (see tenancy.go).
type TenantSchemas struct {
	db   *DB
	migs []TenantMigration
	all  []int32
	// stmts[i] are the statements of migs[i] (SplitStatements), executed one per Exec.
	stmts [][]string
}

// NewTenantSchemas manages tenant schemas with the given migrations (TenantMigrations() for
// the embedded ones); they must have distinct versions.
func NewTenantSchemas(db *DB, migs []TenantMigration) (*TenantSchemas, error) {
	migs = slices.Clone(migs)
	slices.SortFunc(migs, func(a, b TenantMigration) int { return a.Version - b.Version })
	all := make([]int32, len(migs))
	stmts := make([][]string, len(migs))
	for i, m := range migs {
		if m.Version <= 0 || (i > 0 && migs[i-1].Version == m.Version) {
			return nil, fmt.Errorf("postgres: tenant migration versions must be positive and distinct (%d)", m.Version)
		}
		all[i] = int32(m.Version)
		var err error
		if stmts[i], err = SplitStatements(m.SQL); err != nil {
			return nil, fmt.Errorf("postgres: tenant migration %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	return &TenantSchemas{db: db, migs: migs, all: all, stmts: stmts}, nil
}

// EmbeddedTenantSchemas is NewTenantSchemas with the embedded tenant migrations.
func EmbeddedTenantSchemas(db *DB) (*TenantSchemas, error) {
	migs, err := TenantMigrations()
	if err != nil {
		return nil, err
	}
	return NewTenantSchemas(db, migs)
}

// ensurePlatform makes sure the platform migrations (which create tenant_schemas) have run
// on this database, running them when they have not: creating a tenant schema without its
// version record would make it invisible to later migration runs.
func (s *TenantSchemas) ensurePlatform(ctx context.Context) error {
	if _, ok := tenancyPlatformReady.Load(s.db.Pool); ok {
		return nil
	}
	var ok bool
	if err := s.db.Pool.QueryRow(ctx, "SELECT to_regclass('eusaas.tenant_schemas') IS NOT NULL").Scan(&ok); err != nil {
		return translate(err)
	}
	if !ok {
		if err := s.db.MigratePlatform(ctx); err != nil {
			return err
		}
	}
	tenancyPlatformReady.Store(s.db.Pool, struct{}{})
	return nil
}

func tenancyLock(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", tenancyLockClass, schema)
	return translate(err)
}

// Create makes the tenant's schema with every migration and its version record, in one
// transaction (inside the context's transaction when there is one): on error nothing is
// left. For a schema that exists already it applies only what is missing.
func (s *TenantSchemas) Create(ctx context.Context, tenant eusaas.TenantID) error {
	if tenant.IsZero() {
		return eusaas.E(eusaas.Internal, "postgres: tenant schema without a tenant")
	}
	if err := s.ensurePlatform(ctx); err != nil {
		return err
	}
	schema := tenant.SchemaName()
	exists := false
	err := s.db.InTx(ctx, func(ctx context.Context) error {
		tx, _ := Tx(ctx)
		if err := tenancyLock(ctx, tx, schema); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM eusaas.tenant_schemas WHERE tenant_id = $1", tenant.UUID()).Scan(&n); err != nil {
			return translate(err)
		}
		if n > 0 {
			exists = true
			return nil
		}
		citus, err := citusInstalled(ctx, tx)
		if err != nil {
			return err
		}
		if !citus {
			applied, ok, err := s.takeSpare(ctx, tx, tenant)
			if err != nil {
				return err
			}
			if ok {
				// A spare made before an upgrade gets the newer migrations after the
				// commit, as any lagging schema does.
				exists = !s.spareComplete(applied)
				_, err := tx.Exec(ctx, `INSERT INTO eusaas.tenant_schemas (tenant_id, schema_name, version, applied, state, updated_at)
					VALUES ($1, $2, (SELECT coalesce(max(v), 0) FROM unnest($3::int[]) AS v), $3, 'ready', now())`, tenant.UUID(), schema, applied)
				return translate(err)
			}
		}
		if _, err := tx.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
			var pg *pgconn.PgError
			if errors.As(err, &pg) && pg.Code == "42P06" {
				return eusaas.Errorf(eusaas.AlreadyExists, "schema %s exists without a version record", schema)
			}
			return translate(err)
		}
		if err := s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
			if err := s.citusSettings(ctx, tx); err != nil {
				return err
			}
			for i, m := range s.migs {
				if err := s.apply(ctx, tx, i); err != nil {
					return fmt.Errorf("tenant migration %04d_%s: %w", m.Version, m.Name, err)
				}
			}
			return nil
		}); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO eusaas.tenant_schemas (tenant_id, schema_name, version, applied, state, updated_at)
			VALUES ($1, $2, $3, $4, 'ready', now())`, tenant.UUID(), schema, s.latest(), s.all)
		return translate(err)
	})
	if err != nil || !exists {
		return err
	}
	return s.Migrate(ctx, tenant)
}

// apply executes migration i one statement per Exec: Citus re-sends the query string of DDL
// on a distributed table to the workers as a prepared statement, which must hold exactly one
// command (citusdata/citus#6608; SQLSTATE 42601 otherwise).
func (s *TenantSchemas) apply(ctx context.Context, tx pgx.Tx, i int) error {
	for _, stmt := range s.stmts[i] {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return translate(err)
		}
	}
	return nil
}

// citusSettings prepares a tenant migration transaction for Citus, when the extension is
// installed: tenant tables with triggers (billing's immutability triggers) need
// citus.enable_unsafe_triggers, which is safe here because every trigger of a tenant
// schema reads only tables of the same schema, which Citus places whole on one node.
// SET LOCAL ends with the transaction (PgBouncer transaction pooling safe).
func (s *TenantSchemas) citusSettings(ctx context.Context, tx pgx.Tx) error {
	on, err := citusInstalled(ctx, tx)
	if err != nil || !on {
		return err
	}
	_, err = tx.Exec(ctx, "SET LOCAL citus.enable_unsafe_triggers = on")
	return translate(err)
}

func (s *TenantSchemas) latest() int32 {
	if len(s.all) == 0 {
		return 0
	}
	return s.all[len(s.all)-1]
}

// Drop drops the tenant's schema, its version record and its placement record in one
// transaction. Dropping a
// missing schema is not an error.
func (s *TenantSchemas) Drop(ctx context.Context, tenant eusaas.TenantID) error {
	if tenant.IsZero() {
		return eusaas.E(eusaas.Internal, "postgres: drop schema without a tenant")
	}
	if err := s.ensurePlatform(ctx); err != nil {
		return err
	}
	schema := tenant.SchemaName()
	return s.db.InTx(ctx, func(ctx context.Context) error {
		tx, _ := Tx(ctx)
		if err := tenancyLock(ctx, tx, schema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			return translate(err)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM eusaas.tenant_schemas WHERE tenant_id = $1", tenant.UUID()); err != nil {
			return translate(err)
		}
		// The placement record goes with the schema. A database migrated before the table
		// existed (00101) has no record to delete, and erasure must not fail there.
		var placements bool
		if err := tx.QueryRow(ctx, "SELECT to_regclass('eusaas.tenant_placements') IS NOT NULL").Scan(&placements); err != nil {
			return translate(err)
		}
		if placements {
			if _, err := tx.Exec(ctx, "DELETE FROM eusaas.tenant_placements WHERE tenant_id = $1", tenant.UUID()); err != nil {
				return translate(err)
			}
		}
		return nil
	})
}

// Migrate applies the migrations the tenant's schema lacks (tenancy.Provisioner).
// Errors: NotFound when the schema has no version record.
func (s *TenantSchemas) Migrate(ctx context.Context, tenant eusaas.TenantID) error {
	if err := s.ensurePlatform(ctx); err != nil {
		return err
	}
	_, _, _, err := s.migrateOne(ctx, tenant, tenant.SchemaName())
	return err
}

// migrateOne applies, one transaction each, the migrations the schema lacks. It returns the
// highest version before and after and the versions it applied. A failure is recorded in
// the schema's row (state failed, last_error) before it is returned.
func (s *TenantSchemas) migrateOne(ctx context.Context, tenant eusaas.TenantID, schema string) (from, to int, applied []int, err error) {
	from = -1
	for {
		var done bool
		var cur int
		var ver int
		err = s.db.InTx(ctx, func(ctx context.Context) error {
			tx, _ := Tx(ctx)
			if err := tenancyLock(ctx, tx, schema); err != nil {
				return err
			}
			var have []int32
			if err := tx.QueryRow(ctx, "SELECT version, applied FROM eusaas.tenant_schemas WHERE tenant_id = $1 FOR UPDATE",
				tenant.UUID()).Scan(&cur, &have); err != nil {
				if errors.Is(err, pgx.ErrNoRows) {
					return eusaas.Errorf(eusaas.NotFound, "tenant schema %s has no version record", schema)
				}
				return translate(err)
			}
			var missing []int // indexes into s.migs
			for i, m := range s.migs {
				if !slices.Contains(have, int32(m.Version)) {
					missing = append(missing, i)
				}
			}
			if len(missing) == 0 {
				done = true
				_, err := tx.Exec(ctx, "UPDATE eusaas.tenant_schemas SET state = 'ready', last_error = NULL, updated_at = now() WHERE tenant_id = $1 AND state <> 'ready'", tenant.UUID())
				return translate(err)
			}
			m := s.migs[missing[0]]
			if err := s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
				if err := s.citusSettings(ctx, tx); err != nil {
					return err
				}
				return s.apply(ctx, tx, missing[0])
			}); err != nil {
				return fmt.Errorf("tenant migration %04d_%s: %w", m.Version, m.Name, err)
			}
			state := "ready"
			if len(missing) > 1 {
				state = "migrating"
			}
			ver = m.Version
			done = len(missing) == 1
			_, err := tx.Exec(ctx, `UPDATE eusaas.tenant_schemas
				SET applied = (SELECT array_agg(v ORDER BY v) FROM unnest(array_append(applied, $2::int)) AS v),
				    version = greatest(version, $2), state = $3, last_error = NULL, updated_at = now()
				WHERE tenant_id = $1`, tenant.UUID(), m.Version, state)
			return translate(err)
		})
		if from < 0 {
			from = cur
		}
		if err != nil {
			// Every kind of failure is recorded, NotFound included: a migration naming a
			// missing relation (42P01, classed NotFound) must not leave the schema 'ready'.
			// Without a version record the UPDATE matches no row.
			s.recordFailure(ctx, tenant, err)
			return from, cur, applied, err
		}
		if ver != 0 {
			applied = append(applied, ver)
			cur = max(cur, ver)
		}
		if done {
			return from, cur, applied, nil
		}
	}
}

// recordFailure marks the schema failed with the error text (outside the failed
// transaction; best effort, the error is also returned to the runner).
func (s *TenantSchemas) recordFailure(ctx context.Context, tenant eusaas.TenantID, cause error) {
	msg := cause.Error()
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	_, _ = s.db.Pool.Exec(context.WithoutCancel(ctx),
		"UPDATE eusaas.tenant_schemas SET state = 'failed', last_error = $2, updated_at = now() WHERE tenant_id = $1", tenant.UUID(), msg)
}

// Lagging returns, with one catalog query, every tenant schema lacking a known migration
// and every schema named like a tenant schema that has no version record (Untracked).
func (s *TenantSchemas) Lagging(ctx context.Context) ([]SchemaState, error) {
	if err := s.ensurePlatform(ctx); err != nil {
		return nil, err
	}
	rows, err := s.db.q(ctx).Query(ctx, `
		SELECT n.nspname, ts.tenant_id, coalesce(ts.version, 0), coalesce(ts.applied, '{}'), coalesce(ts.state, ''),
		       coalesce(ts.last_error, ''), ts.tenant_id IS NULL
		FROM pg_catalog.pg_namespace n
		LEFT JOIN eusaas.tenant_schemas ts ON ts.schema_name = n.nspname
		WHERE n.nspname ~ '^t_[0-9a-f]{32}$'
		  AND (ts.tenant_id IS NULL OR NOT ts.applied @> $1::int[])
		ORDER BY n.nspname`, s.all)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []SchemaState
	for rows.Next() {
		var st SchemaState
		var id *uuid.UUID
		var applied []int32
		if err := rows.Scan(&st.Schema, &id, &st.Version, &applied, &st.State, &st.LastError, &st.Untracked); err != nil {
			return nil, translate(err)
		}
		if id != nil {
			st.TenantID = eusaas.TenantID(*id)
		} else if u, err := uuid.Parse(st.Schema[2:]); err == nil {
			st.TenantID = eusaas.TenantID(u)
		}
		for _, v := range applied {
			st.Applied = append(st.Applied, int(v))
		}
		out = append(out, st)
	}
	return out, translate(rows.Err())
}

// ErrUntrackedSchema reports a schema named like a tenant schema without a version record.
var ErrUntrackedSchema = eusaas.Sentinel(eusaas.FailedPrecondition, "untracked_schema", "tenant schema has no version record; not migrated")

// Run migrates every lagging tenant schema with at most concurrency schemas at a time
// (1 when less). progress, when not nil, is called once per schema as it finishes, from
// one goroutine at a time. A failing schema is reported in the result while the others
// go on; the returned error is only for failures of the run itself (the catalog query,
// a canceled context).
func (s *TenantSchemas) Run(ctx context.Context, concurrency int, progress func(SchemaResult)) (RunResult, error) {
	start := time.Now()
	lag, err := s.Lagging(ctx)
	if err != nil {
		return RunResult{}, err
	}
	res := RunResult{Lagging: len(lag)}
	concurrency = max(1, min(concurrency, len(lag)))
	work := make(chan SchemaState)
	var mu sync.Mutex
	var wg sync.WaitGroup
	done := 0
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for st := range work {
				t0 := time.Now()
				r := SchemaResult{Schema: st.Schema, TenantID: st.TenantID, From: st.Version, To: st.Version}
				if st.Untracked {
					r.Err = ErrUntrackedSchema.Withf("schema %s has no version record; not migrated", st.Schema)
				} else {
					r.From, r.To, r.Applied, r.Err = s.migrateOne(ctx, st.TenantID, st.Schema)
				}
				r.Duration = time.Since(t0)
				mu.Lock()
				done++
				r.Done, r.Total = done, len(lag)
				if r.Err != nil {
					res.Failed = append(res.Failed, r)
				} else {
					res.Migrated++
				}
				if progress != nil {
					progress(r)
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, st := range lag {
		select {
		case work <- st:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	res.Duration = time.Since(start)
	return res, ctx.Err()
}

// State returns the migration state of one tenant schema. Errors: NotFound.
func (s *TenantSchemas) State(ctx context.Context, tenant eusaas.TenantID) (SchemaState, error) {
	if err := s.ensurePlatform(ctx); err != nil {
		return SchemaState{}, err
	}
	st := SchemaState{TenantID: tenant}
	var applied []int32
	err := s.db.q(ctx).QueryRow(ctx, `SELECT schema_name, version, applied, state, coalesce(last_error, '')
		FROM eusaas.tenant_schemas WHERE tenant_id = $1`, tenant.UUID()).Scan(&st.Schema, &st.Version, &applied, &st.State, &st.LastError)
	if err != nil {
		return SchemaState{}, translate(err)
	}
	for _, v := range applied {
		st.Applied = append(st.Applied, int(v))
	}
	return st, nil
}
