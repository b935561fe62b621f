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
	auditLagDesc = prometheus.NewDesc("audit_uncheckpointed_entries",
		"Audit entries appended after their chain's latest signed checkpoint, over all chains (a checkpoint is due every 1,000 entries or minute).", nil, nil)
	auditLagAgeDesc = prometheus.NewDesc("audit_checkpoint_lag_seconds",
		"Seconds since the latest checkpoint of the chain that has waited longest with entries after it (0 when every chain is checkpointed).", nil, nil)
	gdprRequestsDesc = prometheus.NewDesc("gdpr_requests",
		"GDPR requests (exports, subject and tenant erasures) by kind and status.", []string{"kind", "status"}, nil)
	gdprDSRDesc = prometheus.NewDesc("gdpr_dsr_requests",
		"Data-subject requests by type and status.", []string{"type", "status"}, nil)
	jobsUpDesc = prometheus.NewDesc("jobs_queue_scrape_ok",
		"1 when the job table could be read for this scrape, 0 when the query failed or timed out.", nil, nil)
)

func (c *postgresCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolConnsDesc, poolMaxDesc, poolAcquiresDesc, poolEmptyDesc, poolCanceledDesc, poolWaitDesc, jobsDesc, jobStatesDesc, jobsAgeDesc, jobsUpDesc,
		auditLagDesc, auditLagAgeDesc, gdprRequestsDesc, gdprDSRDesc} {
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
	if err := c.collectDomain(ch); err != nil {
		// Those series are then missing from this scrape (absent() alerts on them), which
		// is not the job queue's health.
		c.log("metrics: reading the audit and GDPR tables", "error", err.Error())
	}
	ch <- prometheus.MustNewConstMetric(jobsUpDesc, prometheus.GaugeValue, ok)
}

// collectDomain reads the audit checkpoint lag and the GDPR request counts: facts of the
// shared database, so every replica reports the same values (dashboards take max()).
func (c *postgresCollector) collectDomain(ch chan<- prometheus.Metric) error {
	ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
	defer cancel()
	var lag int64
	var age float64
	if err := c.pool.QueryRow(ctx, `SELECT coalesce(sum(c.size - coalesce(k.size, 0)), 0)::bigint,
			coalesce(max(extract(epoch FROM now() - k.signed_at)), 0)::float8
		FROM eusaas.audit_chains c
		LEFT JOIN LATERAL (SELECT size, signed_at FROM eusaas.audit_checkpoints WHERE chain = c.chain ORDER BY size DESC LIMIT 1) k ON true
		WHERE c.size > coalesce(k.size, 0)`).Scan(&lag, &age); err != nil {
		return err
	}
	ch <- prometheus.MustNewConstMetric(auditLagDesc, prometheus.GaugeValue, float64(lag))
	ch <- prometheus.MustNewConstMetric(auditLagAgeDesc, prometheus.GaugeValue, age)
	for _, q := range []struct {
		desc  *prometheus.Desc
		sql   string
		zeros [][2]string
	}{
		{gdprRequestsDesc, `SELECT kind, status, count(*) FROM eusaas.gdpr_requests GROUP BY 1, 2`,
			[][2]string{{"EXPORT", "PENDING"}, {"SUBJECT_ERASURE", "PENDING"}, {"TENANT_ERASURE", "PENDING"}, {"TENANT_ERASURE", "COMPLETED"}, {"SUBJECT_ERASURE", "COMPLETED"}}},
		{gdprDSRDesc, `SELECT type, status, count(*) FROM eusaas.gdpr_dsrs GROUP BY 1, 2`,
			[][2]string{{"ACCESS", "RECEIVED"}, {"ERASURE", "RECEIVED"}}},
	} {
		rows, err := c.pool.Query(ctx, q.sql)
		if err != nil {
			return err
		}
		got := map[[2]string]float64{}
		for _, z := range q.zeros {
			got[z] = 0 // exported from the start, so the panels have series before the first request
		}
		for rows.Next() {
			var a, b string
			var n int64
			if err := rows.Scan(&a, &b, &n); err != nil {
				rows.Close()
				return err
			}
			got[[2]string{a, b}] = float64(n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for k, n := range got {
			ch <- prometheus.MustNewConstMetric(q.desc, prometheus.GaugeValue, n, k[0], k[1])
		}
	}
	return nil
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
