package gdpr

import (
	"context"
	"crypto/ed25519"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/jobs"
)

// Job kinds the service registers.
const (
	JobExport         = "gdpr.export"
	JobSubjectErasure = "gdpr.subject_erasure"
	JobTenantErasure  = "gdpr.tenant_erasure"
	JobRetention      = "gdpr.retention"
	JobCleanupExports = "gdpr.cleanup_exports"
	JobShredKeys      = "gdpr.shred_keys"
)

// Audit actions recorded by the module.
const (
	ActionExportRequested         = "GDPR_EXPORT_REQUESTED"
	ActionExportCompleted         = "GDPR_EXPORT_COMPLETED"
	ActionErasureRequested        = "GDPR_ERASURE_REQUESTED"
	ActionSubjectErased           = "GDPR_SUBJECT_ERASED"
	ActionTenantErasureRequested  = "TENANT_ERASURE_REQUESTED"
	ActionTenantErasureCompleted  = "TENANT_ERASURE_COMPLETED"
	ActionRetentionPolicyUpdated  = "RETENTION_POLICY_UPDATED"
	ActionRetentionExecuted       = "RETENTION_EXECUTED"
	ActionBackupKeyDestroyed      = "BACKUP_KEY_DESTROYED"
	ActionLegalHoldPlaced         = "LEGAL_HOLD_PLACED"
	ActionLegalHoldReleased       = "LEGAL_HOLD_RELEASED"
	resourceGDPR                  = "gdpr_request"
	resourceTenant                = "tenant"
	resourceRetention             = "retention_policy"
	resourceHold                  = "legal_hold"
	tenantErasureMaxAttempts      = 25
	defaultExportTTL              = 72 * time.Hour
	defaultRetentionGrace         = 30 * 24 * time.Hour
	defaultEstimatedErasureWindow = 5 * time.Minute
)

// Deps are the ports the service uses. Requests, Policies, Holds, Keys, Archives, Data,
// Queue and SigningKey (in Options) are required (NewService refuses to build without
// them); the others may be nil, and the step or data they serve is then skipped (say so in
// the wiring). Holds is required on purpose: without it erasure could not honour a hold.
type Deps struct {
	Tx       eusaas.TxRunner // joins the stores, Queue and Recorder in one transaction
	Requests RequestStore
	Policies PolicyStore
	Holds    HoldStore
	Keys     KeyStore
	Archives ArchiveStore
	Data     TenantData
	Queue    jobs.Queue
	Recorder eusaas.Recorder

	Subjects    SubjectFinder
	Lifecycle   Lifecycle
	Schemas     SchemaDropper
	Cache       CachePurger
	Tenants     TenantLister
	Audit       AuditSource
	Users       UserEraser
	AuditEraser AuditEraser
	Billing     Pseudonymizer
	Retainers   []Retainer
	// DSRs keeps data-subject requests; without it the workflow's methods answer
	// ErrDSRUnavailable and exports and erasures create no requests.
	DSRs DSRStore
	// Breaches keeps the Art. 33 breach register (optional, as DSRs).
	Breaches BreachStore
	// Leases keeps the run leases that let Sweep resume the requests of a crashed process
	// (lease.go); without it only Resume restarts them.
	Leases LeaseStore
}

// Options tune the service.
type Options struct {
	Clock eusaas.Clock
	// SigningKey signs manifests, certificates and download tokens.
	SigningKey ed25519.PrivateKey
	// BaseURL prefixes download URLs ("https://api.example.eu"); the path is
	// /api/v1/gdpr/downloads/{token}.
	BaseURL string
	// ExportTTL is how long an export stays downloadable (default 72 h).
	ExportTTL time.Duration
	// RetentionGrace is the time between soft and hard deletion (default 30 days).
	RetentionGrace time.Duration
	// DataMap lists every store of personal data (the Art. 30(2) record is built from it);
	// SubProcessors the recipients of personal data.
	DataMap       []DataMapEntry
	SubProcessors []SubProcessor
	// AfterStep, when set, runs after each saga step's state is stored; an error aborts the
	// run as a crash would. Tests inject failures with it.
	AfterStep func(tenant eusaas.TenantID, step int) error
	// Checkpoint, when set, is called at the named points of the runs (Checkpoints); an
	// error aborts the run as a crash would. Tests pause or fail runs there.
	Checkpoint func(ctx context.Context, point string) error
	// LeaseTTL is how long a run lease lasts unrenewed (default DefaultLeaseTTL): a killed
	// process's requests are taken over that long after its last renewal.
	LeaseTTL time.Duration
	// QueueGrace is how long a request may wait for its first run before Sweep enqueues it
	// again (default DefaultQueueGrace).
	QueueGrace time.Duration
}

// Service carries out GDPR requests.
type Service struct {
	d     Deps
	o     Options
	clock eusaas.Clock

	locksMu sync.Mutex
	locks   map[eusaas.TenantID]*sync.Mutex
	// instance names this service in the leases it holds.
	instance string
}

// NewService returns a service. A missing required port or signing key is an
// InvalidArgument error naming every missing one, so a wiring mistake surfaces at start-up
// rather than as a nil dereference in a job.
func NewService(d Deps, o Options) (*Service, error) {
	var missing []string
	for _, p := range []struct {
		name string
		nil  bool
	}{
		{"Requests", d.Requests == nil}, {"Policies", d.Policies == nil}, {"Holds", d.Holds == nil},
		{"Keys", d.Keys == nil}, {"Archives", d.Archives == nil},
		{"Data", d.Data == nil}, {"Queue", d.Queue == nil}, {"SigningKey", len(o.SigningKey) == 0},
	} {
		if p.nil {
			missing = append(missing, p.name)
		}
	}
	if len(missing) > 0 {
		return nil, eusaas.Errorf(eusaas.InvalidArgument, "gdpr: missing required ports: %v", missing)
	}
	if len(o.SigningKey) != ed25519.PrivateKeySize {
		return nil, eusaas.Errorf(eusaas.InvalidArgument, "gdpr: SigningKey is %d bytes, want a %d-byte Ed25519 private key",
			len(o.SigningKey), ed25519.PrivateKeySize)
	}
	if o.Clock == nil {
		o.Clock = eusaas.SystemClock
	}
	if o.ExportTTL <= 0 {
		o.ExportTTL = defaultExportTTL
	}
	if o.RetentionGrace <= 0 {
		o.RetentionGrace = defaultRetentionGrace
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	if o.QueueGrace <= 0 {
		o.QueueGrace = DefaultQueueGrace
	}
	if d.Tx == nil {
		d.Tx = eusaas.NoTx
	}
	if d.Recorder == nil {
		d.Recorder = eusaas.Discard
	}
	return &Service{d: d, o: o, clock: o.Clock, locks: map[eusaas.TenantID]*sync.Mutex{}, instance: uuid.NewString()}, nil
}

// PublicKey is the published Ed25519 key that verifies manifests and certificates.
func (s *Service) PublicKey() ed25519.PublicKey {
	return s.o.SigningKey.Public().(ed25519.PublicKey)
}

type jobArgs struct {
	TenantID  eusaas.TenantID `json:"tenant_id"`
	RequestID string          `json:"request_id,omitempty"`
}

// RegisterJobs registers the module's handlers and periodic schedules: retention daily at
// 03:00 UTC, export cleanup hourly, key shredding daily at 04:00 UTC.
func (s *Service) RegisterJobs(r *jobs.Registry) {
	r.Handle(JobExport, func(ctx context.Context, j jobs.Job) error {
		var a jobArgs
		if err := j.Decode(&a); err != nil {
			return err
		}
		return s.leased(ctx, a.RequestID, func(ctx context.Context) error {
			return s.runExport(ctx, a.TenantID, a.RequestID, j.Attempt >= j.MaxAttempts)
		})
	})
	r.Handle(JobSubjectErasure, func(ctx context.Context, j jobs.Job) error {
		var a jobArgs
		if err := j.Decode(&a); err != nil {
			return err
		}
		return s.leased(ctx, a.RequestID, func(ctx context.Context) error {
			return s.runSubjectErasure(ctx, a.TenantID, a.RequestID)
		})
	})
	r.Handle(JobTenantErasure, func(ctx context.Context, j jobs.Job) error {
		var a jobArgs
		if err := j.Decode(&a); err != nil {
			return err
		}
		if a.RequestID == "" { // a job enqueued before requests were named in its arguments
			return s.RunTenantErasure(ctx, a.TenantID)
		}
		return s.leased(ctx, a.RequestID, func(ctx context.Context) error { return s.RunTenantErasure(ctx, a.TenantID) })
	})
	r.Handle(JobRetention, func(ctx context.Context, _ jobs.Job) error { return s.EnforceRetention(ctx) })
	r.Handle(JobCleanupExports, func(ctx context.Context, _ jobs.Job) error { return s.CleanupExports(ctx) })
	r.Handle(JobShredKeys, func(ctx context.Context, _ jobs.Job) error { return s.ShredKeys(ctx) })
	r.Every(jobs.Periodic{Name: JobRetention, Kind: JobRetention, Schedule: jobs.Daily{Hour: 3}})
	r.Every(jobs.Periodic{Name: JobCleanupExports, Kind: JobCleanupExports, Schedule: jobs.Interval(time.Hour)})
	r.Every(jobs.Periodic{Name: JobShredKeys, Kind: JobShredKeys, Schedule: jobs.Daily{Hour: 4}})
}

func (s *Service) newRequest(ctx context.Context, tenant eusaas.TenantID, kind Kind) Request {
	now := s.clock.Now()
	return Request{ID: uuid.Must(uuid.NewV7()).String(), Version: 1, TenantID: tenant, Kind: kind, Status: StatusPending,
		RequestedAt: now, DueAt: DueDate(now), RequestedBy: eusaas.ActorFrom(ctx)}
}

func (s *Service) record(ctx context.Context, ev eusaas.AuditEvent) (CertifiedEntry, error) {
	if ev.Actor == (eusaas.Actor{}) {
		ev.Actor = eusaas.ActorFrom(ctx)
	}
	if ev.Meta == (eusaas.RequestMeta{}) {
		ev.Meta = eusaas.RequestMetaFrom(ctx)
	}
	ce := CertifiedEntry{Action: ev.Action, RecordedAt: s.clock.Now()}
	if hr, ok := s.d.Recorder.(HashRecorder); ok {
		h, err := hr.RecordHash(ctx, ev)
		ce.Hash = h
		return ce, err
	}
	return ce, s.d.Recorder.Record(ctx, ev)
}

func (s *Service) tenantLock(id eusaas.TenantID) *sync.Mutex {
	s.locksMu.Lock()
	defer s.locksMu.Unlock()
	m, ok := s.locks[id]
	if !ok {
		m = &sync.Mutex{}
		s.locks[id] = m
	}
	return m
}
