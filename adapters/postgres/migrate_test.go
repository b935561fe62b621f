package postgres_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/internal/pgtest"
)

// sqlRecorder is a pgx query tracer keeping every SQL string sent to the server.
type sqlRecorder struct {
	mu  sync.Mutex
	sql []string
}

func (r *sqlRecorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	r.sql = append(r.sql, d.SQL)
	r.mu.Unlock()
	return ctx
}

func (r *sqlRecorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *sqlRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.sql
	r.sql = nil
	return out
}

func recordedDB(t *testing.T) (*postgres.DB, *sqlRecorder) {
	rec := &sqlRecorder{}
	pool := pgtest.PoolConfig(t, func(c *pgxpool.Config) { c.ConnConfig.Tracer = rec })
	return postgres.New(pool), rec
}

// requireOneStatementEach fails when any string sent held more than one statement: Citus
// refuses those for DDL on distributed tables (42601, citusdata/citus#6608).
func requireOneStatementEach(t *testing.T, sent []string) {
	t.Helper()
	for _, s := range sent {
		stmts, err := postgres.SplitStatements(s)
		require.NoError(t, err, s)
		require.LessOrEqual(t, len(stmts), 1, "one Exec carried several statements:\n%s", s)
	}
}

// Every statement of every embedded tenant migration reaches the server as an Exec of its
// own, both when a schema is created (all migrations in one transaction) and when a lagging
// schema is migrated (one migration per transaction).
func TestTenantMigrationsOneStatementPerExec(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, rec := recordedDB(t)
	require.NoError(t, db.MigratePlatform(ctx))
	rec.take()

	migs, err := postgres.TenantMigrations()
	require.NoError(t, err)
	tenant := eusaas.NewTenantID()
	require.NoError(t, db.CreateTenantSchema(ctx, tenant))
	sent := rec.take()
	requireOneStatementEach(t, sent)
	for _, m := range migs {
		stmts, err := postgres.SplitStatements(m.SQL)
		require.NoError(t, err)
		if len(stmts) > 1 {
			require.NotContains(t, sent, strings.TrimSpace(m.SQL), "migration %04d sent whole", m.Version)
		}
		for _, s := range stmts {
			require.Contains(t, sent, s, "migration %04d_%s: statement not sent on its own", m.Version, m.Name)
		}
	}

	// The per-schema migration path, with a multi-statement migration added.
	extra := postgres.TenantMigration{Version: 9999, Name: "extra", SQL: `
		CREATE TABLE extra (id int PRIMARY KEY, note text DEFAULT 'a;b');
		-- a comment; with a semicolon
		CREATE INDEX extra_note ON extra (note);
		CREATE FUNCTION extra_fn() RETURNS int LANGUAGE plpgsql SET search_path FROM CURRENT AS $$ BEGIN RETURN 1; END $$;`}
	schemas, err := postgres.NewTenantSchemas(db, append(migs, extra))
	require.NoError(t, err)
	require.NoError(t, schemas.Migrate(ctx, tenant))
	sent = rec.take()
	requireOneStatementEach(t, sent)
	require.Contains(t, sent, "-- a comment; with a semicolon\n\t\tCREATE INDEX extra_note ON extra (note)")
	st, err := schemas.State(ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, 9999, st.Version)
	require.Equal(t, "ready", st.State)
}

// goose sends the platform migrations one statement per Exec too; MigratePlatformApplied
// reports what it applied, and nothing on a second run.
func TestPlatformMigrationsOneStatementPerExec(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, rec := recordedDB(t)
	applied, err := db.MigratePlatformApplied(ctx)
	require.NoError(t, err)
	require.Contains(t, applied, "00001_platform.sql")
	sent := rec.take()
	requireOneStatementEach(t, sent)
	require.Contains(t, sent, "CREATE INDEX audit_entries_time ON eusaas.audit_entries (chain, occurred_at);")

	applied, err = db.MigratePlatformApplied(ctx)
	require.NoError(t, err)
	require.Empty(t, applied, "a second run applies nothing")
}

// A migration failing with an error classed NotFound (a missing relation, 42P01) leaves the
// schema 'failed' with its error, like every other failure.
func TestTenantMigrationFailureRecordedForEveryKind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(t))
	migs, err := postgres.TenantMigrations()
	require.NoError(t, err)
	tenant := eusaas.NewTenantID()
	require.NoError(t, db.CreateTenantSchema(ctx, tenant))
	for _, bad := range []postgres.TenantMigration{
		{Version: 9998, Name: "missing_relation", SQL: "ALTER TABLE no_such_table ADD COLUMN x int"},
		{Version: 9999, Name: "syntax", SQL: "CREATE TABLEX nope (id int)"},
	} {
		schemas, err := postgres.NewTenantSchemas(db, append(migs, bad))
		require.NoError(t, err)
		res, err := schemas.Run(ctx, 1, nil)
		require.NoError(t, err)
		require.Len(t, res.Failed, 1, bad.Name)
		st, err := schemas.State(ctx, tenant)
		require.NoError(t, err)
		require.Equal(t, "failed", st.State, "%s (kind %v)", bad.Name, eusaas.KindOf(res.Failed[0].Err))
		require.Contains(t, st.LastError, bad.Name)
	}
}
