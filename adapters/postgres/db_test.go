package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/internal/pgtest"
)

func TestMigrateAndTenantSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(t))
	require.NoError(t, db.MigratePlatform(ctx))
	require.NoError(t, db.MigratePlatform(ctx), "second run is a no-op")

	a := eusaas.NewTenantID()
	require.NoError(t, db.CreateTenantSchema(ctx, a))
	var n int
	require.NoError(t, db.Pool.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", a.SchemaName()).Scan(&n))
	require.Equal(t, 1, n)
	require.NoError(t, db.DropTenantSchema(ctx, a))
	require.NoError(t, db.DropTenantSchema(ctx, a), "dropping twice is idempotent")
	require.NoError(t, db.Pool.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", a.SchemaName()).Scan(&n))
	require.Equal(t, 0, n)
}

// Two tenants' transactions interleaved on a pool of one connection each see only their own
// rows: the search_path is transaction-scoped and cannot leak.
func TestSearchPathDoesNotLeak(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.PoolConfig(t, func(c *pgxpool.Config) { c.MaxConns = 1 })
	db := postgres.New(pool)
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
	require.NoError(t, db.CreateTenantSchema(ctx, a))
	require.NoError(t, db.CreateTenantSchema(ctx, b))
	put := func(id eusaas.TenantID, v string) {
		require.NoError(t, db.InTenantTx(ctx, id, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO tenant_info (key, value) VALUES ('owner', $1)", v)
			return err
		}))
	}
	get := func(id eusaas.TenantID) []string {
		var out []string
		require.NoError(t, db.InTenantTx(ctx, id, func(ctx context.Context, tx pgx.Tx) error {
			rows, err := tx.Query(ctx, "SELECT value FROM tenant_info")
			if err != nil {
				return err
			}
			out, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		}))
		return out
	}
	for i := 0; i < 5; i++ {
		put(a, "a")
		require.Equal(t, []string{"a"}, get(a)[:1])
		require.NotContains(t, get(b), "a")
		put(b, "b")
		require.NotContains(t, get(a), "b")
		// Outside a tenant transaction the path is the default again: tenant tables are invisible.
		_, err := pool.Exec(ctx, "SELECT value FROM tenant_info")
		require.Error(t, err)
		// Clean the key for the next round.
		require.NoError(t, db.InTenantTx(ctx, a, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "DELETE FROM tenant_info")
			return err
		}))
		require.NoError(t, db.InTenantTx(ctx, b, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "DELETE FROM tenant_info")
			return err
		}))
	}
	// A zero tenant fails closed.
	err := db.InTenantTx(ctx, eusaas.NilTenant, func(context.Context, pgx.Tx) error { return nil })
	require.Error(t, err)
	require.False(t, errors.Is(err, context.Canceled))
}

func TestInTxRollback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(t))
	require.NoError(t, db.MigratePlatform(ctx))
	boom := errors.New("boom")
	err := db.InTx(ctx, func(ctx context.Context) error {
		tx, ok := postgres.Tx(ctx)
		require.True(t, ok)
		_, err := tx.Exec(ctx, "INSERT INTO eusaas.platform_info (key, value) VALUES ('k', 'v')")
		require.NoError(t, err)
		return boom
	})
	require.ErrorIs(t, err, boom)
	var n int
	require.NoError(t, db.Pool.QueryRow(ctx, "SELECT count(*) FROM eusaas.platform_info").Scan(&n))
	require.Equal(t, 0, n)
}

// A connection the server drops (a crash, a restart, a failover) is Unavailable — a 503 the
// client may retry — whether the statement was running when it went or came after.
func TestDroppedConnectionIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.PoolConfig(t, func(c *pgxpool.Config) { c.MaxConns = 2 })
	db := postgres.New(pool)
	killer, err := pgx.Connect(ctx, pool.Config().ConnString())
	require.NoError(t, err)
	t.Cleanup(func() { _ = killer.Close(ctx) })

	// Assertions stay outside the transaction: a FailNow inside it would leave the pool
	// waiting for a connection that is never released.
	var running, after error
	err = db.InTx(ctx, func(ctx context.Context) error {
		tx, _ := postgres.Tx(ctx)
		var pid int
		if err := tx.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			return err
		}
		done := make(chan error, 1)
		go func() {
			_, err := tx.Exec(ctx, "SELECT pg_sleep(10)")
			done <- err
		}()
		time.Sleep(200 * time.Millisecond)
		if _, err := killer.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
			return err
		}
		running = <-done
		_, after = tx.Exec(ctx, "SELECT 1")
		return postgres.Translate(after)
	})
	require.Error(t, running)
	require.Equal(t, eusaas.Unavailable, eusaas.KindOf(postgres.Translate(running)), "the statement in flight: %v", running)
	require.Error(t, after)
	require.Equal(t, eusaas.Unavailable, eusaas.KindOf(postgres.Translate(after)), "a statement on the dead connection: %v", after)
	require.Equal(t, eusaas.Unavailable, eusaas.KindOf(err))
}

// A connection that breaks under a statement (what a Postgres crash does to the pool) is an
// unavailable dependency (503), never an internal error.
func TestTranslateConnectionLoss(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("failed to receive message: %w", io.ErrUnexpectedEOF),
		&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)},
		fmt.Errorf("write: %w", syscall.EPIPE),
		&pgconn.PgError{Code: "57P02", Message: "terminating connection because of crash of another server process"},
		&pgconn.PgError{Code: "57P03", Message: "the database system is starting up"},
	} {
		require.Equal(t, eusaas.Unavailable, eusaas.KindOf(postgres.Translate(err)), "%v", err)
	}
	require.Equal(t, eusaas.Internal, eusaas.KindOf(postgres.Translate(errors.New("something else"))))
}
