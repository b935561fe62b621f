// Package jobstest is the conformance suite of the jobs port. Every adapter of jobs.Queue
// runs it from a TestConformance:
//
//	jobstest.Run(t, jobstest.Harness{New: ..., Features: jobstest.Features{...}})
//
// The suite registers its handlers into a fresh jobs.Registry per subtest and asks the
// harness for a working queue over it.
package jobstest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/jobs"
)

// Harness builds the adapter under test.
type Harness struct {
	// New returns a fresh, started queue that works the handlers and periodic jobs of reg
	// (all registered before New is called) and is stopped at t's cleanup. Retries must
	// come after a short backoff (milliseconds, not the production attempt^4 seconds): the
	// suite waits for retries but not for minutes.
	New      func(t *testing.T, reg *jobs.Registry) Instance
	Features Features
}

// Features reports optional behaviour.
type Features struct {
	// Transactions: Instance.Tx runs transactions that Enqueue joins, so a job enqueued in a
	// transaction exists if and only if it commits.
	Transactions bool
	// SubSecondPeriodic: the adapter runs a periodic job with a sub-second Interval at that
	// pace (the Periodic subtest is skipped otherwise, as it would take minutes).
	SubSecondPeriodic bool
}

// Instance is what the harness provides per subtest.
type Instance struct {
	Queue jobs.Queue
	// Tx is the adapter's transaction runner (required with Features.Transactions).
	Tx eusaas.TxRunner
	// Clock is the clock the adapter schedules by, with Advance moving it forward. Both nil
	// means the adapter uses the wall clock, and the suite then keeps its delays short.
	Clock   eusaas.Clock
	Advance func(d time.Duration)
	// Discarded lists the jobs that ran out of attempts (the dead-letter state); optional.
	Discarded func(ctx context.Context) ([]jobs.Job, error)
}

func (in Instance) now() time.Time {
	if in.Clock != nil {
		return in.Clock.Now()
	}
	return time.Now()
}

// wait is how long the suite waits for something that should happen promptly; it is a
// ceiling for slow machines, not an expectation.
const wait = 15 * time.Second

const tick = 10 * time.Millisecond

// runLog records handler runs, safe for concurrent handlers.
type runLog struct {
	mu   sync.Mutex
	runs []run
}

type run struct {
	job jobs.Job
	at  time.Time
}

func (l *runLog) add(j jobs.Job, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runs = append(l.runs, run{job: j, at: at})
}

func (l *runLog) all() []run {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]run(nil), l.runs...)
}

// of returns the runs whose arguments decode to the string s.
func (l *runLog) of(s string) []run {
	var out []run
	for _, r := range l.all() {
		var a string
		if r.job.Decode(&a) == nil && a == s {
			out = append(out, r)
		}
	}
	return out
}

func (l *runLog) waitFor(t *testing.T, s string, n int) []run {
	t.Helper()
	require.Eventually(t, func() bool { return len(l.of(s)) >= n }, wait, tick, "%q did not run %d times (ran %d)", s, n, len(l.of(s)))
	return l.of(s)
}

// env is one subtest's queue with a recording handler of kind "test.echo" (arguments: a
// string) already registered.
type env struct {
	Instance
	reg *jobs.Registry
	log *runLog
}

const echo = "test.echo"

func newEnv(t *testing.T, h Harness, register func(reg *jobs.Registry)) *env {
	t.Helper()
	e := &env{reg: jobs.NewRegistry(), log: &runLog{}}
	// The handler reads the instance's clock, which exists only once New returns, and a
	// periodic job may run before that.
	var clock atomic.Pointer[Instance]
	e.reg.Handle(echo, func(_ context.Context, j jobs.Job) error {
		at := time.Now()
		if in := clock.Load(); in != nil {
			at = in.now()
		}
		e.log.add(j, at)
		return nil
	})
	if register != nil {
		register(e.reg)
	}
	e.Instance = h.New(t, e.reg)
	in := e.Instance
	clock.Store(&in)
	return e
}

// barrier enqueues a marker job after everything the test did and waits for it: on an
// adapter that works jobs in order of their run time, whatever was due before it has been
// picked up by the time it runs.
func (e *env) barrier(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	require.NoError(t, e.Queue.Enqueue(ctx, echo, name, nil))
	e.log.waitFor(t, name, 1)
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	ctx := context.Background()

	t.Run("EnqueueRuns", func(t *testing.T) {
		t.Parallel()
		type payload struct {
			Name  string            `json:"name"`
			Count int               `json:"count"`
			Tags  map[string]string `json:"tags"`
		}
		got := make(chan jobs.Job, 1)
		e := newEnv(t, h, func(reg *jobs.Registry) {
			reg.Handle("test.payload", func(_ context.Context, j jobs.Job) error {
				got <- j
				return nil
			})
		})
		want := payload{Name: "ünïcode ✓", Count: 42, Tags: map[string]string{"a": "b"}}
		require.NoError(t, e.Queue.Enqueue(ctx, "test.payload", want, nil))
		var j jobs.Job
		select {
		case j = <-got:
		case <-time.After(wait):
			t.Fatal("job not run")
		}
		var p payload
		require.NoError(t, j.Decode(&p))
		require.Equal(t, want, p)
		require.Equal(t, "test.payload", j.Kind)
		require.Equal(t, 1, j.Attempt, "the first run is attempt 1")
		require.Equal(t, jobs.DefaultMaxAttempts, j.MaxAttempts)
		require.NotEmpty(t, j.ID)

		// Options given explicitly reach the handler.
		require.NoError(t, e.Queue.Enqueue(ctx, echo, "opts", &jobs.EnqueueOpts{MaxAttempts: 3}))
		r := e.log.waitFor(t, "opts", 1)
		require.Equal(t, 3, r[0].job.MaxAttempts)
		require.Equal(t, 1, r[0].job.Attempt)
		require.NotEqual(t, j.ID, r[0].job.ID, "job ids are distinct")
	})

	t.Run("CancelTenant", func(t *testing.T) {
		t.Parallel()
		ran := make(chan jobs.Job, 8)
		e := newEnv(t, h, func(reg *jobs.Registry) {
			for _, k := range []string{"test.tenant_work", "test.tenant_keep"} {
				reg.Handle(k, func(_ context.Context, j jobs.Job) error {
					ran <- j
					return nil
				})
			}
		})
		qc, ok := e.Queue.(jobs.TenantCanceler)
		if !ok {
			t.Skip("queue without jobs.TenantCanceler")
		}
		type targs struct {
			TenantID string `json:"tenant_id"`
			N        int    `json:"n"`
		}
		later := &jobs.EnqueueOpts{ScheduledAt: time.Now().Add(time.Hour)} // waiting, not run
		a, b := "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
		for i, j := range []struct{ kind, tenant string }{
			{"test.tenant_work", a}, {"test.tenant_work", a}, {"test.tenant_keep", a}, {"test.tenant_work", b},
		} {
			require.NoError(t, e.Queue.Enqueue(ctx, j.kind, targs{TenantID: j.tenant, N: i}, later))
		}
		n, err := qc.CancelTenant(ctx, a, "test.tenant_keep")
		require.NoError(t, err)
		require.Equal(t, 2, n, "a's waiting jobs, the kept kind excepted")
		n, err = qc.CancelTenant(ctx, a, "test.tenant_keep")
		require.NoError(t, err)
		require.Zero(t, n)
		n, err = qc.CancelTenant(ctx, a)
		require.NoError(t, err)
		require.Equal(t, 1, n, "without keep, the kept kind goes too")
		n, err = qc.CancelTenant(ctx, b)
		require.NoError(t, err)
		require.Equal(t, 1, n, "b's job was untouched until now")
		select {
		case j := <-ran:
			t.Fatalf("a scheduled job ran: %+v", j)
		default:
		}
	})

	t.Run("UnknownKind", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h, nil)
		err := e.Queue.Enqueue(ctx, "test.nobody", "x", nil)
		require.Error(t, err)
		require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err), "%v", err)
		e.barrier(t, ctx, "after")
		require.Len(t, e.log.all(), 1, "nothing but the barrier ran")
	})

	t.Run("UnencodableArgs", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h, nil)
		err := e.Queue.Enqueue(ctx, echo, make(chan int), nil)
		require.Error(t, err)
		require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err), "%v", err)
		e.barrier(t, ctx, "after")
		require.Len(t, e.log.all(), 1, "nothing but the barrier ran")
	})

	t.Run("RetryThenSucceed", func(t *testing.T) {
		t.Parallel()
		var attempts []int
		var mu sync.Mutex
		done := make(chan struct{})
		e := newEnv(t, h, func(reg *jobs.Registry) {
			reg.Handle("test.flaky", func(_ context.Context, j jobs.Job) error {
				mu.Lock()
				defer mu.Unlock()
				attempts = append(attempts, j.Attempt)
				if len(attempts) < 3 {
					return fmt.Errorf("transient failure %d", len(attempts))
				}
				close(done)
				return nil
			})
		})
		require.NoError(t, e.Queue.Enqueue(ctx, "test.flaky", nil, nil))
		select {
		case <-done:
		case <-time.After(wait):
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("job did not succeed; attempts %v", attempts)
		}
		// A completed job is not run again.
		e.barrier(t, ctx, "after")
		mu.Lock()
		defer mu.Unlock()
		require.Equal(t, []int{1, 2, 3}, attempts)
	})

	t.Run("DeadLetter", func(t *testing.T) {
		t.Parallel()
		var runs atomic.Int32
		var lastAttempt atomic.Int32
		e := newEnv(t, h, func(reg *jobs.Registry) {
			reg.Handle("test.broken", func(_ context.Context, j jobs.Job) error {
				runs.Add(1)
				lastAttempt.Store(int32(j.Attempt))
				return errors.New("always fails")
			})
		})
		require.NoError(t, e.Queue.Enqueue(ctx, "test.broken", "doomed", &jobs.EnqueueOpts{MaxAttempts: 2}))
		require.Eventually(t, func() bool { return runs.Load() >= 2 }, wait, tick)
		if e.Discarded != nil {
			var dead []jobs.Job
			require.Eventually(t, func() bool {
				var err error
				dead, err = e.Discarded(ctx)
				require.NoError(t, err)
				return len(dead) > 0
			}, wait, tick, "a job out of attempts ends discarded")
			require.Len(t, dead, 1)
			require.Equal(t, "test.broken", dead[0].Kind)
			require.Equal(t, 2, dead[0].Attempt)
			require.Equal(t, 2, dead[0].MaxAttempts)
			var a string
			require.NoError(t, dead[0].Decode(&a))
			require.Equal(t, "doomed", a, "a discarded job keeps its arguments for inspection")
		}
		// Give a wrongly rescheduled third attempt the time a retry takes (the backoff is
		// short) and the clock a push, then check it never came.
		if e.Advance != nil {
			e.Advance(time.Hour)
		}
		e.barrier(t, ctx, "after")
		e.barrier(t, ctx, "after-2")
		require.Equal(t, int32(2), runs.Load(), "a discarded job never runs again")
		require.Equal(t, int32(2), lastAttempt.Load())
	})

	t.Run("ScheduledAt", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h, nil)
		delay := 300 * time.Millisecond // wall clock: short, and only ordering is asserted
		if e.Advance != nil {
			delay = time.Hour
		}
		at := e.now().Add(delay)
		require.NoError(t, e.Queue.Enqueue(ctx, echo, "later", &jobs.EnqueueOpts{ScheduledAt: at}))
		e.barrier(t, ctx, "now")
		if e.Advance != nil {
			require.Empty(t, e.log.of("later"), "not run before its time")
			e.Advance(delay)
		}
		r := e.log.waitFor(t, "later", 1)
		require.False(t, r[0].at.Before(at), "ran at %v, scheduled for %v", r[0].at, at)
		all := e.log.all()
		require.Equal(t, "now", decodeString(t, all[0].job), "a job enqueued after but due before ran first")
		require.Equal(t, 1, r[0].job.Attempt)
	})

	t.Run("TxRollback", func(t *testing.T) {
		if !h.Features.Transactions {
			t.Skip("the adapter's Enqueue does not join transactions")
		}
		t.Parallel()
		e := newEnv(t, h, nil)
		require.NotNil(t, e.Tx, "Features.Transactions needs Instance.Tx")
		boom := errors.New("rollback")
		err := e.Tx.InTx(ctx, func(txCtx context.Context) error {
			require.NoError(t, e.Queue.Enqueue(txCtx, echo, "rolled-back", nil))
			// While the transaction is open its job must not run: a job enqueued with
			// its records must never see them uncommitted (or not at all).
			e.barrier(t, ctx, "during")
			require.Empty(t, e.log.of("rolled-back"), "a job ran before its transaction committed")
			return boom
		})
		require.ErrorIs(t, err, boom)

		require.NoError(t, e.Tx.InTx(ctx, func(txCtx context.Context) error {
			require.NoError(t, e.Queue.Enqueue(txCtx, echo, "committed", nil))
			e.barrier(t, ctx, "during-2")
			require.Empty(t, e.log.of("committed"), "a job ran before its transaction committed")
			return nil
		}))
		e.log.waitFor(t, "committed", 1)
		e.barrier(t, ctx, "after")
		require.Empty(t, e.log.of("rolled-back"), "a job enqueued in a rolled-back transaction never runs")
		require.Len(t, e.log.of("committed"), 1)
	})

	t.Run("Periodic", func(t *testing.T) {
		if !h.Features.SubSecondPeriodic {
			t.Skip("the adapter does not run sub-second schedules")
		}
		t.Parallel()
		const interval = 200 * time.Millisecond
		e := newEnv(t, h, func(reg *jobs.Registry) {
			reg.Every(jobs.Periodic{Name: "test.tick", Kind: echo, Args: "tick", Schedule: jobs.Interval(interval)})
		})
		require.Eventually(t, func() bool {
			if e.Advance != nil {
				e.Advance(interval)
			}
			return len(e.log.of("tick")) >= 2
		}, wait, 50*time.Millisecond, "a periodic job runs again and again")
		for _, r := range e.log.of("tick") {
			require.Equal(t, "tick", decodeString(t, r.job))
			require.Equal(t, 1, r.job.Attempt)
		}
		ticks := e.log.of("tick")
		require.NotEqual(t, ticks[0].job.ID, ticks[1].job.ID, "each period enqueues a new job")
	})

	t.Run("ContextCanceled", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h, nil)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		require.Error(t, e.Queue.Enqueue(cctx, echo, "canceled", nil))
		if e.Tx != nil && h.Features.Transactions {
			// Nor inside a transaction whose context is canceled meanwhile.
			err := e.Tx.InTx(ctx, func(txCtx context.Context) error {
				tctx, cancel := context.WithCancel(txCtx)
				cancel()
				return e.Queue.Enqueue(tctx, echo, "canceled-in-tx", nil)
			})
			require.Error(t, err)
		}
		e.barrier(t, ctx, "after")
		require.Empty(t, e.log.of("canceled"))
		require.Empty(t, e.log.of("canceled-in-tx"))
	})

	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h, nil)
		const goroutines, each = 8, 10
		var wg sync.WaitGroup
		errs := make(chan error, goroutines*each)
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					errs <- e.Queue.Enqueue(ctx, echo, fmt.Sprintf("job-%d-%d", g, i), nil)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.Eventually(t, func() bool { return len(e.log.all()) >= goroutines*each }, wait, tick)
		e.barrier(t, ctx, "after")
		seen := map[string]int{}
		ids := map[string]bool{}
		for _, r := range e.log.all() {
			seen[decodeString(t, r.job)]++
			ids[r.job.ID] = true
		}
		for g := range goroutines {
			for i := range each {
				name := fmt.Sprintf("job-%d-%d", g, i)
				require.Equal(t, 1, seen[name], "job %s ran %d times", name, seen[name])
			}
		}
		require.Len(t, ids, goroutines*each+1, "every job has its own id")
	})
}

func decodeString(t *testing.T, j jobs.Job) string {
	t.Helper()
	var s string
	require.NoError(t, j.Decode(&s))
	return s
}
