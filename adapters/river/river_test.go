package river_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/adapters/river"
	"github.com/eusaas/eusaas/internal/pgtest"
	"github.com/eusaas/eusaas/jobs"
)

func TestRiverQueue(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	db := postgres.New(pool)
	require.NoError(t, db.MigratePlatform(ctx))
	require.NoError(t, river.Migrate(ctx, pool, ""))
	require.NoError(t, river.Migrate(ctx, pool, ""), "migrations are idempotent")

	var ok, failed atomic.Int32
	got := make(chan string, 10)
	reg := jobs.NewRegistry()
	reg.Handle("test.ok", func(ctx context.Context, j jobs.Job) error {
		var a struct{ Name string }
		if err := j.Decode(&a); err != nil {
			return err
		}
		ok.Add(1)
		got <- a.Name
		return nil
	})
	reg.Handle("test.fail", func(ctx context.Context, j jobs.Job) error {
		failed.Add(1)
		return errors.New("boom")
	})
	q := river.New(pool, reg, river.Options{FetchPollInterval: 200 * time.Millisecond})

	// Rolled back with its transaction: never runs.
	rollback := errors.New("rollback")
	err := db.InTx(ctx, func(ctx context.Context) error {
		require.NoError(t, q.Enqueue(ctx, "test.ok", map[string]string{"Name": "rolled-back"}, nil))
		return rollback
	})
	require.ErrorIs(t, err, rollback)
	require.NoError(t, db.InTx(ctx, func(ctx context.Context) error {
		return q.Enqueue(ctx, "test.ok", map[string]string{"Name": "committed"}, nil)
	}))
	require.NoError(t, q.Enqueue(ctx, "test.fail", nil, &jobs.EnqueueOpts{MaxAttempts: 1}))
	require.Error(t, q.Enqueue(ctx, "test.unknown", nil, nil))

	require.NoError(t, q.Start(ctx))
	t.Cleanup(func() { _ = q.Stop(context.Background()) })
	select {
	case name := <-got:
		require.Equal(t, "committed", name)
	case <-time.After(20 * time.Second):
		t.Fatal("job not worked")
	}
	require.Eventually(t, func() bool {
		var n int
		_ = pool.QueryRow(ctx, "SELECT count(*) FROM eusaas.river_job WHERE kind = 'test.fail' AND state = 'discarded'").Scan(&n)
		return n == 1
	}, 20*time.Second, 50*time.Millisecond, "a job out of attempts ends discarded")
	var n int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM eusaas.river_job WHERE kind = 'test.ok'").Scan(&n))
	require.Equal(t, 1, n, "the rolled-back job was never inserted")
	require.Equal(t, int32(1), ok.Load())
	require.Equal(t, int32(1), failed.Load())
}
