package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/adapters/postgres"
	redisadapter "github.com/eusaas/eusaas/adapters/redis"
	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/jobs"
	"github.com/eusaas/eusaas/memtx"
	"github.com/eusaas/eusaas/tenancy"
	"github.com/eusaas/eusaas/tenancy/memtenancy"
)

// App is the wired platform: stores chosen by mode, the module services built on them, and
// the HTTP server. Each module's wiring lives in wire_<module>.go; wire below is the one
// place that decides the order and connects the modules' ports to each other.
type App struct {
	cfg Config
	log *slog.Logger

	// Exactly one of db (Postgres mode) or memTx (memory mode) is set.
	db    *postgres.DB
	memTx *memtx.TxRunner
	rdb   *redis.Client // Postgres mode only

	tx     eusaas.TxRunner
	health []httpapi.HealthCheck
	server *httpapi.Server
	jobs   *jobRuntime

	audit   *audit.Service
	tenancy *tenancy.Service
	auth    *auth.Service
	billing *billing.Service
	anomaly *anomalyModule // wire_anomaly.go
	gdpr    *gdpr.Service

	// memSources are the memory stores holding tenant data (memory mode): the wire functions
	// record them so gdpr exports and erases them.
	memSources []eusaas.DataSource
	// memRetainers are those stores' own retention, adapted to gdpr.Retainer (memory mode;
	// Postgres mode's generic tenant-table retention covers the same tables).
	memRetainers []gdpr.Retainer

	// background are the periodic loops (meters, maintenance) that run beside the job workers:
	// in serve with in-process jobs, or in worker.
	background []func(ctx context.Context)

	closers []func()
}

// Memory reports whether the app runs on the in-memory adapters.
func (a *App) Memory() bool { return a.db == nil }

// NewApp opens the stores for the configured mode and wires every module. In Postgres mode
// the schema must be migrated (`eusaas migrate`); in memory mode there is nothing to migrate.
func NewApp(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	if cfg.Env == nil {
		cfg.Env = func(string) string { return "" }
	}
	if cfg.Notice == nil {
		cfg.Notice = os.Stderr
	}
	a := &App{cfg: cfg, log: log}
	if err := a.openStores(ctx); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.wire(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) openStores(ctx context.Context) error {
	if a.cfg.Postgres == nil {
		a.log.Info("no APP_POSTGRES_* variable set: running on the in-memory adapters; all data is lost when the process exits")
		a.memTx = memtx.NewTxRunner()
		a.tx = a.memTx
		a.health = append(a.health, httpapi.HealthCheck{Name: "memory", Required: true, Check: func(context.Context) error { return nil }})
		return nil
	}
	db, err := postgres.Open(ctx, a.cfg.Postgres.URL())
	if err != nil {
		return fmt.Errorf("postgres at %s:%d: %w", a.cfg.Postgres.Host, a.cfg.Postgres.Port, err)
	}
	a.db = db
	a.tx = db
	a.closers = append(a.closers, db.Close)
	// Without this check an unmigrated database surfaces as "relation ... does not exist"
	// from whichever store is touched first.
	var migrated bool
	if err := db.Pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", postgres.PlatformSchema+".goose_db_version").Scan(&migrated); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if !migrated {
		return fmt.Errorf("the database %q has no eusaas schema yet: run `eusaas migrate` (and `eusaas migrate tenants` after upgrades) with the same APP_POSTGRES_* settings", a.cfg.Postgres.DB)
	}
	a.health = append(a.health, httpapi.HealthCheck{Name: "postgres", Required: true, Check: db.Pool.Ping})

	opt, err := redis.ParseURL(a.cfg.RedisURL)
	if err != nil {
		return &ConfigError{"APP_REDIS_URL", "cannot be parsed as a Redis URL"}
	}
	a.rdb = redis.NewClient(opt)
	a.closers = append(a.closers, func() { _ = a.rdb.Close() })
	a.health = append(a.health, httpapi.HealthCheck{Name: "redis", Required: true, Check: func(ctx context.Context) error {
		return a.rdb.Ping(ctx).Err()
	}})
	a.log.Info("running on PostgreSQL and Redis", "postgres_host", a.cfg.Postgres.Host, "postgres_db", a.cfg.Postgres.DB)
	return nil
}

// wire builds the modules in dependency order: audit (everyone records through it), the job
// runtime, tenancy and auth (each needs the other, so each gets a late-bound adapter), the
// HTTP server with auth as its Authenticator and tenancy as its TenantGate, then billing,
// anomaly and gdpr, whose erasure saga becomes tenancy's Deprovisioner.
func (a *App) wire(ctx context.Context) error {
	acfg, err := LoadAuditConfig(a.cfg.Env)
	if err != nil {
		return err
	}
	if a.audit, err = a.wireAudit(ctx, acfg); err != nil {
		return err
	}
	rec := eusaas.Recorder(a.audit)
	a.jobs = newJobRuntime(a.db, eusaas.SystemClock)

	if a.tenancy, err = a.wireTenancy(rec, appInvitations{a}); err != nil {
		return err
	}
	if a.auth, err = a.wireAuth(ctx, authTenantResolver(a.resolveTenant), rec, a.cfg.Notice); err != nil {
		return err
	}

	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	limiter := appRateLimiter{a: a}
	if a.rdb != nil {
		limiter.counter = redisadapter.NewRateCounter(a.rdb, a.cfg.RedisKeyPrefix)
	} else {
		limiter.counter = memtenancy.NewRateCounter(eusaas.SystemClock)
	}
	a.server = httpapi.New(httpapi.Options{
		Version:       Version(),
		Logger:        a.log,
		Health:        a.health,
		Authenticator: a.auth,
		TenantGate:    a.tenancy,
		RateLimiter:   limiter,
		Registry:      registry,
	})
	a.registerTenancyRoutes(a.tenancy)
	httpapi.RegisterAuth(a.server, a.auth)
	httpapi.RegisterAudit(a.server, a.audit)

	if a.billing, err = a.wireBilling(ctx, billingDeps{Recorder: rec, Thresholds: appThresholds{a}, Tenants: a.activeTenantIDs}); err != nil {
		return err
	}

	notifier, err := anomalyNotifier(a.cfg.Env, a.log)
	if err != nil {
		return err
	}
	if a.anomaly, err = a.wireAnomaly(AnomalyPorts{
		Series:    anomaly.SeriesSourceFunc(a.dailyCosts),
		Tenants:   anomalyTenants{a.tenancy},
		Projector: anomaly.ProjectorFunc(a.projectedTotal),
		Notifier:  notifier,
		Recorder:  rec,
	}); err != nil {
		return err
	}
	httpapi.RegisterAnomaly(a.server, a.anomaly.Service)

	gcfg, err := loadGDPRConfig(a.cfg.Env)
	if err != nil {
		return err
	}
	mods := gdprModules{Tenancy: a.tenancy, Memory: a.Memory(), Auth: a.auth, Audit: a.audit, Billing: a.billing}
	if a.rdb != nil {
		mods.Redis = redisadapter.NewTenantPurger(a.rdb, a.cfg.RedisKeyPrefix)
	}
	ports := gdprPortsFrom(mods, rec)
	if a.Memory() {
		ports.MemorySources = a.memSources
		ports.Retainers = append(ports.Retainers, a.memRetainers...)
	}
	if a.gdpr, err = wireGDPR(ctx, a, gcfg, a.jobs, registry, ports); err != nil {
		return err
	}
	a.tenancy.SetDeprovisioner(a.gdpr)
	httpapi.RegisterGDPR(a.server, a.gdpr)

	a.registerPeriodicJobs()
	return nil
}

// registerPeriodicJobs schedules the platform's recurring work on the job runtime (gdpr's
// own schedules are registered by wireGDPR): the daily anomaly scan and the monthly invoice
// run.
func (a *App) registerPeriodicJobs() {
	r := a.jobs.Registry
	r.Handle("anomaly.scan", func(ctx context.Context, _ jobs.Job) error {
		rep, err := a.anomaly.Scanner.ScanAll(ctx)
		if err != nil {
			return err
		}
		a.log.InfoContext(ctx, "anomaly scan done", "tenants", rep.Tenants, "created", rep.Created)
		return nil
	})
	r.Every(jobs.Periodic{Name: "anomaly.scan", Kind: "anomaly.scan", Schedule: jobs.Daily{Hour: 2}})

	r.Handle("billing.invoices", func(ctx context.Context, _ jobs.Job) error {
		return a.issueLastMonthInvoices(ctx)
	})
	r.Every(jobs.Periodic{Name: "billing.invoices", Kind: "billing.invoices", Schedule: jobs.Daily{Hour: 1}})

	a.registerTenancyJobs() // wire_tenancy.go
}

// issueLastMonthInvoices drafts and issues last month's invoice of every ACTIVE tenant. It
// runs daily so a missed day catches up; a month already issued is skipped
// (ErrAlreadyInvoiced), which makes the job idempotent.
func (a *App) issueLastMonthInvoices(ctx context.Context) error {
	ids, err := a.activeTenantIDs(ctx)
	if err != nil {
		return err
	}
	lastMonth := billing.MonthStart(time.Now().UTC()).AddDate(0, -1, 0)
	var errs []error
	for _, id := range ids {
		inv, err := a.billing.DraftInvoice(ctx, id, lastMonth)
		if errors.Is(err, billing.ErrAlreadyInvoiced) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: draft: %w", id, err))
			continue
		}
		if _, err := a.billing.Issue(ctx, id, inv.ID); err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: issue: %w", id, err))
		}
	}
	return errors.Join(errs...)
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
	if err := a.jobs.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	a.runBackground(ctx)
	a.closers = append(a.closers, func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.jobs.Stop(stopCtx); err != nil {
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

// Close releases everything, newest first.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// --- adapters between modules: each is the small interface one module declares, satisfied
// by another module's service. They live here because only cmd knows both sides.

// resolveTenant serves auth's TenantResolver from tenancy.
func (a *App) resolveTenant(ctx context.Context, idOrSlug string) (auth.TenantInfo, error) {
	t, err := a.tenancy.Resolve(ctx, idOrSlug)
	if err != nil {
		return auth.TenantInfo{}, err
	}
	return auth.TenantInfo{ID: t.ID, Status: string(t.Status), AllowSelfRegistration: t.Settings.AllowSelfRegistration,
		MaxUsers: t.Settings.MaxUsers}, nil
}

// appInvitations is tenancy's InvitationIssuer, bound late: auth is built after tenancy.
type appInvitations struct{ a *App }

func (i appInvitations) IssueOwnerInvitation(ctx context.Context, tenant eusaas.TenantID, email string) (string, time.Time, error) {
	if i.a.auth == nil {
		return "", time.Time{}, eusaas.E(eusaas.Unavailable, "auth is not wired yet")
	}
	return i.a.auth.IssueOwnerInvitation(ctx, tenant, email)
}

// activeTenantIDs lists the ACTIVE tenants' ids (billing meters, gdpr retention, invoice run).
func (a *App) activeTenantIDs(ctx context.Context) ([]eusaas.TenantID, error) {
	return activeTenantIDs(ctx, a.tenancy)
}

func activeTenantIDs(ctx context.Context, svc *tenancy.Service) ([]eusaas.TenantID, error) {
	ts, err := svc.ListActive(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]eusaas.TenantID, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	return ids, nil
}

// appRateLimiter is the server's RateLimiter: settings.api_rate_limit requests per minute per
// tenant, counted in Redis (shared by replicas) or in process.
type appRateLimiter struct {
	a       *App
	counter interface {
		Hit(ctx context.Context, tenant eusaas.TenantID, window time.Duration) (int64, time.Duration, error)
	}
}

func (l appRateLimiter) Allow(ctx context.Context, id eusaas.TenantID) (bool, time.Duration, error) {
	t, err := l.a.tenancy.Get(ctx, id)
	if err != nil {
		return false, 0, err
	}
	n, reset, err := l.counter.Hit(ctx, id, time.Minute)
	if err != nil {
		return false, 0, err
	}
	return n <= int64(t.Settings.APIRateLimit), reset, nil
}

// appThresholds is billing's ThresholdSource: the tenant's cost_alert_threshold setting.
type appThresholds struct{ a *App }

func (t appThresholds) CostAlertThreshold(ctx context.Context, id eusaas.TenantID) (decimal.Decimal, bool, error) {
	tn, err := t.a.tenancy.Get(ctx, id)
	if err != nil {
		return decimal.Decimal{}, false, err
	}
	// A zero threshold means no budget is set, not "alert on any spend".
	return tn.Settings.CostAlertThreshold, tn.Settings.CostAlertThreshold.IsPositive(), nil
}

// dailyCosts is anomaly's series source over billing's daily buckets.
func (a *App) dailyCosts(ctx context.Context, id eusaas.TenantID, from, to time.Time) ([]anomaly.DailyCost, error) {
	in, err := a.billing.DailyCosts(ctx, id, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]anomaly.DailyCost, len(in))
	for i, c := range in {
		out[i] = anomaly.DailyCost{Day: c.Day, Resource: c.Resource, Amount: c.Amount}
	}
	return out, nil
}

// projectedTotal is anomaly's budget projector over billing's month-end projection.
func (a *App) projectedTotal(ctx context.Context, id eusaas.TenantID, now time.Time) (decimal.Decimal, error) {
	p, err := a.billing.Projection(ctx, id, now)
	if err != nil {
		return decimal.Decimal{}, err
	}
	return p.ProjectedTotal, nil
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
	app.runBackground(ctx)
	return runJobs(ctx, app.jobs, log)
}
