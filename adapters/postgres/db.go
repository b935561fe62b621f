package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/eusaas/eusaas"
)

// PlatformSchema is the schema holding platform-wide tables.
const PlatformSchema = "eusaas"

// DefaultMaxConns is the pool size Open uses unless the connection string sets
// pool_max_conns.
const DefaultMaxConns = 20

// DB is the shared handle of every Postgres store: a pool plus transaction plumbing.
type DB struct {
	Pool *pgxpool.Pool
}

// New wraps a pool.
func New(pool *pgxpool.Pool) *DB { return &DB{Pool: pool} }

// OpenOption adjusts the pool configuration Open builds.
type OpenOption func(*pgxpool.Config)

// WithQueryTracer traces every query of the pool's connections (the reference server
// passes an OpenTelemetry tracer when tracing is configured).
func WithQueryTracer(t pgx.QueryTracer) OpenOption {
	return func(c *pgxpool.Config) { c.ConnConfig.Tracer = t }
}

// Open connects a pool from a connection string and pings it.
func Open(ctx context.Context, connString string, opts ...OpenOption) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, eusaas.E(eusaas.InvalidArgument, "invalid postgres connection settings").Wrap(err)
	}
	for _, o := range opts {
		o(cfg)
	}
	if !strings.Contains(connString, "pool_max_conns") {
		// pgx's default (4, or one per CPU) is sized for a batch job: a server under
		// concurrent requests queues on it, and River's listener and workers hold some of
		// those few connections for themselves.
		cfg.MaxConns = DefaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, eusaas.E(eusaas.Unavailable, "postgres unavailable").Wrap(err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, eusaas.E(eusaas.Unavailable, "postgres unavailable").Wrap(err)
	}
	return &DB{Pool: pool}, nil
}

// Ready runs a parameterized query through the pool the way the stores do. Behind a
// transaction-pooling PgBouncer with pgx's statement cache the query's prepared statement
// is cached on the client connection but lives on one server connection, so a later check
// that lands on another server connection fails here, in the readiness check, and not only
// in requests; a ping would keep answering.
func (db *DB) Ready(ctx context.Context) error {
	var n int
	return db.Pool.QueryRow(ctx, "SELECT $1::int + 1", 1).Scan(&n)
}

// Close closes the pool.
func (db *DB) Close() { db.Pool.Close() }

var _ eusaas.TxRunner = (*DB)(nil)

type txKey struct{}

// txState is what the context carries inside InTx.
type txState struct {
	tx pgx.Tx
	// tenant is the schema the transaction's search_path was set to ("" when none yet).
	tenant string
}

// querier is what pgxpool.Pool and pgx.Tx have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// InTx runs fn in a transaction; nested calls join the outer one.
func (db *DB) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(*txState); ok {
		return fn(ctx)
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return translate(err)
	}
	st := &txState{tx: tx}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
	}()
	if err := fn(context.WithValue(ctx, txKey{}, st)); err != nil {
		// A statement on a connection the server already dropped fails with pgx's plain
		// "conn closed", which carries no type to translate; the connection's own state
		// tells that the database went away, not that the code is wrong. Read it before
		// Rollback hands the connection back to the pool.
		lost := eusaas.KindOf(err) == eusaas.Internal && tx.Conn().IsClosed()
		_ = tx.Rollback(context.WithoutCancel(ctx))
		if lost {
			return eusaas.E(eusaas.Unavailable, "database unavailable").Wrap(err)
		}
		return err
	}
	return translate(tx.Commit(ctx))
}

// Tx returns the pgx transaction carried by ctx, if any. Adapters that need a driver-level
// transaction (River's InsertTx) use it.
func Tx(ctx context.Context) (pgx.Tx, bool) {
	st, ok := ctx.Value(txKey{}).(*txState)
	if !ok {
		return nil, false
	}
	return st.tx, true
}

// q returns the context's transaction or the pool, for platform-schema statements (which
// always name their schema).
func (db *DB) q(ctx context.Context) querier {
	if st, ok := ctx.Value(txKey{}).(*txState); ok {
		return st.tx
	}
	return db.Pool
}

// InTenantTx runs fn with a querier whose search_path is the tenant's schema (and nothing
// else), inside the context's transaction or a new one. The path is set with
// set_config('search_path', schema, true): transaction-scoped, so it cannot leak to the next
// user of the pooled connection. A zero tenant fails closed.
func (db *DB) InTenantTx(ctx context.Context, tenant eusaas.TenantID, fn func(ctx context.Context, q pgx.Tx) error) error {
	if tenant.IsZero() {
		return eusaas.E(eusaas.Internal, "postgres: tenant-scoped statement without a tenant")
	}
	schema := tenant.SchemaName()
	return db.InTx(ctx, func(ctx context.Context) error {
		st := ctx.Value(txKey{}).(*txState)
		if st.tenant != schema {
			if _, err := st.tx.Exec(ctx, "SELECT set_config('search_path', $1, true)", pgx.Identifier{schema}.Sanitize()); err != nil {
				return translate(err)
			}
			st.tenant = schema
		}
		return fn(ctx, st.tx)
	})
}

// translate maps driver errors to eusaas kinds. It never matches error strings.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var ee *eusaas.Error
	if errors.As(err, &ee) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return eusaas.E(eusaas.NotFound, "not found").Wrap(err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "23505":
			return eusaas.E(eusaas.AlreadyExists, "already exists").Wrap(err)
		case "23503", "23514", "22P02", "22003", "23502":
			return eusaas.E(eusaas.InvalidArgument, "invalid value").Wrap(err)
		case "40001", "40P01":
			return eusaas.E(eusaas.Aborted, "transaction conflict, retry").Wrap(err)
		case "3F000", "42P01": // schema or table missing: tenant not provisioned (or dropped)
			return eusaas.E(eusaas.NotFound, "tenant data not found").Wrap(err)
		case "57014":
			return eusaas.E(eusaas.DeadlineExceeded, "statement canceled").Wrap(err)
		}
		// 08: connection exceptions; 57P01-03: the server is shutting down, crashed or
		// starting; 53300: too many connections.
		if pg.Code[:2] == "08" || pg.Code == "57P01" || pg.Code == "57P02" || pg.Code == "57P03" || pg.Code == "53300" {
			return eusaas.E(eusaas.Unavailable, "database unavailable").Wrap(err)
		}
	}
	if connectionLost(err) {
		return eusaas.E(eusaas.Unavailable, "database unavailable").Wrap(err)
	}
	return fmt.Errorf("postgres: %w", err)
}

// connectionLost reports the errors of a database that cannot be reached or went away
// mid-statement (a crash, a restart, a network cut): the request may succeed on retry, so
// they are Unavailable (503 with Retry-After), not internal errors.
func connectionLost(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne):
		return true
	case errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE):
		return true
	}
	// pgx marks errors raised before anything reached the server ("conn closed", a dead
	// pooled connection) as safe to retry.
	return pgconn.SafeToRetry(err)
}

// Translate exposes the error mapping to other adapters built on this package's DB.
func Translate(err error) error { return translate(err) }
