package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eusaas/eusaas/adapters/archive"
	"github.com/eusaas/eusaas/adapters/file"
	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/adapters/metering"
	"github.com/eusaas/eusaas/adapters/postgres"
	redisadapter "github.com/eusaas/eusaas/adapters/redis"
	"github.com/eusaas/eusaas/adapters/river"
	"github.com/eusaas/eusaas/adapters/witness"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/jobs"
	"github.com/eusaas/eusaas/jobs/memjobs"
	"github.com/eusaas/eusaas/platform"
	"github.com/eusaas/eusaas/tenancy/memtenancy"
)

// storeSet is the one place that chooses between the in-memory adapters and PostgreSQL +
// Redis: the platform's stores plus what the server needs beside them.
type storeSet struct {
	platform.Stores
	memory bool
	db     *postgres.DB  // Postgres mode
	rdb    *redis.Client // Postgres mode
	rate   platform.RateCounter
	sizer  metering.SchemaSizer // Postgres mode: storage metering of tenant schemas
	// citus places tenant schemas on Citus nodes of their region (Postgres mode; inert
	// without the citus extension).
	citus *postgres.Citus
	// schemas creates tenant schemas and keeps the pool of spares (Postgres mode).
	schemas *postgres.TenantSchemas
	health  []httpapi.HealthCheck
	jobs    *jobRuntime
	// runner is the in-process job runner (memory mode), which tests drive step by step.
	runner *memjobs.Runner
	close  []func()
}

func (s *storeSet) Close() {
	for i := len(s.close) - 1; i >= 0; i-- {
		s.close[i]()
	}
	s.close = nil
}

// openStores builds the store set of the configured mode. In Postgres mode the schema must
// be migrated (`eusaas migrate`); in memory mode there is nothing to migrate.
func openStores(ctx context.Context, cfg Config, signer ed25519.PublicKey, log *slog.Logger) (*storeSet, error) {
	var s *storeSet
	var err error
	if cfg.Postgres == nil {
		s, err = memoryStores(cfg, log)
	} else {
		s, err = postgresStores(ctx, cfg, log)
	}
	if err != nil {
		return nil, err
	}
	if cfg.Audit.CheckpointDir != "" {
		sink, err := file.NewCheckpointSink(cfg.Audit.CheckpointDir)
		if err != nil {
			s.Close()
			return nil, &ConfigError{"APP_AUDIT_CHECKPOINT_DIR", "cannot create or open the directory"}
		}
		if signer != nil {
			if err := sink.WritePublicKey(signer); err != nil {
				s.Close()
				return nil, err
			}
		}
		s.Checkpoints = sink
	}
	if cfg.Audit.WitnessURL != "" {
		w, err := witness.NewClient(cfg.Audit.WitnessURL)
		if err != nil {
			s.Close()
			return nil, &ConfigError{"APP_AUDIT_WITNESS_URL", "must be an http or https URL"}
		}
		if s.Checkpoints != nil {
			s.Checkpoints = audit.Sinks{s.Checkpoints, w}
		} else {
			s.Checkpoints = w
		}
	}
	return s, nil
}

func memoryStores(cfg Config, log *slog.Logger) (*storeSet, error) {
	log.Info("no APP_POSTGRES_* variable set: running on the in-memory adapters; all data is lost when the process exits")
	ps, runner := platform.Memory(nil)
	s := &storeSet{Stores: ps, memory: true, runner: runner, rate: memtenancy.NewRateCounter(nil),
		health: []httpapi.HealthCheck{{Name: "memory", Required: true, Check: func(context.Context) error { return nil }}},
		jobs:   &jobRuntime{Registry: ps.Jobs, Start: runner.Start, Stop: runner.Stop}}
	if cfg.GDPR.ArchiveDir != "" {
		arch, err := archive.NewFS(cfg.GDPR.ArchiveDir)
		if err != nil {
			return nil, &ConfigError{"APP_GDPR_ARCHIVE_DIR", "cannot create or open the directory"}
		}
		s.Archives = arch
	}
	return s, nil
}

func postgresStores(ctx context.Context, cfg Config, log *slog.Logger) (*storeSet, error) {
	s := &storeSet{}
	db, err := postgres.Open(ctx, cfg.Postgres.URL())
	if err != nil {
		return nil, fmt.Errorf("postgres at %s: %w", cfg.Postgres.Where(), err)
	}
	s.db = db
	s.close = append(s.close, db.Close)
	// Without this check an unmigrated database surfaces as "relation ... does not exist"
	// from whichever store is touched first.
	var migrated bool
	if err := db.Pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", postgres.PlatformSchema+".goose_db_version").Scan(&migrated); err != nil {
		s.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if !migrated {
		s.Close()
		return nil, fmt.Errorf("the database %q has no eusaas schema yet: run `eusaas migrate` (and `eusaas migrate tenants` after upgrades) with the same APP_POSTGRES_* settings", cfg.Postgres.DB)
	}
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		s.Close()
		return nil, &ConfigError{"APP_REDIS_URL", "cannot be parsed as a Redis URL"}
	}
	rdb := redis.NewClient(opt)
	s.rdb = rdb
	s.close = append(s.close, func() { _ = rdb.Close() })
	s.health = []httpapi.HealthCheck{
		// A real query as the stores send them (parameters, the configured query mode), not
		// a ping: behind a transaction-pooling PgBouncer with pgx's statement cache the ping
		// answers while every prepared statement fails.
		{Name: "postgres", Required: true, Check: db.Ready},
		{Name: "redis", Required: true, Check: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }},
	}
	prefix := cfg.RedisKeyPrefix

	migs, err := postgres.TenantMigrations()
	if err != nil {
		s.Close()
		return nil, err
	}
	schemas, err := postgres.NewTenantSchemas(db, migs)
	if err != nil {
		s.Close()
		return nil, err
	}
	// New tenants' schemas are placed on a Citus node of their region when the citus
	// extension is installed and APP_CITUS_REGION_NODES labels nodes (docs/scale-out.md).
	s.citus = postgres.NewCitus(db, cfg.CitusRegionNodes)
	s.schemas = schemas
	authStore := postgres.NewAuthStore(db)
	usage := postgres.NewBillingUsageStore(db)
	auditStore := postgres.NewAuditStore(db)
	requests, err := newGDPRStore(db, cfg.GDPR)
	if err != nil {
		s.Close()
		return nil, err
	}
	data := postgres.NewGDPRData(db)
	dir := cfg.GDPR.ArchiveDir
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "eusaas-gdpr")
	}
	arch, err := archive.NewFS(dir)
	if err != nil {
		s.Close()
		return nil, &ConfigError{"APP_GDPR_ARCHIVE_DIR", "cannot create or open the directory"}
	}
	reg := jobs.NewRegistry()
	queue := river.New(db.Pool, reg, river.Options{PollOnly: cfg.JobsPollOnly})
	s.jobs = &jobRuntime{Registry: reg, Start: queue.Start, Stop: queue.Stop}
	s.Stores = platform.Stores{
		Tx:          db,
		Tenants:     postgres.NewTenantStore(db),
		Provisioner: postgres.NewCitusProvisioner(schemas, s.citus),
		Placer:      s.citus, Placements: s.citus,
		TenantCache: redisadapter.NewTenantCache(rdb, redisadapter.TenantCacheOptions{Prefix: prefix, TTL: 5 * time.Minute}),

		Users: authStore, Operators: authStore, Sessions: authStore, Invitations: authStore, ServiceAccounts: authStore, PasswordResets: authStore, EmailVerifications: authStore,
		Denylist: redisadapter.NewAuthDenylist(rdb, prefix), Limiter: redisadapter.NewAuthLimiter(rdb, prefix),

		Usage: usage, Invoices: postgres.NewBillingInvoiceStore(db), Prices: postgres.NewBillingPriceStore(db),
		Profiles: postgres.NewBillingProfileStore(db), CreditNotes: postgres.NewBillingCreditNoteStore(db), Metrics: postgres.NewBillingMetricStore(db), Plans: postgres.NewBillingPlanStore(db),
		Anomalies: postgres.NewAnomalyStore(db),
		Audit:     auditStore, AuditKeys: auditStore,

		Requests: requests, Policies: requests, Holds: requests, BackupKeys: requests, DSRs: requests, Breaches: requests, Archives: arch,
		TenantData: data, Subjects: data, Schemas: data,
		Retainers: []gdpr.Retainer{data},
		Purgers:   []gdpr.CachePurger{redisadapter.NewTenantPurger(rdb, prefix)},

		Jobs: reg, Queue: queue,
	}
	s.rate = redisadapter.NewRateCounter(rdb, prefix)
	s.sizer = usage
	log.Info("running on PostgreSQL and Redis", "postgres_host", cfg.Postgres.Host, "postgres_db", cfg.Postgres.DB)
	return s, nil
}

// migrateJobs applies River's migrations; `eusaas migrate` calls it after the platform
// migrations.
func migrateJobs(ctx context.Context, db *postgres.DB) error {
	return river.Migrate(ctx, db.Pool, "")
}

// newGDPRStore opens the GDPR store with the configured KEK (and, during a rotation, the
// previous one, so keys not yet re-sealed still open).
func newGDPRStore(db *postgres.DB, cfg gdprConfig) (*postgres.GDPRStore, error) {
	if cfg.KEKPrevious != nil {
		return postgres.NewGDPRStore(db, cfg.KEK, cfg.KEKPrevious)
	}
	return postgres.NewGDPRStore(db, cfg.KEK)
}
