package gdpr

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"strings"
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

// Deps are the ports the service uses. Store, Keys, Archives, Data, Queue and SigningKey
// (in Options) are required (NewService refuses to build without them); the others may be nil, and the step or data they serve is
// then skipped (say so in the wiring).
type Deps struct {
	Tx       eusaas.TxRunner // joins Store, Queue and Recorder in one transaction
	Store    Store
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
	// AfterStep, when set, runs after each saga step's state is stored; an error aborts the
	// run as a crash would. Tests inject failures with it.
	AfterStep func(tenant eusaas.TenantID, step int) error
}

// Service carries out GDPR requests.
type Service struct {
	d     Deps
	o     Options
	clock eusaas.Clock

	locksMu sync.Mutex
	locks   map[eusaas.TenantID]*sync.Mutex
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
		{"Store", d.Store == nil}, {"Keys", d.Keys == nil}, {"Archives", d.Archives == nil},
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
	if d.Tx == nil {
		d.Tx = eusaas.NoTx
	}
	if d.Recorder == nil {
		d.Recorder = eusaas.Discard
	}
	return &Service{d: d, o: o, clock: o.Clock, locks: map[eusaas.TenantID]*sync.Mutex{}}, nil
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
		return s.runExport(ctx, a.TenantID, a.RequestID, j.Attempt >= j.MaxAttempts)
	})
	r.Handle(JobSubjectErasure, func(ctx context.Context, j jobs.Job) error {
		var a jobArgs
		if err := j.Decode(&a); err != nil {
			return err
		}
		return s.runSubjectErasure(ctx, a.TenantID, a.RequestID)
	})
	r.Handle(JobTenantErasure, func(ctx context.Context, j jobs.Job) error {
		var a jobArgs
		if err := j.Decode(&a); err != nil {
			return err
		}
		return s.RunTenantErasure(ctx, a.TenantID)
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

func (s *Service) checkHolds(ctx context.Context, tenant eusaas.TenantID) error {
	holds, err := s.d.Store.Holds(ctx, tenant)
	if err != nil {
		return err
	}
	if len(holds) > 0 {
		return ErrLegalHold.Withf("legal hold %s (%s) blocks erasure", holds[0].ID, holds[0].Reason)
	}
	return nil
}

// ---- Export (Art. 20) ----

// RequestExport records an export request and enqueues its job in the same transaction.
// Subjects must be data subjects of the tenant (422 naming the entry otherwise).
func (s *Service) RequestExport(ctx context.Context, tenant eusaas.TenantID, in ExportRequest) (Request, error) {
	in.Format = Format(strings.ToLower(string(in.Format)))
	if in.Format == "" {
		in.Format = FormatJSON
	}
	if err := in.Validate(); err != nil {
		return Request{}, err
	}
	if err := s.checkSubjects(ctx, tenant, in.Subjects, "body.data_subjects"); err != nil {
		return Request{}, err
	}
	r := s.newRequest(ctx, tenant, KindExport)
	r.Format, r.Subjects, r.IncludeAuditLogs = in.Format, in.Subjects, in.IncludeAuditLogs
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Store.CreateRequest(ctx, r); err != nil {
			return err
		}
		if _, err := s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Action: ActionExportRequested, ResourceType: resourceGDPR,
			ResourceID: r.ID, Changes: map[string]any{"format": string(r.Format), "subjects": len(r.Subjects), "include_audit_logs": r.IncludeAuditLogs}}); err != nil {
			return err
		}
		return s.d.Queue.Enqueue(ctx, JobExport, jobArgs{TenantID: tenant, RequestID: r.ID}, nil)
	})
	return r, err
}

func (s *Service) checkSubjects(ctx context.Context, tenant eusaas.TenantID, subjects []string, loc string) error {
	if s.d.Subjects == nil {
		return nil
	}
	var v eusaas.Violations
	for i, subj := range subjects {
		ok, err := s.d.Subjects.HasSubject(ctx, tenant, subj)
		if err != nil {
			return err
		}
		if !ok {
			l := loc
			if len(subjects) > 1 || strings.HasSuffix(loc, "s") {
				l = loc + "[" + itoa(i) + "]"
			}
			v.Add(l, "not a data subject of this tenant")
		}
	}
	return v.Err()
}

// Request returns one of the tenant's requests of the given kind.
func (s *Service) Request(ctx context.Context, tenant eusaas.TenantID, kind Kind, id string) (Request, error) {
	if _, err := uuid.Parse(id); err != nil {
		return Request{}, ErrNotFound
	}
	r, err := s.d.Store.Request(ctx, tenant, id)
	if err != nil {
		if eusaas.KindOf(err) == eusaas.NotFound {
			return Request{}, ErrNotFound
		}
		return Request{}, err
	}
	if r.Kind != kind {
		return Request{}, ErrNotFound
	}
	return r, nil
}

// DownloadURL returns the download URL of a completed export: a signed token valid until
// the export expires. Empty when the export is not downloadable.
func (s *Service) DownloadURL(r Request) string {
	if r.Kind != KindExport || r.Status != StatusCompleted {
		return ""
	}
	return strings.TrimSuffix(s.o.BaseURL, "/") + "/api/v1/gdpr/downloads/" + signToken(s.o.SigningKey,
		tokenPayload{RequestID: r.ID, TenantID: r.TenantID.String(), Expires: r.ExpiresAt.Unix()})
}

// OpenDownload checks a download token and opens the archive it names.
func (s *Service) OpenDownload(ctx context.Context, token string) (io.ReadCloser, int64, Request, error) {
	p, err := verifyToken(s.PublicKey(), token, s.clock.Now())
	if err != nil {
		return nil, 0, Request{}, err
	}
	tenant, err := eusaas.ParseTenantID(p.TenantID)
	if err != nil {
		return nil, 0, Request{}, ErrBadToken
	}
	r, err := s.Request(ctx, tenant, KindExport, p.RequestID)
	if err != nil {
		return nil, 0, Request{}, err
	}
	if r.Status != StatusCompleted {
		return nil, 0, r, ErrNotReady.Withf("the export is %s", r.Status)
	}
	rc, n, err := s.d.Archives.Open(ctx, r.Archive)
	return rc, n, r, err
}

func (s *Service) runExport(ctx context.Context, tenant eusaas.TenantID, id string, lastAttempt bool) error {
	r, err := s.d.Store.Request(ctx, tenant, id)
	if err != nil {
		if eusaas.KindOf(err) == eusaas.NotFound {
			return nil // nothing to do: the record never committed or was removed
		}
		return err
	}
	if r.Done() {
		return nil
	}
	r.Status, r.Progress = StatusProcessing, 0
	if err := s.d.Store.UpdateRequest(ctx, &r); err != nil {
		return err
	}
	name := "exports/" + tenant.String() + "/" + r.ID + ".zip"
	sum, err := s.writeArchive(ctx, &r, name, nil)
	if err != nil {
		k := eusaas.KindOf(err)
		if !lastAttempt && k != eusaas.InvalidArgument && k != eusaas.NotFound {
			return err // retried with backoff
		}
		r.Status, r.CompletedAt = StatusFailed, s.clock.Now()
		r.ErrorMessage = "export failed"
		if m := eusaas.MessageOf(err); m != "" {
			r.ErrorMessage += ": " + m
		}
		return s.d.Store.UpdateRequest(ctx, &r)
	}
	now := s.clock.Now()
	r.Status, r.Progress, r.CompletedAt, r.ExpiresAt = StatusCompleted, 100, now, now.Add(s.o.ExportTTL)
	r.Archive, r.ArchiveSHA256 = name, sum
	return s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Store.UpdateRequest(ctx, &r); err != nil {
			return err
		}
		_, err := s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: ActionExportCompleted,
			ResourceType: resourceGDPR, ResourceID: r.ID, Changes: map[string]any{"counts": r.Counts, "sha256": sum}})
		return err
	})
}

// writeArchive writes the export archive of r under name: every table (or the subject
// rows) plus, when asked, the audit log. With key, the archive is sealed with AES-GCM
// (the erasure backup). It fills r.Counts and returns the archive file's SHA-256.
func (s *Service) writeArchive(ctx context.Context, r *Request, name string, key []byte) (string, error) {
	tables, err := s.d.Data.Tables(ctx, r.TenantID)
	if err != nil {
		return "", err
	}
	if len(r.Subjects) > 0 {
		kept := tables[:0]
		for _, t := range tables {
			if t.SubjectColumn != "" {
				kept = append(kept, t)
			}
		}
		tables = kept
	}
	if key == nil {
		// Exports leave secrets out (password and token hashes); the sealed backup keeps
		// everything, since it exists to restore.
		for i := range tables {
			tables[i].Columns = slices.DeleteFunc(slices.Clone(tables[i].Columns), SecretColumn)
		}
	}
	w, err := s.d.Archives.Create(ctx, name)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	var out io.Writer = io.MultiWriter(w, h)
	var seal *sealWriter
	if key != nil {
		if seal, err = newSealWriter(out, key); err != nil {
			_ = w.Abort()
			return "", err
		}
		out = seal
	}
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.Name
	}
	aw := newArchiveWriter(out, Manifest{TenantID: r.TenantID.String(), RequestID: r.ID, Format: r.Format,
		Subjects: r.Subjects, CreatedAt: s.clock.Now(), Tables: names}, s.o.SigningKey)
	r.Counts = map[string]int{}
	fail := func(err error) (string, error) {
		_ = w.Abort()
		return "", err
	}
	for i, t := range tables {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		rows, err := s.writeTable(ctx, aw, r, t)
		if err != nil {
			return fail(err)
		}
		r.Counts[t.Name] = int(rows)
		if r.Kind == KindExport {
			r.Progress = (i + 1) * 90 / max(len(tables), 1)
			if err := s.d.Store.UpdateRequest(ctx, r); err != nil {
				return fail(err)
			}
		}
	}
	if r.IncludeAuditLogs && s.d.Audit != nil {
		if err := s.writeAudit(ctx, aw, r); err != nil {
			return fail(err)
		}
	}
	if err := aw.close(); err != nil {
		return fail(err)
	}
	if seal != nil {
		if err := seal.Close(); err != nil {
			return fail(err)
		}
	}
	if err := w.Commit(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// SecretColumn reports whether a column holds a secret that an export must not carry:
// password*, *_hash (password and token hashes), *secret*, *token* other than ids.
func SecretColumn(name string) bool {
	n := strings.ToLower(name)
	return strings.HasPrefix(n, "password") || strings.HasSuffix(n, "_hash") || strings.Contains(n, "secret") ||
		(strings.Contains(n, "token") && !strings.HasSuffix(n, "_id"))
}

func fileName(table string, f Format) string {
	safe := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < 0x20 {
			return '_'
		}
		return r
	}, table)
	return "data/" + safe + "." + string(f)
}

func (s *Service) writeTable(ctx context.Context, aw *archiveWriter, r *Request, t Table) (int64, error) {
	name := fileName(t.Name, r.Format)
	m, err := aw.create(name)
	if err != nil {
		return 0, err
	}
	enc := newEncoder(r.Format, m.bw, t.Name)
	if err := enc.begin(t.Columns); err != nil {
		return 0, err
	}
	ts := aw.describeTable(name, t.Name, t.Columns)
	var rows int64
	err = s.d.Data.Scan(ctx, r.TenantID, t, r.Subjects, func(values eusaas.DataRow) error {
		rows++
		ts.observe(values)
		return enc.row(values)
	})
	if err != nil {
		return 0, err
	}
	if err := enc.end(); err != nil {
		return 0, err
	}
	return rows, aw.finish(m, name, t.Name, rows)
}

func (s *Service) writeAudit(ctx context.Context, aw *archiveWriter, r *Request) error {
	const name = "audit/entries.json"
	m, err := aw.create(name)
	if err != nil {
		return err
	}
	var rows int64
	if _, err := m.bw.WriteString("["); err != nil {
		return err
	}
	entries := s.d.Audit.Entries
	if len(r.Subjects) > 0 {
		// Only the listed subjects' data: never the whole tenant's log (other persons' IP
		// addresses, e-mails).
		entries = func(context.Context, eusaas.TenantID, func([]byte) error) error { return nil }
		if sa, ok := s.d.Audit.(SubjectAuditSource); ok {
			entries = func(ctx context.Context, tenant eusaas.TenantID, fn func([]byte) error) error {
				return sa.SubjectEntries(ctx, tenant, r.Subjects, fn)
			}
		}
	}
	err = entries(ctx, r.TenantID, func(entry []byte) error {
		if rows > 0 {
			if err := m.bw.WriteByte(','); err != nil {
				return err
			}
		}
		rows++
		if _, err := m.bw.WriteString("\n"); err != nil {
			return err
		}
		_, err := m.bw.Write(entry)
		return err
	})
	if err != nil {
		return err
	}
	if _, err := m.bw.WriteString("\n]\n"); err != nil {
		return err
	}
	if err := aw.finish(m, name, "", rows); err != nil {
		return err
	}
	aw.describeFile(name, auditEntriesSchema)
	r.Counts["audit_entries"] = int(rows)
	cp, err := s.d.Audit.LatestCheckpoint(ctx, r.TenantID)
	if err != nil && eusaas.KindOf(err) != eusaas.NotFound {
		return err
	}
	if len(cp) == 0 {
		cp = []byte("null")
	}
	const cpName = "audit/checkpoint.json"
	cm, err := aw.create(cpName)
	if err != nil {
		return err
	}
	if _, err := cm.bw.Write(cp); err != nil {
		return err
	}
	aw.describeFile(cpName, auditCheckpointSchema)
	return aw.finish(cm, cpName, "", 1)
}

// CleanupExports removes archives of exports past their expiry and marks them EXPIRED.
func (s *Service) CleanupExports(ctx context.Context) error {
	rs, err := s.d.Store.ExpiredExports(ctx, s.clock.Now())
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range rs {
		if err := s.d.Archives.Delete(ctx, r.Archive); err != nil {
			errs = append(errs, err)
			continue
		}
		r.Status = StatusExpired
		if err := s.d.Store.UpdateRequest(ctx, &r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ---- Subject erasure (Art. 17) ----

// RequestErasure records the erasure of one data subject and enqueues its job. Erasing a
// subject already erased (or being erased) returns that request unchanged with created false.
func (s *Service) RequestErasure(ctx context.Context, tenant eusaas.TenantID, subject, reason string) (r Request, created bool, err error) {
	r, err = s.requestErasure(ctx, tenant, subject, reason, &created)
	return r, created, err
}

func (s *Service) requestErasure(ctx context.Context, tenant eusaas.TenantID, subject, reason string, created *bool) (Request, error) {
	var v eusaas.Violations
	if subject == "" || len(subject) > 200 {
		v.Add("body.data_subject_id", "must be a non-empty id of at most 200 characters")
	}
	if len(reason) > 1000 {
		v.Add("body.reason", "must be at most 1000 characters")
	}
	if err := v.Err(); err != nil {
		return Request{}, err
	}
	if prev, err := s.d.Store.SubjectErasure(ctx, tenant, subject); err == nil {
		return prev, nil
	} else if eusaas.KindOf(err) != eusaas.NotFound {
		return Request{}, err
	}
	if err := s.checkHolds(ctx, tenant); err != nil {
		return Request{}, err
	}
	if err := s.checkSubjects(ctx, tenant, []string{subject}, "body.data_subject_id"); err != nil {
		return Request{}, err
	}
	r := s.newRequest(ctx, tenant, KindSubjectErasure)
	r.SubjectID, r.Reason = subject, reason
	*created = true
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Store.CreateRequest(ctx, r); err != nil {
			return err
		}
		if _, err := s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Action: ActionErasureRequested, ResourceType: resourceGDPR,
			ResourceID: r.ID, Changes: map[string]any{"data_subject_id": subject}}); err != nil {
			return err
		}
		return s.d.Queue.Enqueue(ctx, JobSubjectErasure, jobArgs{TenantID: tenant, RequestID: r.ID}, nil)
	})
	return r, err
}

// EstimatedCompletion is when a request is expected to finish (shown to callers).
func (s *Service) EstimatedCompletion(r Request) time.Time {
	if r.Done() {
		return r.CompletedAt
	}
	return r.RequestedAt.Add(defaultEstimatedErasureWindow)
}

func (s *Service) runSubjectErasure(ctx context.Context, tenant eusaas.TenantID, id string) error {
	r, err := s.d.Store.Request(ctx, tenant, id)
	if err != nil {
		if eusaas.KindOf(err) == eusaas.NotFound {
			return nil
		}
		return err
	}
	if r.Done() {
		return nil
	}
	r.Status = StatusProcessing
	if err := s.d.Store.UpdateRequest(ctx, &r); err != nil {
		return err
	}
	counts := map[string]int{}
	// Each eraser is idempotent, so a retry after a partial run is safe.
	if s.d.Users != nil {
		c, err := s.d.Users.EraseSubject(ctx, tenant, r.SubjectID)
		if err != nil {
			return err
		}
		for k, v := range c {
			counts["auth."+k] = v
		}
	}
	if s.d.AuditEraser != nil {
		n, err := s.d.AuditEraser.EraseSubject(ctx, tenant, r.SubjectID)
		if err != nil {
			return err
		}
		counts["audit.personal_data"] = n
	}
	var retained []string
	if s.d.Billing != nil {
		n, err := s.d.Billing.PseudonymizeSubject(ctx, tenant, r.SubjectID)
		if err != nil {
			return err
		}
		counts["billing.pseudonymised"] = n
		retained = append(retained, "invoices (legal retention), pseudonymised")
	}
	now := s.clock.Now()
	r.Status, r.Progress, r.CompletedAt, r.Counts = StatusCompleted, 100, now, counts
	return s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		ce, err := s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: ActionSubjectErased,
			ResourceType: resourceGDPR, ResourceID: r.ID, Changes: map[string]any{"data_subject_id": r.SubjectID, "counts": counts}})
		if err != nil {
			return err
		}
		cert, err := signCertificate(s.o.SigningKey, Certificate{Type: KindSubjectErasure, RequestID: r.ID, TenantID: tenant.String(),
			SubjectID: r.SubjectID, RequestedAt: r.RequestedAt, CompletedAt: now, Counts: counts,
			AuditEntries: []CertifiedEntry{ce}, Retained: retained})
		if err != nil {
			return err
		}
		r.Certificate = cert
		return s.d.Store.UpdateRequest(ctx, &r)
	})
}

// ---- Retention ----

// RetentionPolicy returns the tenant's policy (the defaults when it never set one).
func (s *Service) RetentionPolicy(ctx context.Context, tenant eusaas.TenantID) (Policy, error) {
	p, err := s.d.Store.Policy(ctx, tenant)
	if eusaas.KindOf(err) == eusaas.NotFound && err != nil {
		return DefaultPolicy(tenant), nil
	}
	return p, err
}

// SetRetentionPolicy validates and stores the tenant's policy.
func (s *Service) SetRetentionPolicy(ctx context.Context, p Policy) (Policy, error) {
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	a := eusaas.ActorFrom(ctx)
	p.UpdatedAt, p.UpdatedBy = s.clock.Now(), a.ID
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Store.PutPolicy(ctx, p); err != nil {
			return err
		}
		_, err := s.record(ctx, eusaas.AuditEvent{TenantID: p.TenantID, Action: ActionRetentionPolicyUpdated, ResourceType: resourceRetention,
			ResourceID: p.TenantID.String(), Changes: map[string]any{"default_retention_days": p.DefaultRetentionDays,
				"audit_log_retention_days": p.AuditLogRetentionDays, "backup_retention_days": p.BackupRetentionDays,
				"pii_retention_days": p.PIIRetentionDays}})
		return err
	})
	return p, err
}

// EnforceRetention runs every Retainer for every tenant and records RETENTION_EXECUTED with
// the counts. A failing tenant does not stop the others; the errors are joined.
func (s *Service) EnforceRetention(ctx context.Context) error {
	if s.d.Tenants == nil || len(s.d.Retainers) == 0 {
		return nil
	}
	ids, err := s.d.Tenants.TenantIDs(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if _, err := s.EnforceTenantRetention(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// EnforceTenantRetention enforces the policy of one tenant and returns the counts.
func (s *Service) EnforceTenantRetention(ctx context.Context, tenant eusaas.TenantID) (map[string]int, error) {
	p, err := s.RetentionPolicy(ctx, tenant)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	total := map[string]int{}
	for _, rt := range s.d.Retainers {
		c, err := rt.EnforceRetention(ctx, tenant, p, now, s.o.RetentionGrace)
		if err != nil {
			return nil, err
		}
		for k, v := range c {
			total[k] += v
		}
	}
	changes := map[string]any{"grace_days": int(s.o.RetentionGrace / (24 * time.Hour))}
	for k, v := range total {
		changes[k] = v
	}
	_, err = s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: ActionRetentionExecuted,
		ResourceType: resourceRetention, ResourceID: tenant.String(), Changes: changes})
	return total, err
}

// ---- Legal holds ----

// PlaceHold puts a legal hold on the tenant.
func (s *Service) PlaceHold(ctx context.Context, tenant eusaas.TenantID, reason string) (LegalHold, error) {
	var v eusaas.Violations
	if reason == "" || len(reason) > 500 {
		v.Add("body.reason", "must be 1..500 characters")
	}
	if err := v.Err(); err != nil {
		return LegalHold{}, err
	}
	h := LegalHold{ID: uuid.Must(uuid.NewV7()).String(), TenantID: tenant, Reason: reason, CreatedAt: s.clock.Now(), CreatedBy: eusaas.ActorFrom(ctx).ID}
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Store.PutHold(ctx, h); err != nil {
			return err
		}
		_, err := s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Action: ActionLegalHoldPlaced, ResourceType: resourceHold, ResourceID: h.ID,
			Changes: map[string]any{"reason": reason}})
		return err
	})
	return h, err
}

// ReleaseHold removes a legal hold.
func (s *Service) ReleaseHold(ctx context.Context, tenant eusaas.TenantID, id string) error {
	return s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Store.DeleteHold(ctx, tenant, id); err != nil {
			return err
		}
		_, err := s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Action: ActionLegalHoldReleased, ResourceType: resourceHold, ResourceID: id})
		return err
	})
}

// Holds lists the tenant's legal holds.
func (s *Service) Holds(ctx context.Context, tenant eusaas.TenantID) ([]LegalHold, error) {
	return s.d.Store.Holds(ctx, tenant)
}

// ---- Deadlines ----

// Overdue counts requests past their one-month deadline that are not fulfilled (for
// /metrics).
func (s *Service) Overdue(ctx context.Context) (int, error) {
	return s.d.Store.CountOverdue(ctx, s.clock.Now())
}

// Resume re-enqueues every unfinished request. Call it at start-up in the in-memory mode
// (where the job queue does not survive a restart) or by an operator after a job was
// discarded; handlers are idempotent.
func (s *Service) Resume(ctx context.Context) error {
	for kind, job := range map[Kind]string{KindExport: JobExport, KindSubjectErasure: JobSubjectErasure, KindTenantErasure: JobTenantErasure} {
		rs, err := s.d.Store.Unfinished(ctx, kind)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if err := s.d.Queue.Enqueue(ctx, job, jobArgs{TenantID: r.TenantID, RequestID: r.ID}, nil); err != nil {
				return err
			}
		}
	}
	return nil
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
