package memjobs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/jobs"
	"github.com/eusaas/eusaas/jobs/jobstest"
	"github.com/eusaas/eusaas/jobs/memjobs"
	"github.com/eusaas/eusaas/memtx"
)

func TestConformance(t *testing.T) {
	jobstest.Run(t, jobstest.Harness{
		Features: jobstest.Features{Transactions: true, SubSecondPeriodic: true},
		New: func(t *testing.T, reg *jobs.Registry) jobstest.Instance {
			clock := eusaas.NewFakeClock(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
			r := memjobs.NewRunner(reg, memjobs.Options{
				Clock: clock, PollInterval: 5 * time.Millisecond, Workers: 4,
				// Retries are due at once on the fake clock; the default backoff is
				// covered by TestRunnerRetriesDiscardsAndRollsBack.
				Backoff: func(int) time.Duration { return 0 },
			})
			require.NoError(t, r.Start(context.Background()))
			t.Cleanup(func() { require.NoError(t, r.Stop(context.Background())) })
			return jobstest.Instance{
				Queue: r, Tx: memtx.NewTxRunner(), Clock: clock, Advance: clock.Advance,
				Discarded: func(context.Context) ([]jobs.Job, error) {
					var out []jobs.Job
					for _, j := range r.Jobs() {
						if j.State == memjobs.StateDiscarded {
							out = append(out, j.Job)
						}
					}
					return out, nil
				},
			}
		},
	})
}

func TestRunnerRetriesDiscardsAndRollsBack(t *testing.T) {
	ctx := context.Background()
	clock := eusaas.NewFakeClock(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	reg := jobs.NewRegistry()
	var runs []string
	flaky := 0
	reg.Handle("ok", func(_ context.Context, j jobs.Job) error {
		var s string
		require.NoError(t, j.Decode(&s))
		runs = append(runs, s)
		return nil
	})
	reg.Handle("flaky", func(context.Context, jobs.Job) error {
		flaky++
		if flaky < 3 {
			return errors.New("transient")
		}
		return nil
	})
	reg.Handle("broken", func(context.Context, jobs.Job) error { return errors.New("always") })
	reg.Every(jobs.Periodic{Name: "tick", Kind: "ok", Args: "tick", Schedule: jobs.Daily{Hour: 1}})
	r := memjobs.NewRunner(reg, memjobs.Options{Clock: clock})

	tx := memtx.NewTxRunner()
	err := tx.InTx(ctx, func(ctx context.Context) error {
		require.NoError(t, r.Enqueue(ctx, "ok", "rolled-back", nil))
		return errors.New("rollback")
	})
	require.Error(t, err)
	require.NoError(t, r.Enqueue(ctx, "ok", "a", nil))
	require.NoError(t, r.Enqueue(ctx, "flaky", nil, nil))
	require.NoError(t, r.Enqueue(ctx, "broken", nil, &jobs.EnqueueOpts{MaxAttempts: 2}))
	require.Error(t, r.Enqueue(ctx, "nope", nil, nil))

	require.Equal(t, 3, r.WorkAvailable(ctx))
	require.Equal(t, []string{"a"}, runs)
	clock.Advance(jobs.Backoff(1))
	require.Equal(t, 2, r.WorkAvailable(ctx)) // flaky #2 fails, broken #2 discarded
	clock.Advance(jobs.Backoff(2))
	require.Equal(t, 1, r.WorkAvailable(ctx)) // flaky #3 succeeds
	require.Equal(t, 3, flaky)
	states := map[string]string{}
	for _, j := range r.Jobs() {
		states[j.Kind] = j.State
	}
	require.Equal(t, map[string]string{"ok": memjobs.StateCompleted, "flaky": memjobs.StateCompleted, "broken": memjobs.StateDiscarded}, states)

	clock.Advance(25 * time.Hour) // the daily schedule comes due
	require.Equal(t, 1, r.WorkAvailable(ctx))
	require.Equal(t, []string{"a", "tick"}, runs)
}
