package gdpr

import (
	"slices"
	"strconv"
	"time"

	"github.com/eusaas/eusaas"
)

// Kind is the kind of a GDPR request.
type Kind string

// Request kinds.
const (
	KindExport         Kind = "EXPORT"          // Art. 20 portability
	KindSubjectErasure Kind = "SUBJECT_ERASURE" // Art. 17 for one data subject
	KindTenantErasure  Kind = "TENANT_ERASURE"  // Art. 17 for the whole tenant (the saga)
)

// Status of a request.
type Status string

// Statuses. An export ends EXPIRED when its archive is removed.
const (
	StatusPending    Status = "PENDING"
	StatusProcessing Status = "PROCESSING"
	StatusCompleted  Status = "COMPLETED"
	StatusFailed     Status = "FAILED"
	StatusExpired    Status = "EXPIRED"
)

// Format of the data files of an export.
type Format string

// Export formats.
const (
	FormatJSON Format = "json"
	FormatCSV  Format = "csv"
	FormatXML  Format = "xml"
)

// Formats lists the accepted export formats.
var Formats = []Format{FormatJSON, FormatCSV, FormatXML}

// Request is one GDPR request: an export, a subject erasure or a tenant erasure saga. It is
// kept in the platform schema, so it outlives the tenant's data.
type Request struct {
	ID string
	// Version is the store's optimistic-concurrency counter: 1 when created, +1 on each
	// update. An update carrying a stale version fails (two runs of one job cannot both win).
	Version     int64
	TenantID    eusaas.TenantID
	Kind        Kind
	Status      Status
	Progress    int // percent, 0..100
	RequestedAt time.Time
	// DueAt is the Art. 12(3) deadline: one calendar month from receipt.
	DueAt        time.Time
	CompletedAt  time.Time // zero until COMPLETED or FAILED
	ExpiresAt    time.Time // exports: when the archive is removed
	ErrorMessage string
	RequestedBy  eusaas.Actor

	// Export.
	Format           Format
	Subjects         []string
	IncludeAuditLogs bool
	// Access marks an Art. 15 access export: its archive carries processing.json.
	Access        bool   `json:",omitempty"`
	Archive       string // archive name in the ArchiveStore
	ArchiveSHA256 string

	// Subject erasure.
	SubjectID string
	Reason    string

	// Erasures: counts by kind of data, and the saga's steps.
	Counts map[string]int
	Steps  []StepState
	Backup *BackupInfo
	// AuditEntries are the audit entries written so far (the saga's intent entry first).
	AuditEntries []CertifiedEntry
	Certificate  *SignedCertificate
}

// Done reports whether the request reached a final status.
func (r Request) Done() bool {
	return r.Status == StatusCompleted || r.Status == StatusFailed || r.Status == StatusExpired
}

// Overdue reports whether the request is unfinished past its deadline. A FAILED request is
// unfinished: the right has not been honoured.
func (r Request) Overdue(now time.Time) bool {
	return r.Status != StatusCompleted && r.Status != StatusExpired && now.After(r.DueAt)
}

// Clone returns a deep copy (stores hand out copies).
func (r Request) Clone() Request {
	c := r
	c.Subjects = slices.Clone(r.Subjects)
	if r.Counts != nil {
		c.Counts = make(map[string]int, len(r.Counts))
		for k, v := range r.Counts {
			c.Counts[k] = v
		}
	}
	c.Steps = make([]StepState, len(r.Steps))
	for i, s := range r.Steps {
		c.Steps[i] = s
		if s.Counts != nil {
			c.Steps[i].Counts = make(map[string]int, len(s.Counts))
			for k, v := range s.Counts {
				c.Steps[i].Counts[k] = v
			}
		}
	}
	if r.Steps == nil {
		c.Steps = nil
	}
	c.AuditEntries = slices.Clone(r.AuditEntries)
	if r.Backup != nil {
		b := *r.Backup
		c.Backup = &b
	}
	if r.Certificate != nil {
		sc := *r.Certificate
		sc.Certificate = slices.Clone(r.Certificate.Certificate)
		c.Certificate = &sc
	}
	return c
}

// DueDate is one calendar month after t (GDPR Art. 12(3)), counted as Regulation (EEC,
// Euratom) No 1182/71 counts periods: the same date in the next month, or the last day of
// that month when it is shorter (31 January -> 28/29 February, never spilling into the
// month after), and a deadline falling on a Saturday or Sunday moves to the next Monday
// (Art. 3(4)). Public holidays are not moved for: they differ per Member State, and an
// earlier deadline is the safe side. The time of day of t is kept.
func DueDate(t time.Time) time.Time { return Deadline(t, 1) }

// Deadline is the end of a period of months from t, counted as DueDate counts one.
func Deadline(t time.Time, months int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(months), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	last := first.AddDate(0, 1, -1).Day()
	due := time.Date(first.Year(), first.Month(), min(d, last), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	switch due.Weekday() {
	case time.Saturday:
		due = due.AddDate(0, 0, 2)
	case time.Sunday:
		due = due.AddDate(0, 0, 1)
	}
	return due
}

// Tenant erasure steps, in SPEC order.
const (
	StepFreeze = iota + 1
	StepBackup
	StepDeleteData
	StepDropSchema
	StepPurgeCache
	StepAuditEntry
	StepMarkDeleted
)

// StepNames names the seven steps of the tenant erasure saga.
var StepNames = [...]string{
	StepFreeze:      "freeze_tenant",
	StepBackup:      "export_backup",
	StepDeleteData:  "cascade_delete_data",
	StepDropSchema:  "drop_schema",
	StepPurgeCache:  "purge_caches",
	StepAuditEntry:  "create_audit_entry",
	StepMarkDeleted: "transition_deleted",
}

// StepState is the stored state of one saga step.
type StepState struct {
	Step   int            `json:"step"`
	Name   string         `json:"name"`
	Done   bool           `json:"done"`
	DoneAt time.Time      `json:"done_at,omitzero"`
	Counts map[string]int `json:"counts,omitempty"`
}

// BackupInfo describes the encrypted step-two backup of an erased tenant.
type BackupInfo struct {
	Archive string `json:"archive"`
	Cipher  string `json:"cipher"`
	// KeyID is the SHA-256 fingerprint of the per-tenant key (never the key).
	KeyID        string    `json:"key_id"`
	SHA256       string    `json:"sha256"`
	DestroyAfter time.Time `json:"key_destroy_after"`
}

// Policy is a tenant's retention policy (days).
type Policy struct {
	TenantID              eusaas.TenantID
	DefaultRetentionDays  int
	AuditLogRetentionDays int
	BackupRetentionDays   int
	PIIRetentionDays      int
	UpdatedAt             time.Time // zero while the defaults apply
	UpdatedBy             string
	// Restricted are the data subjects under an Art. 18 restriction when retention runs
	// (not stored: EnforceTenantRetention fills it from the RESTRICTION requests). A
	// Retainer keeps their rows: restricted data is stored, neither processed nor deleted.
	Restricted []string
}

// DefaultPolicy is the policy of a tenant that never set one.
func DefaultPolicy(tenant eusaas.TenantID) Policy {
	return Policy{TenantID: tenant, DefaultRetentionDays: 365, AuditLogRetentionDays: 2555,
		BackupRetentionDays: 30, PIIRetentionDays: 730}
}

// Validate checks the SPEC bounds: default 1..3650, audit 30..3650, backup 7..365,
// pii 1..3650.
func (p Policy) Validate() error {
	var v eusaas.Violations
	check := func(field string, val, lo, hi int) {
		if val < lo || val > hi {
			v.Add("body."+field, "must be between "+itoa(lo)+" and "+itoa(hi))
		}
	}
	check("default_retention_days", p.DefaultRetentionDays, 1, 3650)
	check("audit_log_retention_days", p.AuditLogRetentionDays, 30, 3650)
	check("backup_retention_days", p.BackupRetentionDays, 7, 365)
	check("pii_retention_days", p.PIIRetentionDays, 1, 3650)
	return v.Err()
}

// LegalHold preserves a tenant's data: while one exists, neither the tenant nor its
// subjects can be erased.
type LegalHold struct {
	ID        string
	TenantID  eusaas.TenantID
	Reason    string
	CreatedAt time.Time
	CreatedBy string
}

// ExportRequest is the input of an export.
type ExportRequest struct {
	Subjects         []string
	Format           Format
	IncludeAuditLogs bool
	// Access makes it an Art. 15 access export (the ACCESS data-subject request): the archive
	// also holds the purposes, recipients, retention and rights (processing.json).
	Access bool
}

// Validate checks the format and subject ids.
func (e ExportRequest) Validate() error {
	var v eusaas.Violations
	if !slices.Contains(Formats, e.Format) {
		v.Add("body.format", "must be one of json, csv, xml")
	}
	if len(e.Subjects) > 1000 {
		v.Add("body.data_subjects", "at most 1000 subjects")
	}
	for i, s := range e.Subjects {
		if s == "" || len(s) > 200 {
			v.Add("body.data_subjects["+itoa(i)+"]", "must be a non-empty id of at most 200 characters")
		}
	}
	return v.Err()
}

func itoa(n int) string { return strconv.Itoa(n) }
