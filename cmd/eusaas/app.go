package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/adapters/metering"
	"github.com/eusaas/eusaas/adapters/oidc"
	"github.com/eusaas/eusaas/adapters/pdf"
	"github.com/eusaas/eusaas/adapters/smtpmail"
	"github.com/eusaas/eusaas/adapters/syslog"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/auth/memauth"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/vies"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/jobs"
	"github.com/eusaas/eusaas/platform"
)

// App is the reference server, read top to bottom: configuration (config.go, complete before
// anything connects) -> the store set of the mode (stores.go, the one memory-or-Postgres
// choice) -> the wired modules (package platform) -> the HTTP server with every route
// (routes.go) and the meters beside it.
type App struct {
	cfg      Config
	log      *slog.Logger
	stores   *storeSet
	platform *platform.Platform
	server   *httpapi.Server
	registry *prometheus.Registry
	// ingested counts usage events by result (usage_events_total), from billing's Observe.
	ingested *prometheus.CounterVec
	outbox   *memauth.Outbox // memory mode's mails (nil with APP_SMTP_URL)
	// domain counts job runs and issued invoices (metrics_domain.go).
	domain *domainMetrics
	// tracer exports spans over OTLP (TracingConfig); nil when tracing is off.
	tracer trace.TracerProvider

	// background are the periodic loops (meters) that run beside the job workers: in serve
	// with in-process jobs, or in worker.
	background []func(ctx context.Context)

	closers []func()
}

// Memory reports whether the app runs on the in-memory adapters.
func (a *App) Memory() bool { return a.stores.memory }

// Jobs is the job registry every module registered into.
func (a *App) Jobs() *jobs.Registry { return a.stores.Jobs }

// Intervals of the billing background loops.
const billingAPIFlushEvery = time.Minute

// NewApp opens the stores for the configured mode and wires every module.
func NewApp(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	if cfg.Notice == nil {
		cfg.Notice = os.Stderr
	}
	a := &App{cfg: cfg, log: log}
	if err := a.build(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) build(ctx context.Context) error {
	memory := a.cfg.Postgres == nil
	// Keys first: a missing or malformed key is a configuration error, reported before any
	// connection is made.
	keys, err := authKeys(a.cfg, memory, a.log)
	if err != nil {
		return err
	}
	auditKey, err := auditSigner(a.cfg.Audit, memory, a.log)
	if err != nil {
		return err
	}
	gdprKey, err := gdprSigner(a.cfg.GDPR, memory, a.log)
	if err != nil {
		return err
	}
	if !memory && a.cfg.GDPR.KEK == nil {
		return errNoKEK
	}
	warnPublicURL(a.cfg.GDPR, memory, a.log)
	var auditPub ed25519.PublicKey
	if auditKey != nil {
		auditPub = auditKey.Public().(ed25519.PublicKey)
	}
	if a.cfg.Tracing.Enabled() {
		tp, err := newTracerProvider(ctx, a.cfg.Tracing)
		if err != nil {
			return err
		}
		// Appended first, so it runs last on Close: the spans of the shutdown itself flush.
		a.closers = append(a.closers, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := tp.Shutdown(ctx); err != nil {
				a.log.Warn("tracing: spans not flushed at shutdown", "error", err)
			}
		})
		a.tracer = tp
	}
	if a.stores, err = openStores(ctx, a.cfg, auditPub, a.log, a.tracer); err != nil {
		return err
	}
	a.closers = append(a.closers, a.stores.Close)
	// Before any adapter takes its handlers from the registry (River builds its workers once).
	a.domain = newDomainMetrics()
	a.stores.Jobs.Observe(a.domain.observeJob)

	mailer, err := a.mailer()
	if err != nil {
		return err
	}
	a.ingested = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "usage_events_total",
		Help: "Usage events ingested, by result: accepted, duplicate (id seen before) or rejected (invalid, too late, in the future)."},
		[]string{"result"})
	for _, r := range []string{"accepted", "duplicate", "rejected"} {
		a.ingested.WithLabelValues(r) // exported as 0 from the start, so rates exist before the first event
	}
	a.platform, err = platform.New(ctx, a.stores.Stores, platform.Config{
		Logger:    a.log,
		Auth:      authConfig(a.cfg),
		AuthKeys:  keys,
		OIDC:      oidc.New(nil),
		Mailer:    mailer,
		PublicURL: a.cfg.GDPR.PublicURL,
		Audit: audit.Options{Signer: auditKey, PreviousKeys: a.cfg.Audit.PreviousKeys, ObserveAppend: a.domain.observeAudit,
			CheckpointEvery: a.cfg.Audit.CheckpointEvery, CheckpointInterval: a.cfg.Audit.CheckpointEach},
		GDPR: gdpr.Options{SigningKey: gdprKey, BaseURL: a.cfg.GDPR.PublicURL, SubProcessors: a.cfg.GDPR.SubProcessors,
			Checkpoint: a.cfg.GDPR.testPause(a.log)},
		Notifier: a.cfg.Webhook.notifier(a.log),
		Billing: billing.Options{UnverifiedPolicy: a.cfg.VATUnverifiedPolicy, BelowOSSThreshold: a.cfg.VATBelowOSSThreshold,
			Observe: a.observeIngest, ObserveIssued: a.domain.observeIssued},
		VIES: vies.New(a.cfg.VIESURL),
		// Beside UBL and CII, every issued invoice and credit note is stored as a PDF too.
		Renderers: []billing.Renderer{pdf.Renderer{}},
		// Schema DDL off the request path: POST /tenants answers PROVISIONING, a job
		// provisions (issue 19: it was the load mix's p99).
		AsyncProvisioning: true,
	})
	if err != nil {
		return err
	}
	p := a.platform
	// Every worker process sweeps: an export or erasure whose process died is taken over
	// within the lease TTL plus one interval of the first process up.
	a.background = append(a.background, a.sweepGDPR)
	if a.stores.citus != nil {
		// Placements (at provisioning, on region moves) are audited on the tenant's chain.
		a.stores.citus.SetRecorder(p.Audit)
	}
	// The audit log checkpoints in the background; its last checkpoint is made on Close,
	// after everything that records has stopped (closers run newest first).
	a.closers = append(a.closers, p.Close)
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	if memory {
		go func() {
			defer close(done)
			_ = p.Run(runCtx)
		}()
	} else {
		// Several processes share the database: the periodic checkpoint is one queued job
		// per interval (the queue's leader schedules it, one worker runs it) over every
		// chain in the store, not a timer in each process seeing only the chains it wrote.
		close(done)
		a.stores.Jobs.Handle(auditCheckpointJob, func(ctx context.Context, _ jobs.Job) error {
			_, err := p.Audit.CheckpointStored(ctx)
			return err
		})
		a.stores.Jobs.Every(jobs.Periodic{Name: auditCheckpointJob, Kind: auditCheckpointJob, Schedule: jobs.Interval(a.cfg.Audit.CheckpointEach)})
	}
	a.closers = append(a.closers, func() { cancel(); <-done })
	if err := a.startAuditExport(runCtx); err != nil {
		return err
	}

	if err := bootstrapOperator(ctx, a.cfg, memory, p.Auth, a.stores.Operators, a.log, a.cfg.Notice); err != nil {
		return err
	}

	a.registry = prometheus.NewRegistry()
	a.registry.MustRegister(a.domain.collectors()...)
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), a.ingested,
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "eusaas_audit_forgeries_detected_total",
			Help: "Times an audit chain's stored state did not match what its writers signed (alert on any increase)."},
			func() float64 { return float64(p.Audit.ForgeriesDetected()) }))
	a.server = httpapi.New(httpapi.Options{
		Version:        Version(),
		Logger:         a.log,
		Health:         a.stores.health,
		Authenticator:  p.Auth,
		TenantGate:     p.Tenancy,
		RateLimiter:    platform.RateLimiter{Tenancy: p.Tenancy, Counter: a.stores.rate},
		Registry:       a.registry,
		TrustedProxies: a.cfg.TrustedProxies,
		TracerProvider: a.tracer,
	})
	registerRoutes(a.server, p)
	if err := a.mountConsole(); err != nil {
		return err
	}
	if err := a.setupSchemaPool(ctx); err != nil {
		return err
	}
	if err := a.registerMetrics(ctx); err != nil {
		return err
	}
	if err := a.registerPostgresMetrics(ctx); err != nil {
		return err
	}
	return a.startMeters(ctx)
}

// auditCheckpointJob and auditExportJob are the periodic job kinds of audit checkpointing
// and of the SIEM export in Postgres mode; auditExportLock is the export's advisory lock.
const (
	auditCheckpointJob = "audit.checkpoint"
	auditExportJob     = "audit.export"
	auditExportLock    = int64(0x6575_7361_6173_0001) // "eusaas" + 1
)

// exclusive runs fn unless another process holds the advisory lock key: the lock is taken
// transaction-scoped (safe behind a transaction-pooling PgBouncer, released however the
// process ends) and held, by the transaction, while fn runs on other connections. A run
// that finds the lock taken does nothing: the holder is doing the same work.
func exclusive(ctx context.Context, pool *pgxpool.Pool, key int64, fn func(context.Context) error) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var ok bool
	if err := tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock($1)", key).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return nil
	}
	return fn(ctx)
}

// startMeters counts API calls through the server's OnTenantRequest hook (flushed every
// minute), schedules the daily storage meter in Postgres mode, and, when APP_PROMETHEUS_URL
// is set, polls Prometheus beside the job workers.
func (a *App) startMeters(ctx context.Context) error {
	svc := a.platform.Billing
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	counter := metering.NewAPICounter(svc, nil, a.log)
	a.server.OnTenantRequest(counter.Hook)
	wg.Add(1)
	go func() { defer wg.Done(); counter.Run(bg, billingAPIFlushEvery) }()
	// Stopped (after a final flush) before the platform closes.
	a.closers = append(a.closers, func() { cancel(); wg.Wait() })

	if a.stores.sizer != nil {
		// A periodic job on the queue: in Postgres mode one replica runs each occurrence.
		m := metering.NewStorageMeter(svc, a.stores.sizer, a.platform.ActiveTenantIDs, nil, a.log)
		a.stores.Jobs.Handle("billing.storage", func(ctx context.Context, _ jobs.Job) error {
			_, err := m.Measure(ctx)
			return err
		})
		a.stores.Jobs.Every(jobs.Periodic{Name: "billing.storage", Kind: "billing.storage", Schedule: jobs.Daily{Hour: 0}})
	}
	if a.cfg.PrometheusURL != "" {
		pc, err := metering.NewPrometheusCollector(a.cfg.PrometheusURL, svc, metering.PrometheusOptions{Logger: a.log})
		if err != nil {
			return &ConfigError{"APP_PROMETHEUS_URL", "must be an http(s) URL"}
		}
		a.background = append(a.background, pc.Run)
		a.log.Info("billing: collecting CPU, MEMORY and NETWORK usage from Prometheus")
	}
	return nil
}

// observeIngest counts one ingestion's events by result.
func (a *App) observeIngest(r billing.IngestResult) {
	a.ingested.WithLabelValues("accepted").Add(float64(r.Accepted))
	a.ingested.WithLabelValues("duplicate").Add(float64(r.Duplicates))
	a.ingested.WithLabelValues("rejected").Add(float64(r.Rejected))
}

// registerMetrics adds the domain gauges to /metrics.
func (a *App) registerMetrics(ctx context.Context) error {
	svc := a.platform.GDPR
	// read bounds each scrape's store query; a failed read shows -1 (the alert rules treat
	// a negative value as "unknown", not as zero).
	read := func(fn func(ctx context.Context) (float64, error)) func() float64 {
		return func() float64 {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			n, err := fn(ctx)
			if err != nil {
				return -1
			}
			return n
		}
	}
	if err := a.registry.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "gdpr_requests_overdue",
		Help: "GDPR requests (exports, erasures) not fulfilled within one calendar month of receipt (Art. 12(3)).",
	}, read(func(ctx context.Context) (float64, error) {
		n, err := svc.Overdue(ctx)
		return float64(n), err
	}))); err != nil {
		return err
	}
	if err := a.registry.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "gdpr_breaches_notification_overdue",
		Help: "Personal data breaches in the register whose supervisory authority notification is not recorded 72 hours after detection (Art. 33(1)).",
	}, read(func(ctx context.Context) (float64, error) {
		n, err := svc.BreachesOverdue(ctx)
		return float64(n), err
	}))); err != nil {
		return err
	}
	for _, g := range []struct {
		name, help string
		overdue    bool
	}{
		{"gdpr_dsr_overdue", "Open data-subject requests past their deadline (one month, or three once extended; Art. 12(3)).", true},
		{"gdpr_dsr_due_soon", "Open data-subject requests not yet overdue whose deadline is within 7 days.", false},
	} {
		if err := a.registry.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: g.name, Help: g.help},
			read(func(ctx context.Context) (float64, error) {
				overdue, soon, err := svc.DSRDeadlines(ctx)
				if g.overdue {
					return float64(overdue), err
				}
				return float64(soon), err
			}))); err != nil {
			return err
		}
	}
	return nil
}

// Start runs the background job workers in process (unless APP_JOBS_IN_PROCESS=false).
func (a *App) Start(ctx context.Context) error {
	if !a.cfg.JobsInProcess {
		a.log.Info("job workers not started in this process (APP_JOBS_IN_PROCESS=false); run `eusaas worker`")
		return nil
	}
	return a.startJobs(ctx)
}

func (a *App) startJobs(ctx context.Context) error {
	if err := a.stores.jobs.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	if a.Memory() {
		// The in-process queue starts empty: requests stored before (none survive a restart
		// today) would be resumed here.
		if err := a.platform.GDPR.Resume(ctx); err != nil {
			return err
		}
	}
	a.runBackground(ctx)
	a.closers = append(a.closers, func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.stores.jobs.Stop(stopCtx); err != nil {
			a.log.Warn("stopping job workers", "error", err.Error())
		}
	})
	return nil
}

// runBackground starts the periodic loops; they stop when the App closes.
func (a *App) runBackground(ctx context.Context) {
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	for _, f := range a.background {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(bg)
		}()
	}
	a.closers = append(a.closers, func() { cancel(); wg.Wait() })
}

// sweepGDPR runs gdpr.Service.Sweep at once and every gdpr.DefaultSweepInterval until ctx
// ends.
func (a *App) sweepGDPR(ctx context.Context) {
	t := time.NewTicker(gdpr.DefaultSweepInterval)
	defer t.Stop()
	for {
		n, err := a.platform.GDPR.Sweep(ctx)
		if err != nil && ctx.Err() == nil {
			a.log.Warn("gdpr: sweeping interrupted requests", "error", err.Error())
		}
		if n > 0 {
			a.log.Info("gdpr: resumed interrupted requests", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close releases everything, newest first.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// serve runs the HTTP server until ctx is canceled, then drains in-flight requests for at
// most 10 s.
func (m *Main) serve(ctx context.Context) error {
	cfg, err := LoadConfig(m.Getenv)
	if err != nil {
		return err
	}
	cfg.Notice = m.Stdout
	log := m.logger(cfg.LogLevel)
	app, err := NewApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer app.Close()
	if err := app.Start(ctx); err != nil {
		return err
	}

	srv := &http.Server{
		Handler:           app.server.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (APP_HTTP_ADDR): %w", cfg.HTTPAddr, err)
	}
	log.Info("listening", "addr", ln.Addr().String(), "version", Version())
	if m.Ready != nil {
		m.Ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// worker runs only the background job workers (Postgres mode: River), until ctx ends.
func cmdWorker(ctx context.Context, m *Main) error {
	cfg, err := LoadConfig(m.Getenv)
	if err != nil {
		return err
	}
	if cfg.Postgres == nil {
		return &ConfigError{"APP_POSTGRES_HOST", "eusaas worker needs Postgres (in memory mode `serve` runs the jobs itself)"}
	}
	log := m.logger(cfg.LogLevel)
	app, err := NewApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer app.Close()
	if addr := m.Getenv("APP_WORKER_METRICS_ADDR"); addr != "" {
		_, stop, err := serveWorkerMetrics(addr, app, log)
		if err != nil {
			return &ConfigError{"APP_WORKER_METRICS_ADDR", "cannot listen: " + err.Error()}
		}
		defer stop()
	}
	app.runBackground(ctx)
	return runJobs(ctx, app.stores.jobs, log)
}

// serveWorkerMetrics serves the worker's /metrics (the same registry as serve's, so its job
// and domain metrics reach Prometheus) and /health/live on addr (APP_WORKER_METRICS_ADDR).
func serveWorkerMetrics(addr string, app *App, log *slog.Logger) (net.Addr, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(app.registry, promhttp.HandlerOpts{Registry: app.registry}))
	mux.HandleFunc("GET /health/live", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("worker metrics server stopped", "error", err.Error())
		}
	}()
	log.Info("worker metrics listening", "addr", ln.Addr().String())
	return ln.Addr(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// startAuditExport streams the audit log to the SIEM of APP_AUDIT_SYSLOG_URL in the
// background, from the exporter's cursor (so a restart resumes where it stopped).
func (a *App) startAuditExport(ctx context.Context) error {
	cfg := a.cfg.Audit
	if cfg.SyslogURL == "" {
		return nil
	}
	cursors, ok := a.stores.Audit.(audit.CursorStore)
	if !ok {
		return &ConfigError{"APP_AUDIT_SYSLOG_URL", "the audit store keeps no export cursors"}
	}
	sink, err := syslog.New(cfg.SyslogURL, nil)
	if err != nil {
		return &ConfigError{"APP_AUDIT_SYSLOG_URL", "must be tcp://host:port or tls://host:port"}
	}
	x := &audit.Exporter{Store: a.stores.Audit, Cursors: cursors, Sink: sink, Name: "syslog", Personal: cfg.SyslogPersonal, Logger: a.log}
	if a.stores.db != nil {
		// Several processes share the cursors: a timer in each would ship entries once per
		// process whenever two runs overlap. A periodic job instead (scheduled by the
		// queue's leader), run under a transaction-scoped advisory lock, so a slow run and
		// the next occurrence on another worker never ship the same batch twice.
		a.stores.Jobs.Handle(auditExportJob, func(ctx context.Context, _ jobs.Job) error {
			return exclusive(ctx, a.stores.db.Pool, auditExportLock, func(ctx context.Context) error {
				_, err := x.ExportOnce(ctx)
				return err
			})
		})
		a.stores.Jobs.Every(jobs.Periodic{Name: auditExportJob, Kind: auditExportJob, Schedule: jobs.Interval(5 * time.Second)})
		a.closers = append(a.closers, func() { _ = sink.Close() })
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = x.Run(ctx)
	}()
	a.closers = append(a.closers, func() { cancel(); <-done; _ = sink.Close() })
	return nil
}

// mailer is the SMTP adapter when APP_SMTP_URL is set, otherwise the memory outbox, which
// logs each mail with its token redacted (and which tests read through Outbox).
func (a *App) mailer() (auth.Mailer, error) {
	if a.cfg.SMTPURL == "" {
		a.outbox = memauth.NewOutbox(a.log)
		return a.outbox, nil
	}
	m, err := smtpmail.New(a.cfg.SMTPURL, smtpmail.Options{From: a.cfg.MailFrom})
	if err != nil {
		return nil, &ConfigError{"APP_SMTP_URL", "is not a usable SMTP URL"}
	}
	return m, nil
}

// Outbox is the memory outbox of mails, nil when APP_SMTP_URL is set.
func (a *App) Outbox() *memauth.Outbox { return a.outbox }
