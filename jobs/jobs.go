// Package jobs is the background job port: enqueue work (in the caller's transaction when
// its context carries one), register handlers by kind, and declare periodic schedules.
//
// It holds only types. The adapters are adapters/river (Postgres, durable, River) and
// jobs/memjobs (in-process runner for the in-memory mode). Domain packages depend on
// Queue alone; cmd/eusaas builds one Registry, lets every module register its handlers and
// schedules into it, and hands it to the adapter.
package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Queue enqueues background work.
//
// Enqueue records a job of the given kind whose arguments are args encoded as JSON. When ctx
// carries a transaction of the same adapter family (the Postgres adapter's transaction for
// River, a memtx transaction for jobs/memjobs), the job is inserted inside that
// transaction: it exists if and only if the transaction commits. Errors: InvalidArgument when
// args cannot be encoded or the kind has no handler registered; Unavailable when the
// backend cannot be reached.
type Queue interface {
	Enqueue(ctx context.Context, kind string, args any, opts *EnqueueOpts) error
}

// TenantCanceler is an optional extension of Queue. CancelTenant deletes the jobs of a
// tenant that have not started — those whose arguments hold a top-level "tenant_id" equal
// to tenant — except jobs of the kinds in keep, and returns how many it deleted. A tenant's
// erasure uses it so that no queued work touches the tenant after its data is gone.
type TenantCanceler interface {
	CancelTenant(ctx context.Context, tenant string, keep ...string) (int, error)
}

// EnqueueOpts tunes one job. The zero value means: run now, default attempts.
type EnqueueOpts struct {
	// MaxAttempts is how many times the job runs before it is discarded (the dead-letter
	// state). 0 takes the adapter's default (DefaultMaxAttempts).
	MaxAttempts int
	// ScheduledAt delays the first run.
	ScheduledAt time.Time
}

// DefaultMaxAttempts is the number of attempts of a job whose options do not say.
const DefaultMaxAttempts = 10

// Job is one job as a handler sees it.
type Job struct {
	ID          string
	Kind        string
	Args        json.RawMessage
	Attempt     int // 1 on the first run
	MaxAttempts int
}

// Decode unmarshals the job's arguments into v.
func (j Job) Decode(v any) error {
	if len(j.Args) == 0 {
		return nil
	}
	return json.Unmarshal(j.Args, v)
}

// Handler works one job. A nil error completes it; an error schedules a retry with
// exponential backoff until the job's attempts are exhausted, then the job is discarded
// (kept for inspection, never run again). Handlers must be idempotent: a job may run more
// than once (a crash after the work but before completion is recorded).
type Handler func(ctx context.Context, job Job) error

// Schedule tells when a periodic job runs next. It has the shape of River's
// PeriodicSchedule, so adapters pass it through unchanged.
type Schedule interface {
	Next(after time.Time) time.Time
}

// Periodic is a job enqueued on a schedule.
type Periodic struct {
	Name     string // unique among periodic jobs, e.g. "gdpr.retention"
	Kind     string
	Args     any
	Schedule Schedule
}

// Registry collects handlers and periodic schedules before an adapter starts. It is plain
// data built by cmd wiring (no global registration).
type Registry struct {
	handlers map[string]Handler
	periodic []Periodic
	observe  func(kind string, attempt int, took time.Duration, err error)
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{handlers: map[string]Handler{}} }

// Handle registers the handler of a kind. It panics on a duplicate or empty kind: that is a
// wiring bug found at start-up.
func (r *Registry) Handle(kind string, h Handler) {
	if kind == "" || h == nil {
		panic("jobs: Handle needs a kind and a handler")
	}
	if _, dup := r.handlers[kind]; dup {
		panic(fmt.Sprintf("jobs: handler for %q registered twice", kind))
	}
	r.handlers[kind] = h
}

// Every adds a periodic job. It panics on a duplicate name or a kind with no handler yet
// (register handlers first).
func (r *Registry) Every(p Periodic) {
	if p.Name == "" || p.Schedule == nil {
		panic("jobs: a periodic job needs a name and a schedule")
	}
	if _, ok := r.handlers[p.Kind]; !ok {
		panic(fmt.Sprintf("jobs: periodic %q: no handler for kind %q", p.Name, p.Kind))
	}
	for _, q := range r.periodic {
		if q.Name == p.Name {
			panic(fmt.Sprintf("jobs: periodic %q registered twice", p.Name))
		}
	}
	r.periodic = append(r.periodic, p)
}

// Handler returns the handler of kind.
func (r *Registry) Handler(kind string) (Handler, bool) {
	h, ok := r.handlers[kind]
	if !ok || r.observe == nil {
		return h, ok
	}
	obs := r.observe
	return func(ctx context.Context, j Job) error {
		start := time.Now()
		err := h(ctx, j)
		obs(kind, j.Attempt, time.Since(start), err)
		return err
	}, true
}

// Observe makes every handler the registry hands out report each run: its kind, attempt,
// duration and result (for job metrics). Whichever adapter works the jobs — River, the
// in-process runner, an embedder's own — reports the same way, because they all take their
// handlers from Handler. Set it before the adapter starts; fn must not block.
func (r *Registry) Observe(fn func(kind string, attempt int, took time.Duration, err error)) {
	r.observe = fn
}

// Kinds returns the registered kinds, sorted.
func (r *Registry) Kinds() []string {
	out := make([]string, 0, len(r.handlers))
	for k := range r.handlers {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Periodics returns the periodic jobs in registration order.
func (r *Registry) Periodics() []Periodic { return append([]Periodic(nil), r.periodic...) }

// Interval runs every d.
type Interval time.Duration

// Next implements Schedule.
func (i Interval) Next(after time.Time) time.Time { return after.Add(time.Duration(i)) }

// Daily runs once a day at the given UTC time of day.
type Daily struct{ Hour, Minute int }

// Next implements Schedule.
func (d Daily) Next(after time.Time) time.Time {
	a := after.UTC()
	t := time.Date(a.Year(), a.Month(), a.Day(), d.Hour, d.Minute, 0, 0, time.UTC)
	if !t.After(a) {
		t = t.AddDate(0, 0, 1)
	}
	return t
}

// Monthly runs once a month on the given day (1..28, so every month has it) at the given UTC
// hour.
type Monthly struct{ Day, Hour int }

// Next implements Schedule.
func (m Monthly) Next(after time.Time) time.Time {
	a := after.UTC()
	day := min(max(m.Day, 1), 28)
	t := time.Date(a.Year(), a.Month(), day, m.Hour, 0, 0, 0, time.UTC)
	if !t.After(a) {
		t = time.Date(a.Year(), a.Month()+1, day, m.Hour, 0, 0, 0, time.UTC)
	}
	return t
}

// Backoff is the delay before retry number attempt+1 after attempt failed runs: attempt^4
// seconds (River's default policy), so memory and River behave alike.
func Backoff(attempt int) time.Duration {
	a := time.Duration(max(attempt, 1))
	return a * a * a * a * time.Second
}
