package memjobs

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/jobs"
	"github.com/eusaas/eusaas/memtx"
)

// Job states of the memory runner (the names River uses).
const (
	StatePending   = "pending" // enqueued in a memory transaction not yet committed
	StateAvailable = "available"
	StateRunning   = "running"
	StateRetryable = "retryable"
	StateCompleted = "completed"
	StateDiscarded = "discarded" // attempts exhausted: the dead-letter state
)

// Record is a job as the memory runner keeps it.
type Record struct {
	jobs.Job
	State       string
	ScheduledAt time.Time
	Errors      []string
}

// Options tunes the memory job runner.
type Options struct {
	Clock        eusaas.Clock  // default eusaas.SystemClock
	PollInterval time.Duration // default 200ms
	Workers      int           // concurrent jobs in Start; default 2
	// Backoff is the delay before the retry that follows failed attempt n; default
	// jobs.Backoff. Tests shorten it.
	Backoff func(attempt int) time.Duration
}

// Runner implements jobs.Queue in process for the in-memory mode: jobs live in memory
// (lost with the process, like every memory store), run on a small worker pool, retry with
// jobs.Backoff and end discarded after MaxAttempts. An Enqueue made inside a memtx
// transaction becomes runnable when that transaction commits and is withdrawn when it rolls
// back.
type Runner struct {
	reg  *jobs.Registry
	opts Options

	mu   sync.Mutex
	jobs []*Record
	next map[string]time.Time // periodic name -> next run

	stop chan struct{}
	done sync.WaitGroup
}

var _ jobs.Queue = (*Runner)(nil)

// NewRunner returns a runner for the handlers and schedules of reg.
func NewRunner(reg *jobs.Registry, opts Options) *Runner {
	if opts.Clock == nil {
		opts.Clock = eusaas.SystemClock
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 200 * time.Millisecond
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.Backoff == nil {
		opts.Backoff = jobs.Backoff
	}
	return &Runner{reg: reg, opts: opts, next: map[string]time.Time{}}
}

// Enqueue implements jobs.Queue.
func (r *Runner) Enqueue(ctx context.Context, kind string, args any, opts *jobs.EnqueueOpts) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, ok := r.reg.Handler(kind); !ok {
		return eusaas.Errorf(eusaas.InvalidArgument, "jobs: no handler for kind %q", kind)
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return eusaas.E(eusaas.InvalidArgument, "jobs: arguments cannot be encoded").Wrap(err)
	}
	var o jobs.EnqueueOpts
	if opts != nil {
		o = *opts
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = jobs.DefaultMaxAttempts
	}
	at := r.opts.Clock.Now()
	if !o.ScheduledAt.IsZero() {
		at = o.ScheduledAt
	}
	rec := &Record{
		Job:         jobs.Job{ID: uuid.NewString(), Kind: kind, Args: raw, MaxAttempts: o.MaxAttempts},
		State:       StateAvailable,
		ScheduledAt: at,
	}
	// Inside a transaction the job waits for the commit: run earlier, it could see the
	// records enqueued with it uncommitted, or work for a transaction that then rolls back.
	if memtx.InTransaction(ctx) {
		rec.State = StatePending
	}
	r.mu.Lock()
	r.jobs = append(r.jobs, rec)
	r.mu.Unlock()
	memtx.OnCommit(ctx, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if rec.State == StatePending {
			rec.State = StateAvailable
		}
	})
	memtx.OnRollback(ctx, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		for i, j := range r.jobs {
			if j == rec {
				r.jobs = append(r.jobs[:i], r.jobs[i+1:]...)
				return
			}
		}
	})
	return nil
}

var _ jobs.TenantCanceler = (*Runner)(nil)

// CancelTenant implements jobs.TenantCanceler: jobs pending, available or retryable whose
// arguments name tenant are removed.
func (r *Runner) CancelTenant(ctx context.Context, tenant string, keep ...string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	kept := r.jobs[:0]
	for _, j := range r.jobs {
		var a struct {
			TenantID string `json:"tenant_id"`
		}
		waiting := j.State == StatePending || j.State == StateAvailable || j.State == StateRetryable
		if waiting && !slices.Contains(keep, j.Kind) && json.Unmarshal(j.Args, &a) == nil && a.TenantID == tenant {
			n++
			continue
		}
		kept = append(kept, j)
	}
	r.jobs = kept
	return n, nil
}

// claim takes the oldest due job and marks it running.
func (r *Runner) claim(now time.Time) *Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, j := range r.jobs {
		if (j.State == StateAvailable || j.State == StateRetryable) && !j.ScheduledAt.After(now) {
			j.State = StateRunning
			j.Attempt++
			return j
		}
	}
	return nil
}

func (r *Runner) run(ctx context.Context, j *Record) {
	h, _ := r.reg.Handler(j.Kind)
	r.mu.Lock()
	job := j.Job
	r.mu.Unlock()
	err := safeCall(ctx, h, job)
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err == nil:
		j.State = StateCompleted
	case j.Attempt >= j.MaxAttempts:
		j.State = StateDiscarded
		j.Errors = append(j.Errors, err.Error())
	default:
		j.State = StateRetryable
		j.Errors = append(j.Errors, err.Error())
		j.ScheduledAt = r.opts.Clock.Now().Add(r.opts.Backoff(j.Attempt))
	}
}

func safeCall(ctx context.Context, h jobs.Handler, job jobs.Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("jobs: handler panicked: %v", p)
		}
	}()
	return h(ctx, job)
}

// enqueuePeriodic inserts the periodic jobs that are due and computes their next run.
func (r *Runner) enqueuePeriodic(ctx context.Context, now time.Time) {
	for _, p := range r.reg.Periodics() {
		r.mu.Lock()
		next, ok := r.next[p.Name]
		if !ok {
			next = p.Schedule.Next(now)
			r.next[p.Name] = next
		}
		due := !next.After(now)
		if due {
			r.next[p.Name] = p.Schedule.Next(now)
		}
		r.mu.Unlock()
		if due {
			_ = r.Enqueue(ctx, p.Kind, p.Args, nil)
		}
	}
}

// WorkAvailable runs, one at a time, every job that is due now (including periodic jobs that
// came due), until none is left; it returns how many runs it made. Tests and the
// in-memory `serve` loop use it; failed jobs are rescheduled in the future so the loop ends.
func (r *Runner) WorkAvailable(ctx context.Context) int {
	r.enqueuePeriodic(ctx, r.opts.Clock.Now())
	n := 0
	for ctx.Err() == nil {
		j := r.claim(r.opts.Clock.Now())
		if j == nil {
			break
		}
		r.run(ctx, j)
		n++
	}
	return n
}

// Start runs workers in the background until Stop or ctx ends.
func (r *Runner) Start(ctx context.Context) error {
	r.mu.Lock()
	if r.stop != nil {
		r.mu.Unlock()
		return eusaas.E(eusaas.FailedPrecondition, "jobs: runner already started")
	}
	r.stop = make(chan struct{})
	stop := r.stop
	r.mu.Unlock()
	sem := make(chan struct{}, r.opts.Workers)
	r.done.Add(1)
	go func() {
		defer r.done.Done()
		t := time.NewTicker(r.opts.PollInterval)
		defer t.Stop()
		for {
			now := r.opts.Clock.Now()
			r.enqueuePeriodic(ctx, now)
			for {
				select {
				case sem <- struct{}{}:
				case <-stop:
					return
				case <-ctx.Done():
					return
				}
				j := r.claim(r.opts.Clock.Now())
				if j == nil {
					<-sem
					break
				}
				r.done.Add(1)
				go func() {
					defer r.done.Done()
					defer func() { <-sem }()
					r.run(ctx, j)
				}()
			}
			select {
			case <-t.C:
			case <-stop:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return nil
}

// Stop stops fetching new jobs and waits for running ones (or ctx).
func (r *Runner) Stop(ctx context.Context) error {
	r.mu.Lock()
	if r.stop != nil {
		close(r.stop)
		r.stop = nil
	}
	r.mu.Unlock()
	done := make(chan struct{})
	go func() { r.done.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Jobs returns a snapshot of every job, oldest first.
func (r *Runner) Jobs() []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Record, 0, len(r.jobs))
	for _, j := range r.jobs {
		c := *j
		c.Errors = append([]string(nil), j.Errors...)
		out = append(out, c)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].ScheduledAt.Before(out[b].ScheduledAt) })
	return out
}
