package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eusaas/eusaas/billing"
)

// domainMetrics are the counters the modules feed through their observe hooks (billing
// issue, job runs): counted where the work happens, in whichever process does it, so a
// worker's /metrics carries its jobs and a replica's its invoices.
type domainMetrics struct {
	jobRuns     *prometheus.CounterVec
	jobDuration *prometheus.HistogramVec
	issued      *prometheus.CounterVec
	issuedEuros *prometheus.CounterVec
	auditAppend *prometheus.HistogramVec
}

func newDomainMetrics() *domainMetrics {
	m := &domainMetrics{
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jobs_runs_total",
			Help: "Background job runs by kind and result (ok, or error: the job is retried until its attempts are used up, then discarded)."},
			[]string{"kind", "result"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "jobs_run_duration_seconds",
			Help:    "Duration of background job runs by kind.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}},
			[]string{"kind"}),
		issued: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "billing_documents_issued_total",
			Help: "Invoices and credit notes issued, by kind (INVOICE, CREDIT_NOTE)."},
			[]string{"kind"}),
		issuedEuros: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "billing_documents_issued_euros_total",
			Help: "Gross amount (VAT included) of the invoices and credit notes issued, by kind, in EUR. A monitoring figure: the invoices hold the exact amounts."},
			[]string{"kind"}),
		auditAppend: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "audit_append_duration_seconds",
			Help:    "Time until an audit entry was durable (group commit wait included), by result (ok, error).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}},
			[]string{"result"}),
	}
	for _, k := range []billing.DocumentKind{billing.KindInvoice, billing.KindCreditNote} {
		// Exported as 0 from the start, so rates exist before the first invoice.
		m.issued.WithLabelValues(string(k))
		m.issuedEuros.WithLabelValues(string(k))
	}
	return m
}

func (m *domainMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.jobRuns, m.jobDuration, m.issued, m.issuedEuros, m.auditAppend}
}

// observeAudit is the audit log's ObserveAppend hook.
func (m *domainMetrics) observeAudit(took time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.auditAppend.WithLabelValues(result).Observe(took.Seconds())
}

// observeJob is the jobs.Registry observer.
func (m *domainMetrics) observeJob(kind string, _ int, took time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.jobRuns.WithLabelValues(kind, result).Inc()
	m.jobDuration.WithLabelValues(kind).Observe(took.Seconds())
}

// observeIssued is billing's ObserveIssued hook.
func (m *domainMetrics) observeIssued(inv billing.Invoice) {
	kind := string(inv.Kind)
	if kind == "" {
		kind = string(billing.KindInvoice)
	}
	m.issued.WithLabelValues(kind).Inc()
	m.issuedEuros.WithLabelValues(kind).Add(inv.Total.Abs().InexactFloat64())
}
