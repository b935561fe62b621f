package main

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// registerPostgresMetrics exports the connection pool's use and the job queue (Postgres mode;
// issue 16): the two things an operator sizing replicas, workers and PgBouncer looks at
// first, and what the Postgres and jobs dashboards and alerts read.
func (a *App) registerPostgresMetrics(ctx context.Context) error {
	db := a.stores.db
	if db == nil {
		return nil
	}
	return a.registry.Register(&postgresCollector{ctx: context.WithoutCancel(ctx), pool: db.Pool, log: a.log.Warn})
}

// postgresCollector reads pgxpool's counters and, at each scrape, the job table's depth by
// state and kind. The job query is one index-only GROUP BY over jobs that are not completed
// (River deletes completed jobs after a day), bounded by a short timeout so a slow database
// never stalls the scrape.
type postgresCollector struct {
	ctx  context.Context
	pool *pgxpool.Pool
	log  func(msg string, args ...any)
}

var (
	poolConnsDesc = prometheus.NewDesc("pgxpool_connections",
		"Connections of this process's Postgres pool by state (acquired: in use; idle; constructing).", []string{"state"}, nil)
	poolMaxDesc = prometheus.NewDesc("pgxpool_max_connections",
		"Size limit of this process's Postgres pool (APP_POSTGRES_MAX_CONNS).", nil, nil)
	poolAcquiresDesc = prometheus.NewDesc("pgxpool_acquires_total",
		"Connections handed out by the pool.", nil, nil)
	poolEmptyDesc = prometheus.NewDesc("pgxpool_empty_acquires_total",
		"Acquires that had to wait because no idle connection was free (rising: the pool is too small).", nil, nil)
	poolCanceledDesc = prometheus.NewDesc("pgxpool_canceled_acquires_total",
		"Acquires given up because the request's context ended first.", nil, nil)
	poolWaitDesc = prometheus.NewDesc("pgxpool_acquire_wait_seconds_total",
		"Time spent waiting for a connection in total (its rate over the acquire rate is the mean wait).", nil, nil)
	jobsDesc = prometheus.NewDesc("jobs_queued",
		"Background jobs not completed, by state (available, scheduled, running, retryable, discarded, cancelled) and kind.",
		[]string{"state", "kind"}, nil)
	jobStatesDesc = prometheus.NewDesc("jobs_in_state",
		"Background jobs not completed, by state only; every state is reported, 0 included, so an empty queue still has series.",
		[]string{"state"}, nil)
	jobsAgeDesc = prometheus.NewDesc("jobs_oldest_available_age_seconds",
		"Age of the oldest job waiting for a worker (0 when none waits): how far the workers are behind.", nil, nil)
	jobsUpDesc = prometheus.NewDesc("jobs_queue_scrape_ok",
		"1 when the job table could be read for this scrape, 0 when the query failed or timed out.", nil, nil)
)

func (c *postgresCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolConnsDesc, poolMaxDesc, poolAcquiresDesc, poolEmptyDesc, poolCanceledDesc, poolWaitDesc, jobsDesc, jobStatesDesc, jobsAgeDesc, jobsUpDesc} {
		ch <- d
	}
}

func (c *postgresCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	ch <- prometheus.MustNewConstMetric(poolConnsDesc, prometheus.GaugeValue, float64(s.AcquiredConns()), "acquired")
	ch <- prometheus.MustNewConstMetric(poolConnsDesc, prometheus.GaugeValue, float64(s.IdleConns()), "idle")
	ch <- prometheus.MustNewConstMetric(poolConnsDesc, prometheus.GaugeValue, float64(s.ConstructingConns()), "constructing")
	ch <- prometheus.MustNewConstMetric(poolMaxDesc, prometheus.GaugeValue, float64(s.MaxConns()))
	ch <- prometheus.MustNewConstMetric(poolAcquiresDesc, prometheus.CounterValue, float64(s.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolEmptyDesc, prometheus.CounterValue, float64(s.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolCanceledDesc, prometheus.CounterValue, float64(s.CanceledAcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolWaitDesc, prometheus.CounterValue, s.EmptyAcquireWaitTime().Seconds())

	ok := 1.0
	if err := c.collectJobs(ch); err != nil {
		ok = 0
		c.log("metrics: reading the job queue", "error", err.Error())
	}
	ch <- prometheus.MustNewConstMetric(jobsUpDesc, prometheus.GaugeValue, ok)
}

func (c *postgresCollector) collectJobs(ch chan<- prometheus.Metric) error {
	ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
	defer cancel()
	rows, err := c.pool.Query(ctx, `SELECT state::text, kind, count(*),
			coalesce(extract(epoch FROM now() - min(scheduled_at) FILTER (WHERE state = 'available')), 0)
		FROM eusaas.river_job WHERE state <> 'completed' GROUP BY 1, 2`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var oldest float64
	// River's states but completed (those are counted out of the query).
	byState := map[string]float64{"available": 0, "scheduled": 0, "running": 0, "retryable": 0, "discarded": 0, "cancelled": 0, "pending": 0}
	for rows.Next() {
		var state, kind string
		var n int64
		var age float64
		if err := rows.Scan(&state, &kind, &n, &age); err != nil {
			return err
		}
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(n), state, kind)
		byState[state] += float64(n)
		oldest = max(oldest, age)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for state, n := range byState {
		ch <- prometheus.MustNewConstMetric(jobStatesDesc, prometheus.GaugeValue, n, state)
	}
	ch <- prometheus.MustNewConstMetric(jobsAgeDesc, prometheus.GaugeValue, oldest)
	return nil
}
