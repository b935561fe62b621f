// Package river implements the jobs port on River (riverqueue/river with the pgx/v5 driver):
// durable Postgres-backed jobs, inserted in the caller's transaction, retried with River's
// attempt^4 backoff and discarded (River's dead-letter state) after their attempts.
package river

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	rq "github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/trace"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/jobs"
)

// Options tunes the River queue.
type Options struct {
	// Schema holds River's tables; default the platform schema, so one backup holds jobs
	// and the records they work on.
	Schema string
	// Workers is the number of jobs worked concurrently by Start; default 4.
	Workers int
	Logger  *slog.Logger
	// FetchPollInterval is how often workers poll for jobs besides LISTEN/NOTIFY; default
	// River's (1s). Tests shorten it.
	FetchPollInterval time.Duration
	// PollOnly makes the workers find new jobs by polling (every FetchPollInterval) and
	// never LISTEN: behind a transaction-pooling PgBouncer a LISTEN lands on whichever
	// server connection the transaction got and its notifications never arrive.
	PollOnly bool
	// Backoff is the delay before the retry that follows failed attempt n; default River's
	// policy (attempt^4 seconds with jitter, as jobs.Backoff). Tests shorten it.
	Backoff func(attempt int) time.Duration
	// TracerProvider, when set, traces job inserts and work and carries the inserting
	// request's trace context into the job (its metadata), so a job's span joins the trace
	// of the request that enqueued it. Nil: no tracing and no metadata written.
	TracerProvider trace.TracerProvider
}

// retryPolicy applies Options.Backoff.
type retryPolicy struct {
	backoff func(attempt int) time.Duration
}

// NextRetry implements rq.ClientRetryPolicy. job.Attempt is the attempt that just failed.
func (p retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	// River falls back to its default policy for a time not after the failure, so a zero
	// backoff still moves forward by a little.
	return time.Now().Add(max(p.backoff(job.Attempt), time.Millisecond))
}

// Queue is a jobs.Queue on River. River fixes its workers and periodic jobs when its client
// is created, so the client is built on first use (Enqueue, Start or Client): modules may
// register handlers into the registry after New, as long as they do so before the queue is
// first used.
type Queue struct {
	pool *pgxpool.Pool
	reg  *jobs.Registry
	opts Options

	once    sync.Once
	client  *rq.Client[pgx.Tx]
	err     error
	started atomic.Bool
}

var _ jobs.Queue = (*Queue)(nil)

// args carries a job's kind and already-encoded arguments through River, which otherwise
// wants one Go type per kind.
type args struct {
	kind string
	raw  json.RawMessage
}

func (a args) Kind() string { return a.kind }

func (a args) MarshalJSON() ([]byte, error) {
	if len(a.raw) == 0 {
		return []byte("null"), nil
	}
	return a.raw, nil
}

func (a *args) UnmarshalJSON(b []byte) error {
	a.raw = append(a.raw[:0], b...)
	return nil
}

// worker adapts a jobs.Handler to River.
type worker struct {
	rq.WorkerDefaults[args]
	h jobs.Handler
}

func (w *worker) Work(ctx context.Context, j *rq.Job[args]) error {
	return w.h(ctx, jobs.Job{
		ID:          itoa(j.ID),
		Kind:        j.Kind,
		Args:        json.RawMessage(j.EncodedArgs),
		Attempt:     j.Attempt,
		MaxAttempts: j.MaxAttempts,
	})
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// New returns a queue over pool. It does not start working; call Start.
func New(pool *pgxpool.Pool, reg *jobs.Registry, opts Options) *Queue {
	return &Queue{pool: pool, reg: reg, opts: opts}
}

func (q *Queue) build() (*rq.Client[pgx.Tx], error) {
	q.once.Do(func() { q.client, q.err = newClient(q.pool, q.reg, q.opts) })
	return q.client, q.err
}

func newClient(pool *pgxpool.Pool, reg *jobs.Registry, opts Options) (*rq.Client[pgx.Tx], error) {
	if opts.Schema == "" {
		opts.Schema = postgres.PlatformSchema
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	workers := rq.NewWorkers()
	for _, k := range reg.Kinds() {
		h, _ := reg.Handler(k)
		rq.AddWorkerArgs(workers, args{kind: k}, rq.Worker[args](&worker{h: h}))
	}
	var periodic []*rq.PeriodicJob
	for _, p := range reg.Periodics() {
		raw, err := json.Marshal(p.Args)
		if err != nil {
			return nil, eusaas.E(eusaas.InvalidArgument, "jobs: periodic arguments cannot be encoded").Wrap(err)
		}
		a := args{kind: p.Kind, raw: raw}
		periodic = append(periodic, rq.NewPeriodicJob(p.Schedule,
			func() (rq.JobArgs, *rq.InsertOpts) { return a, nil },
			&rq.PeriodicJobOpts{ID: p.Name}))
	}
	cfg := &rq.Config{
		Schema:            opts.Schema,
		Logger:            opts.Logger,
		MaxAttempts:       jobs.DefaultMaxAttempts,
		PeriodicJobs:      periodic,
		Workers:           workers,
		FetchPollInterval: opts.FetchPollInterval,
		PollOnly:          opts.PollOnly,
		Queues:            map[string]rq.QueueConfig{rq.QueueDefault: {MaxWorkers: opts.Workers}},
	}
	if opts.TracerProvider != nil {
		cfg.Middleware = []rivertype.Middleware{newTracing(opts.TracerProvider)}
	}
	if opts.Backoff != nil {
		cfg.RetryPolicy = retryPolicy{backoff: opts.Backoff}
	}
	c, err := rq.NewClient(riverpgxv5.New(pool), cfg)
	if err != nil {
		return nil, eusaas.E(eusaas.Internal, "jobs: cannot configure river").Wrap(err)
	}
	return c, nil
}

// Enqueue implements jobs.Queue: inside the postgres adapter's transaction (postgres.Tx) the
// job is inserted with InsertTx, so it commits or rolls back with the caller's records.
func (q *Queue) Enqueue(ctx context.Context, kind string, a any, opts *jobs.EnqueueOpts) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, ok := q.reg.Handler(kind); !ok {
		return eusaas.Errorf(eusaas.InvalidArgument, "jobs: no handler for kind %q", kind)
	}
	raw, err := json.Marshal(a)
	if err != nil {
		return eusaas.E(eusaas.InvalidArgument, "jobs: arguments cannot be encoded").Wrap(err)
	}
	var io *rq.InsertOpts
	if opts != nil {
		io = &rq.InsertOpts{MaxAttempts: opts.MaxAttempts, ScheduledAt: opts.ScheduledAt}
	}
	c, err := q.build()
	if err != nil {
		return err
	}
	if tx, ok := postgres.Tx(ctx); ok {
		_, err = c.InsertTx(ctx, tx, args{kind: kind, raw: raw}, io)
	} else {
		_, err = c.Insert(ctx, args{kind: kind, raw: raw}, io)
	}
	return postgres.Translate(err)
}

var _ jobs.TenantCanceler = (*Queue)(nil)

// CancelTenant implements jobs.TenantCanceler: it deletes the tenant's jobs that wait
// (available, scheduled, retryable, pending), in the caller's transaction when ctx carries
// one. A running job is left to finish (its handler finds the tenant gone).
func (q *Queue) CancelTenant(ctx context.Context, tenant string, keep ...string) (int, error) {
	schema := q.opts.Schema
	if schema == "" {
		schema = postgres.PlatformSchema
	}
	del := `DELETE FROM ` + pgx.Identifier{schema, "river_job"}.Sanitize() + ` WHERE state IN ('available', 'scheduled', 'retryable', 'pending')
		AND args->>'tenant_id' = $1 AND NOT (kind = ANY($2))`
	if keep == nil {
		keep = []string{}
	}
	var (
		tag pgconn.CommandTag
		err error
	)
	if tx, ok := postgres.Tx(ctx); ok {
		tag, err = tx.Exec(ctx, del, tenant, keep)
	} else {
		tag, err = q.pool.Exec(ctx, del, tenant, keep)
	}
	if err != nil {
		return 0, postgres.Translate(err)
	}
	return int(tag.RowsAffected()), nil
}

// Start works jobs and runs the periodic scheduler (on the elected leader) until Stop.
func (q *Queue) Start(ctx context.Context) error {
	c, err := q.build()
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return err
	}
	q.started.Store(true)
	return nil
}

// Stop waits for running jobs to finish (or ctx to end). Stopping a queue never started is
// a no-op.
func (q *Queue) Stop(ctx context.Context) error {
	if !q.started.Load() {
		return nil
	}
	return q.client.Stop(ctx)
}

// Client exposes the River client (job listing for operators and tests).
func (q *Queue) Client() (*rq.Client[pgx.Tx], error) { return q.build() }

// Migrate applies River's own migrations in schema (default the platform schema). It is
// what `eusaas migrate` runs after the platform migrations.
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	_, err := MigrateApplied(ctx, pool, schema)
	return err
}

// MigrateApplied is Migrate returning the River migration versions it applied (none when
// up to date). The schema is created local to a Citus coordinator (postgres.CreateLocalSchema):
// River's migrations are multi-statement strings a distributed schema would refuse.
func MigrateApplied(ctx context.Context, pool *pgxpool.Pool, schema string) ([]int, error) {
	if schema == "" {
		schema = postgres.PlatformSchema
	}
	if err := postgres.New(pool).CreateLocalSchema(ctx, schema); err != nil {
		return nil, err
	}
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: schema, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return nil, err
	}
	var applied []int
	for _, v := range res.Versions {
		applied = append(applied, v.Version)
	}
	return applied, nil
}
