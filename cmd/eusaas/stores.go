package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/eusaas/eusaas"
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
	"github.com/eusaas/eusaas/storage"
	"github.com/eusaas/eusaas/storage/fsstorage"
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
	// bucket is the object storage of APP_STORAGE_URL (nil when unset).
	bucket storage.Bucket
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
// tp traces the Postgres queries, Redis commands and jobs when tracing is on (nil: off).
func openStores(ctx context.Context, cfg Config, signer ed25519.PublicKey, log *slog.Logger, tp trace.TracerProvider) (*storeSet, error) {
	var s *storeSet
	bucket, err := openStorage(ctx, cfg.Storage, log)
	if err != nil {
		return nil, err
	}
	if bucket != nil && cfg.GDPR.ArchiveDir != "" {
		log.Warn("APP_GDPR_ARCHIVE_DIR is ignored: APP_STORAGE_URL is set and holds the archives")
	}
	if cfg.Postgres == nil {
		s, err = memoryStores(cfg, bucket, log)
	} else {
		s, err = postgresStores(ctx, cfg, bucket, log, tp)
	}
	if err != nil {
		return nil, err
	}
	s.bucket = bucket
	if bucket != nil {
		// Readiness covers the storage: a replica that cannot reach it would answer export
		// downloads with 500s. Stat of the published key's neighbour costs one HEAD request;
		// NotFound is the healthy answer.
		s.health = append(s.health, httpapi.HealthCheck{Name: "storage", Required: true, Check: func(ctx context.Context) error {
			if _, err := bucket.Stat(ctx, "health/probe"); err != nil && eusaas.KindOf(err) != eusaas.NotFound {
				return err
			}
			return nil
		}})
		// Every replica writes and reads one checkpoint record in the shared storage,
		// each copy locked when the bucket has object lock.
		cs := &platform.CheckpointStore{Bucket: bucket, Retain: time.Duration(cfg.Storage.LockDays) * 24 * time.Hour, Mode: cfg.Storage.LockMode}
		if signer != nil {
			if err := platform.PublishCheckpointKey(ctx, bucket, signer); err != nil {
				s.Close()
				return nil, fmt.Errorf("APP_STORAGE_URL: publishing the checkpoint key: %w", err)
			}
		}
		s.Checkpoints = cs
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
		if s.Checkpoints != nil {
			s.Checkpoints = audit.Sinks{s.Checkpoints, sink}
		} else {
			s.Checkpoints = sink
		}
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

// archiveStore is the GDPR archive store: the shared bucket when there is one, else the
// archive directory with its historical layout (no key prefix), so archives written by an
// earlier release stay downloadable.
func archiveStore(bucket storage.Bucket, dir string) (gdpr.ArchiveStore, error) {
	if bucket != nil {
		return platform.NewArchiveStore(bucket, "gdpr/"), nil
	}
	b, err := fsstorage.New(dir)
	if err != nil {
		return nil, &ConfigError{"APP_GDPR_ARCHIVE_DIR", "cannot create or open the directory"}
	}
	return platform.NewArchiveStore(b, ""), nil
}

func memoryStores(cfg Config, bucket storage.Bucket, log *slog.Logger) (*storeSet, error) {
	log.Info("no APP_POSTGRES_* variable set: running on the in-memory adapters; all data is lost when the process exits")
	ps, runner := platform.Memory(nil)
	s := &storeSet{Stores: ps, memory: true, runner: runner, rate: memtenancy.NewRateCounter(nil),
		health: []httpapi.HealthCheck{{Name: "memory", Required: true, Check: func(context.Context) error { return nil }}},
		jobs:   &jobRuntime{Registry: ps.Jobs, Start: runner.Start, Stop: runner.Stop}}
	if bucket != nil || cfg.GDPR.ArchiveDir != "" {
		arch, err := archiveStore(bucket, cfg.GDPR.ArchiveDir)
		if err != nil {
			return nil, err
		}
		s.Archives = arch
	}
	return s, nil
}

func postgresStores(ctx context.Context, cfg Config, bucket storage.Bucket, log *slog.Logger, tp trace.TracerProvider) (*storeSet, error) {
	s := &storeSet{}
	db, err := postgres.Open(ctx, cfg.Postgres.URL(), tracedPostgres(tp)...)
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
	if err := traceRedis(rdb, tp); err != nil {
		_ = rdb.Close()
		s.Close()
		return nil, err
	}
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
	if bucket == nil {
		log.Warn("APP_STORAGE_URL not set: GDPR archives and erasure backups stay in " + legacyArchiveDir(cfg.GDPR) +
			" on this machine; with several replicas or workers set APP_STORAGE_URL to shared storage (s3:// or file://)")
	}
	arch, err := archiveStore(bucket, legacyArchiveDir(cfg.GDPR))
	if err != nil {
		s.Close()
		return nil, err
	}
	reg := jobs.NewRegistry()
	queue := river.New(db.Pool, reg, river.Options{PollOnly: cfg.JobsPollOnly, Workers: cfg.JobsWorkers, TracerProvider: tp})
	s.jobs = &jobRuntime{Registry: reg, Start: queue.Start, Stop: queue.Stop}
	s.Stores = platform.Stores{
		Tx:          db,
		Tenants:     postgres.NewTenantStore(db),
		Provisioner: postgres.NewCitusProvisioner(schemas, s.citus),
		Placer:      s.citus, Placements: s.citus,
		TenantCache: redisadapter.NewTenantCache(rdb, redisadapter.TenantCacheOptions{Prefix: prefix, TTL: 5 * time.Minute}),

		Users: authStore, Operators: authStore, Sessions: authStore, Invitations: authStore, ServiceAccounts: authStore, PasswordResets: authStore, EmailVerifications: authStore, MFA: authStore, APIKeys: authStore,
		SSO: authStore, SSOStates: authStore,
		Denylist: redisadapter.NewAuthDenylist(rdb, prefix), Limiter: redisadapter.NewAuthLimiter(rdb, prefix),

		Usage: usage, Invoices: postgres.NewBillingInvoiceStore(db), Prices: postgres.NewBillingPriceStore(db),
		Profiles: postgres.NewBillingProfileStore(db), CreditNotes: postgres.NewBillingCreditNoteStore(db), Metrics: postgres.NewBillingMetricStore(db), Plans: postgres.NewBillingPlanStore(db),
		Anomalies: postgres.NewAnomalyStore(db),
		Audit:     auditStore, AuditKeys: auditStore,

		Requests: requests, Policies: requests, Holds: requests, BackupKeys: requests, DSRs: requests, Breaches: requests, Leases: requests, Archives: arch,
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
