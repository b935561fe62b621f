package river_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/adapters/river"
	"github.com/eusaas/eusaas/internal/pgtest"
	"github.com/eusaas/eusaas/jobs"
	"github.com/eusaas/eusaas/jobs/jobstest"
)

// TestConformance runs the jobs suite on River, each subtest on its own database.
func TestConformance(t *testing.T) {
	jobstest.Run(t, jobstest.Harness{
		Features: jobstest.Features{Transactions: true, SubSecondPeriodic: true},
		New: func(t *testing.T, reg *jobs.Registry) jobstest.Instance {
			ctx := context.Background()
			pool := pgtest.Pool(t)
			require.NoError(t, river.Migrate(ctx, pool, ""))
			q := river.New(pool, reg, river.Options{
				FetchPollInterval: 100 * time.Millisecond, // River's minimum with its default cooldown
				Backoff:           func(int) time.Duration { return 10 * time.Millisecond },
			})
			require.NoError(t, q.Start(ctx))
			t.Cleanup(func() { require.NoError(t, q.Stop(context.Background())) })
			return jobstest.Instance{
				Queue: q,
				Tx:    postgres.New(pool),
				Discarded: func(ctx context.Context) ([]jobs.Job, error) {
					rows, err := pool.Query(ctx, `SELECT id::text, kind, args, attempt, max_attempts
						FROM eusaas.river_job WHERE state = 'discarded' ORDER BY id`)
					if err != nil {
						return nil, err
					}
					defer rows.Close()
					var out []jobs.Job
					for rows.Next() {
						var j jobs.Job
						if err := rows.Scan(&j.ID, &j.Kind, &j.Args, &j.Attempt, &j.MaxAttempts); err != nil {
							return nil, err
						}
						out = append(out, j)
					}
					return out, rows.Err()
				},
			}
		},
	})
}

// TestRiverQueueBeforeStart covers what is River's own: migrations are idempotent, the
// client is built on first use (handlers registered after New count), and a job enqueued
// before Start is worked once the queue starts.
func TestRiverQueueBeforeStart(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	require.NoError(t, river.Migrate(ctx, pool, ""))
	require.NoError(t, river.Migrate(ctx, pool, ""), "migrations are idempotent")

	reg := jobs.NewRegistry()
	q := river.New(pool, reg, river.Options{FetchPollInterval: 100 * time.Millisecond})
	got := make(chan string, 1)
	reg.Handle("test.late", func(_ context.Context, j jobs.Job) error {
		var s string
		if err := j.Decode(&s); err != nil {
			return err
		}
		got <- s
		return nil
	})
	require.NoError(t, q.Enqueue(ctx, "test.late", "queued", nil))
	select {
	case <-got:
		t.Fatal("worked before Start")
	default:
	}
	require.NoError(t, q.Start(ctx))
	t.Cleanup(func() { _ = q.Stop(context.Background()) })
	select {
	case s := <-got:
		require.Equal(t, "queued", s)
	case <-time.After(20 * time.Second):
		t.Fatal("job not worked")
	}
}
