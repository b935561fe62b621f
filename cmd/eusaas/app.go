package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/adapters/memory"
	"github.com/eusaas/eusaas/adapters/postgres"
)

// App is the wired platform: stores chosen by mode, the module services built on them, and
// the HTTP server. Each module's wiring lives in wire_<module>.go.
type App struct {
	cfg Config
	log *slog.Logger

	// Exactly one of db (Postgres mode) or memTx (memory mode) is set.
	db    *postgres.DB
	memTx *memory.TxRunner
	rdb   *redis.Client // Postgres mode only

	tx     eusaas.TxRunner
	health []httpapi.HealthCheck
	server *httpapi.Server

	anomaly *anomalyModule // wire_anomaly.go; nil until wired

	closers []func()
}

// Memory reports whether the app runs on the in-memory adapters.
func (a *App) Memory() bool { return a.db == nil }

// NewApp opens the stores for the configured mode and wires every module.
func NewApp(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
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
		a.memTx = memory.NewTxRunner()
		a.tx = a.memTx
		return nil
	}
	db, err := postgres.Open(ctx, a.cfg.Postgres.URL())
	if err != nil {
		return fmt.Errorf("postgres at %s:%d: %w", a.cfg.Postgres.Host, a.cfg.Postgres.Port, err)
	}
	a.db = db
	a.tx = db
	a.closers = append(a.closers, db.Close)
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

// wire builds the module services, then the server with their ports, then the routes.
func (a *App) wire(ctx context.Context) error {
	a.server = httpapi.New(httpapi.Options{
		Version: Version(),
		Logger:  a.log,
		Health:  a.health,
	})
	return nil
}

// Close releases the stores, newest first.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// serve runs the HTTP server until ctx is canceled, then drains in-flight requests for at
// most 10 s.
func (m *Main) serve(ctx context.Context, args []string) error {
	cfg, err := LoadConfig(m.Getenv)
	if err != nil {
		return err
	}
	log := m.logger(cfg.LogLevel)
	app, err := NewApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer app.Close()

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
