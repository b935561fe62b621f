package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/archive"
	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/adapters/postgres"
	redisadapter "github.com/eusaas/eusaas/adapters/redis"
	"github.com/eusaas/eusaas/adapters/river"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/gdpr/memgdpr"
	"github.com/eusaas/eusaas/jobs"
	"github.com/eusaas/eusaas/jobs/memjobs"
	"github.com/eusaas/eusaas/tenancy"
)

// gdprConfig is the gdpr module's configuration (APP_GDPR_*).
type gdprConfig struct {
	// SigningKey signs export manifests, erasure certificates and download tokens
	// (APP_GDPR_SIGNING_KEY: base64 Ed25519 seed of 32 bytes or private key of 64). Generated
	// per process when unset: fine in memory mode, but then signatures cannot be checked
	// after a restart, so Postgres mode logs a warning.
	SigningKey ed25519.PrivateKey
	Generated  bool
	// ArchiveDir holds export archives and encrypted backups (APP_GDPR_ARCHIVE_DIR, default
	// $TMPDIR/eusaas-gdpr).
	ArchiveDir string
	// KEK seals backup keys at rest in Postgres (APP_GDPR_KEY_ENCRYPTION_KEY, base64 32 bytes).
	KEK []byte
	// PublicURL prefixes download URLs (APP_PUBLIC_URL, default http://localhost:8000).
	PublicURL string
}

func loadGDPRConfig(getenv func(string) string) (gdprConfig, error) {
	c := gdprConfig{ArchiveDir: filepath.Join(os.TempDir(), "eusaas-gdpr"), PublicURL: "http://localhost:8000"}
	if v := getenv("APP_GDPR_ARCHIVE_DIR"); v != "" {
		c.ArchiveDir = v
	}
	if v := getenv("APP_PUBLIC_URL"); v != "" {
		c.PublicURL = v
	}
	if v := getenv("APP_GDPR_SIGNING_KEY"); v != "" {
		b, err := base64.StdEncoding.DecodeString(v)
		switch {
		case err != nil:
			return c, &ConfigError{"APP_GDPR_SIGNING_KEY", "must be base64"}
		case len(b) == ed25519.SeedSize:
			c.SigningKey = ed25519.NewKeyFromSeed(b)
		case len(b) == ed25519.PrivateKeySize:
			c.SigningKey = ed25519.PrivateKey(b)
		default:
			return c, &ConfigError{"APP_GDPR_SIGNING_KEY", "must hold a 32-byte Ed25519 seed or a 64-byte private key"}
		}
	} else {
		_, c.SigningKey, _ = ed25519.GenerateKey(nil)
		c.Generated = true
	}
	if v := getenv("APP_GDPR_KEY_ENCRYPTION_KEY"); v != "" {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(b) != 32 {
			return c, &ConfigError{"APP_GDPR_KEY_ENCRYPTION_KEY", "must be 32 bytes, base64"}
		}
		c.KEK = b
	}
	return c, nil
}

// jobRuntime is the app's job queue: River in Postgres mode, the in-process runner in memory
// mode. Build it first, give Queue to the services, let every module register its handlers
// and schedules into Registry, then Start it (serve, unless told not to, and worker).
type jobRuntime struct {
	Registry *jobs.Registry
	Queue    jobs.Queue
	Start    func(ctx context.Context) error
	Stop     func(ctx context.Context) error
}

// newJobRuntime builds the job runtime for the app's mode.
func newJobRuntime(db *postgres.DB, clock eusaas.Clock) *jobRuntime {
	reg := jobs.NewRegistry()
	if db != nil {
		q := river.New(db.Pool, reg, river.Options{})
		return &jobRuntime{Registry: reg, Queue: q, Start: q.Start, Stop: q.Stop}
	}
	r := memjobs.NewRunner(reg, memjobs.Options{Clock: clock})
	return &jobRuntime{Registry: reg, Queue: r, Start: r.Start, Stop: r.Stop}
}

// migrateJobs applies River's migrations; `eusaas migrate` calls it after the platform
// migrations.
func migrateJobs(ctx context.Context, db *postgres.DB) error {
	return river.Migrate(ctx, db.Pool, "")
}

// gdprPorts are the other modules' services the gdpr module uses; cmd adapts them (nil
// entries skip the step or data they serve).
type gdprPorts struct {
	Recorder    eusaas.Recorder
	Lifecycle   gdpr.Lifecycle     // tenancy: BeginDeprovision / CompleteDeprovision
	Cache       gdpr.CachePurger   // tenancy's cache: PurgeTenant
	Tenants     gdpr.TenantLister  // tenancy.ListActive, ids only
	Audit       gdpr.AuditSource   // audit.List + latest checkpoint, as JSON
	Users       gdpr.UserEraser    // auth.(*Service).EraseSubject
	AuditEraser gdpr.AuditEraser   // audit.(*Service).EraseSubject
	Billing     gdpr.Pseudonymizer // billing.(*Service).PseudonymizeSubject
	// Retainers of other modules' records (the generic tenant-table retainer is added here).
	Retainers []gdpr.Retainer
	// MemorySources are memory stores holding tenant data (memory mode only).
	MemorySources []eusaas.DataSource
	// Schemas drops a tenant's data store in memory mode (Postgres mode drops the schema).
	Schemas gdpr.SchemaDropper
	// Subjects overrides, in memory mode, the subject lookup over MemorySources (Postgres
	// mode looks in the tenant's tables).
	Subjects gdpr.SubjectFinder
}

// wireGDPR builds the gdpr service on the app's stores, registers its jobs and its overdue
// gauge, and its routes when server is non-nil. It returns the service, whose Deprovision
// implements tenancy's Deprovisioner and CheckErasable guards legal holds.
func wireGDPR(ctx context.Context, a *App, cfg gdprConfig, jr *jobRuntime, reg *prometheus.Registry, p gdprPorts) (*gdpr.Service, error) {
	arch, err := archive.NewFS(cfg.ArchiveDir)
	if err != nil {
		return nil, err
	}
	deps := gdpr.Deps{Tx: a.tx, Archives: arch, Queue: jr.Queue, Recorder: p.Recorder, Lifecycle: p.Lifecycle,
		Cache: p.Cache, Tenants: p.Tenants, Audit: p.Audit, Users: p.Users, AuditEraser: p.AuditEraser, Billing: p.Billing,
		Retainers: p.Retainers, Schemas: p.Schemas}
	if a.db != nil {
		store, err := postgres.NewGDPRStore(a.db, cfg.KEK)
		if err != nil {
			return nil, err
		}
		data := postgres.NewGDPRData(a.db)
		deps.Store, deps.Keys, deps.Data, deps.Subjects, deps.Schemas = store, store, data, data, data
		deps.Retainers = append(deps.Retainers, data)
		if cfg.Generated {
			a.log.Warn("APP_GDPR_SIGNING_KEY not set: using a per-process key; manifests and certificates signed now cannot be verified after a restart")
		}
	} else {
		store := memgdpr.NewStore()
		data := memgdpr.NewTenantData(p.MemorySources...)
		deps.Store, deps.Keys, deps.Data, deps.Subjects = store, store, data, data
		if p.Subjects != nil {
			deps.Subjects = p.Subjects
		}
		deps.Retainers = append(deps.Retainers, data)
	}
	svc, err := gdpr.NewService(deps, gdpr.Options{SigningKey: cfg.SigningKey, BaseURL: cfg.PublicURL})
	if err != nil {
		return nil, err
	}
	svc.RegisterJobs(jr.Registry)
	if reg != nil {
		err := reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gdpr_requests_overdue",
			Help: "GDPR requests (exports, erasures) not fulfilled within one calendar month of receipt (Art. 12(3)).",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			n, err := svc.Overdue(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		}))
		if err != nil {
			return nil, err
		}
	}
	if a.Memory() {
		// The in-process queue does not survive a restart; requests do not either, but keep
		// the call so a future durable memory store resumes its work.
		if err := svc.Resume(ctx); err != nil {
			return nil, err
		}
	}
	return svc, nil
}

// runJobs works jobs until ctx ends, then stops, waiting up to 30 s for running jobs. It is
// the body of `eusaas worker`, and runs beside the HTTP server in `eusaas serve` unless the
// operator disables in-process workers.
func runJobs(ctx context.Context, jr *jobRuntime, log interface{ Info(string, ...any) }) error {
	if err := jr.Start(ctx); err != nil {
		return err
	}
	log.Info("job workers started", "kinds", len(jr.Registry.Kinds()), "periodic", len(jr.Registry.Periodics()))
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	log.Info("job workers stopping")
	return jr.Stop(stopCtx)
}

// gdprModules are the other modules' services gdpr adapts; nil ones are skipped.
type gdprModules struct {
	// Tenancy serves the lifecycle, the active tenants, its cache entry (PurgeCache) and, in
	// memory mode, the drop of the tenant's data store (DropSchema).
	Tenancy *tenancy.Service
	Memory  bool
	Redis   *redisadapter.TenantPurger
	Auth    *auth.Service
	Audit   *audit.Service
	Billing *billing.Service
}

// gdprPortsFrom adapts the module services to gdpr's ports: tenancy's lifecycle and active
// tenants, the tenant cache plus every Redis key of the tenant, auth/audit/billing subject
// erasure, and the audit chain for exports.
func gdprPortsFrom(m gdprModules, recorder eusaas.Recorder) gdprPorts {
	p := gdprPorts{Recorder: recorder}
	if a, ok := recorder.(*audit.Service); ok && a != nil {
		// The audit service reports the entry it wrote, so erasure certificates cite hashes.
		p.Recorder = gdprHashRecorder{a}
	}
	if m.Tenancy != nil {
		p.Lifecycle, p.Tenants = m.Tenancy, gdprTenants{m.Tenancy}
		if m.Memory {
			// Postgres mode drops the schema through gdpr's own data adapter.
			p.Schemas = m.Tenancy
		}
	}
	if m.Tenancy != nil || m.Redis != nil {
		p.Cache = gdprCache{m.Tenancy, m.Redis}
	}
	if m.Auth != nil {
		p.Users, p.Subjects = m.Auth, gdprAuthSubjects{m.Auth}
	}
	if m.Audit != nil {
		p.AuditEraser, p.Audit = m.Audit, gdprAudit{m.Audit}
		p.Retainers = append(p.Retainers, gdprAuditRetainer{m.Audit})
	}
	if m.Billing != nil {
		p.Billing = m.Billing
	}
	return p
}

// gdprHashRecorder is the audit service as a gdpr.HashRecorder: RecordHash returns the
// hex SHA-256 chain hash of the entry just written (the same string the audit API shows).
type gdprHashRecorder struct{ *audit.Service }

var _ gdpr.HashRecorder = gdprHashRecorder{}

func (g gdprHashRecorder) RecordHash(ctx context.Context, ev eusaas.AuditEvent) (string, error) {
	e, err := g.RecordEntry(ctx, ev)
	if err != nil {
		return "", err
	}
	return e.Hash.String(), nil
}

// gdprAuditRetainer enforces audit_log_retention_days on the audit log's personal side data
// (IP addresses, user agents, e-mails): values of entries older than the period plus the
// grace period are deleted. The entries themselves are append-only and stay; their values
// then show as erased and the chain still verifies.
type gdprAuditRetainer struct{ s *audit.Service }

var _ gdpr.Retainer = gdprAuditRetainer{}

func (g gdprAuditRetainer) EnforceRetention(ctx context.Context, tenant eusaas.TenantID, p gdpr.Policy, now time.Time, grace time.Duration) (map[string]int, error) {
	n, err := g.s.ErasePersonalBefore(ctx, tenant, now.AddDate(0, 0, -p.AuditLogRetentionDays).Add(-grace))
	if err != nil || n == 0 {
		return nil, err
	}
	return map[string]int{"audit_personal.hard_deleted": n}, nil
}

// gdprExpiryRetainer adapts a memory store's DeleteExpired (auth: sessions and invitations)
// to gdpr.Retainer: rows expired for longer than the grace period are deleted, as Postgres
// mode's generic retention deletes rows of tables with expires_at. The store speaks only
// root and standard types, so it needs no gdpr import.
type gdprExpiryRetainer struct {
	s interface {
		DeleteExpired(ctx context.Context, tenant eusaas.TenantID, cutoff time.Time) (map[string]int, error)
	}
}

var _ gdpr.Retainer = gdprExpiryRetainer{}

func (g gdprExpiryRetainer) EnforceRetention(ctx context.Context, tenant eusaas.TenantID, _ gdpr.Policy, now time.Time, grace time.Duration) (map[string]int, error) {
	return g.s.DeleteExpired(ctx, tenant, now.Add(-grace))
}

// gdprDefaultRetainer adapts a memory store's EnforceDataRetention (anomaly) to
// gdpr.Retainer with the policy's default_retention_days, as Postgres mode's generic
// retention applies it to tables with created_at and deleted_at and no subject column.
type gdprDefaultRetainer struct {
	s interface {
		EnforceDataRetention(ctx context.Context, tenant eusaas.TenantID, retentionDays int, now time.Time, grace time.Duration) (map[string]int, error)
	}
}

var _ gdpr.Retainer = gdprDefaultRetainer{}

func (g gdprDefaultRetainer) EnforceRetention(ctx context.Context, tenant eusaas.TenantID, p gdpr.Policy, now time.Time, grace time.Duration) (map[string]int, error) {
	return g.s.EnforceDataRetention(ctx, tenant, p.DefaultRetentionDays, now, grace)
}

// gdprAuthSubjects: a data subject is a user of the tenant (auth's Me for that user).
type gdprAuthSubjects struct{ s *auth.Service }

func (g gdprAuthSubjects) HasSubject(ctx context.Context, tenant eusaas.TenantID, subject string) (bool, error) {
	if _, err := uuid.Parse(subject); err != nil {
		return false, nil
	}
	_, err := g.s.Me(ctx, auth.Principal{Kind: eusaas.ActorUser, TenantID: tenant, UserID: subject})
	if eusaas.KindOf(err) == eusaas.NotFound {
		return false, nil
	}
	return err == nil, err
}

type gdprTenants struct{ s *tenancy.Service }

func (g gdprTenants) TenantIDs(ctx context.Context) ([]eusaas.TenantID, error) {
	return activeTenantIDs(ctx, g.s)
}

type gdprCache struct {
	tenancy *tenancy.Service
	redis   *redisadapter.TenantPurger
}

func (g gdprCache) PurgeTenant(ctx context.Context, id eusaas.TenantID) error {
	if g.tenancy != nil {
		if err := g.tenancy.PurgeCache(ctx, id); err != nil {
			return err
		}
	}
	if g.redis != nil {
		return g.redis.PurgeTenant(ctx, id)
	}
	return nil
}

// gdprAudit streams a tenant's audit chain oldest first. audit.List pages newest first, so
// pages are walked from the last; entries are fixed at the start (Until) so new entries do
// not shift the pages.
type gdprAudit struct{ s *audit.Service }

func (g gdprAudit) Entries(ctx context.Context, tenant eusaas.TenantID, fn func([]byte) error) error {
	return g.walk(ctx, tenant, func(e *audit.Entry) bool { return true }, fn)
}

var _ gdpr.SubjectAuditSource = gdprAudit{}

// SubjectEntries implements gdpr.SubjectAuditSource: entries whose actor, resource or
// personal-data subject is one of subjects; personal values of other subjects in them (an
// inviter's IP address) are withheld. Commitments stay, so the entries still verify.
func (g gdprAudit) SubjectEntries(ctx context.Context, tenant eusaas.TenantID, subjects []string, fn func([]byte) error) error {
	set := make(map[string]bool, len(subjects))
	for _, s := range subjects {
		set[s] = true
	}
	return g.walk(ctx, tenant, func(e *audit.Entry) bool {
		if !set[e.Subject] && !set[e.Actor.ID] && !set[e.ResourceID] {
			return false
		}
		if !set[e.Subject] {
			for i := range e.Personal {
				e.Personal[i].Value = ""
			}
		}
		return true
	}, fn)
}

// walk streams the tenant's entries oldest first that keep accepts (keep may redact them).
func (g gdprAudit) walk(ctx context.Context, tenant eusaas.TenantID, keep func(*audit.Entry) bool, fn func([]byte) error) error {
	const size = eusaas.MaxPageSize
	f := audit.Filter{Until: time.Now().UTC().Add(time.Microsecond)}
	first, err := g.s.List(ctx, tenant, f, eusaas.Page{Page: 1, Size: size})
	if err != nil {
		return err
	}
	for page := (first.Total + size - 1) / size; page >= 1; page-- {
		l, err := g.s.List(ctx, tenant, f, eusaas.Page{Page: page, Size: size})
		if err != nil {
			return err
		}
		for i := len(l.Items) - 1; i >= 0; i-- {
			if !keep(&l.Items[i]) {
				continue
			}
			// The API's view of an entry: snake_case, erased values marked, as the
			// audit-log endpoint shows it.
			b, err := json.Marshal(httpapi.AuditEntryView(l.Items[i]))
			if err != nil {
				return err
			}
			if err := fn(b); err != nil {
				return err
			}
		}
	}
	return nil
}

func (g gdprAudit) LatestCheckpoint(ctx context.Context, tenant eusaas.TenantID) ([]byte, error) {
	cp, ok, err := g.s.LatestCheckpoint(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, eusaas.E(eusaas.NotFound, "no checkpoint yet")
	}
	return json.Marshal(httpapi.AuditCheckpointView(cp))
}
