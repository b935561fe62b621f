package gdpr

import (
	"context"
	"io"
	"time"

	"github.com/eusaas/eusaas"
)

// The three stores below keep GDPR requests, retention policies and legal holds
// (Postgres: the platform schema, so records outlive the tenant). They are separate ports
// so an embedder can keep each where it fits; one adapter type may implement all three.
// Every method honours ctx cancellation and takes part in the transaction ctx carries (the
// same adapter's TxRunner).

// RequestStore keeps export and erasure requests (the tenant erasure saga's state too).
type RequestStore interface {
	// CreateRequest stores a new request with Version 1. AlreadyExists when the id exists,
	// or when r is a tenant erasure and the tenant already has one (one saga per tenant).
	CreateRequest(ctx context.Context, r Request) error
	// Request returns the tenant's request id; NotFound when absent or another tenant's.
	Request(ctx context.Context, tenant eusaas.TenantID, id string) (Request, error)
	// UpdateRequest replaces a stored request if its stored Version equals r.Version, and
	// then increments r.Version. NotFound when absent (or another tenant's); Aborted when the
	// version is stale (someone else updated it since r was read).
	UpdateRequest(ctx context.Context, r *Request) error
	// TenantErasure returns the tenant's erasure saga; NotFound when none.
	TenantErasure(ctx context.Context, tenant eusaas.TenantID) (Request, error)
	// SubjectErasure returns the latest subject erasure of subject that did not fail;
	// NotFound when none.
	SubjectErasure(ctx context.Context, tenant eusaas.TenantID, subject string) (Request, error)
	// Unfinished lists requests of kind in PENDING or PROCESSING, oldest first.
	Unfinished(ctx context.Context, kind Kind) ([]Request, error)
	// ExpiredExports lists COMPLETED exports whose ExpiresAt is not after now.
	ExpiredExports(ctx context.Context, now time.Time) ([]Request, error)
	// Exports lists the tenant's exports in every status, oldest first (erasure deletes
	// their archives).
	Exports(ctx context.Context, tenant eusaas.TenantID) ([]Request, error)
	// CountOverdue counts requests that are neither COMPLETED nor EXPIRED with DueAt before now.
	CountOverdue(ctx context.Context, now time.Time) (int, error)
}

// PolicyStore keeps each tenant's retention policy.
type PolicyStore interface {
	// Policy returns the tenant's retention policy; NotFound when it never set one.
	Policy(ctx context.Context, tenant eusaas.TenantID) (Policy, error)
	// PutPolicy creates or replaces the tenant's policy.
	PutPolicy(ctx context.Context, p Policy) error
}

// HoldStore keeps legal holds.
type HoldStore interface {
	// Holds lists the tenant's legal holds, oldest first.
	Holds(ctx context.Context, tenant eusaas.TenantID) ([]LegalHold, error)
	// PutHold stores a hold; AlreadyExists on a duplicate id.
	PutHold(ctx context.Context, h LegalHold) error
	// DeleteHold removes a hold; NotFound when absent or another tenant's.
	DeleteHold(ctx context.Context, tenant eusaas.TenantID, id string) error
}

// Key is a per-tenant backup encryption key.
type Key struct {
	TenantID     eusaas.TenantID
	Material     []byte // 32 bytes (AES-256); nil once destroyed
	CreatedAt    time.Time
	DestroyAfter time.Time
	DestroyedAt  time.Time // zero while the key exists
}

// KeyStore keeps per-tenant backup keys, outside the tenant's schema. Destroying a key
// makes every backup encrypted with it unreadable (crypto-shredding).
type KeyStore interface {
	// CreateKey stores k; AlreadyExists when the tenant has a key (destroyed or not).
	CreateKey(ctx context.Context, k Key) error
	// Key returns the tenant's key (Material nil when destroyed); NotFound when none.
	Key(ctx context.Context, tenant eusaas.TenantID) (Key, error)
	// DestroyKey erases the key material and records when; idempotent.
	DestroyKey(ctx context.Context, tenant eusaas.TenantID, at time.Time) error
	// DueKeys lists tenants whose live key's DestroyAfter is not after now.
	DueKeys(ctx context.Context, now time.Time) ([]eusaas.TenantID, error)
}

// ArchiveWriter receives an archive. Nothing is visible under its name until Commit;
// Abort discards it. Exactly one of them must be called.
type ArchiveWriter interface {
	io.Writer
	Commit() error
	Abort() error
}

// ArchiveStore keeps export archives and encrypted backups (a filesystem to start).
type ArchiveStore interface {
	// Create starts writing name (replacing it on Commit when it exists).
	Create(ctx context.Context, name string) (ArchiveWriter, error)
	// Open reads name; NotFound when absent.
	Open(ctx context.Context, name string) (io.ReadCloser, int64, error)
	// Delete removes name; deleting a missing archive is not an error.
	Delete(ctx context.Context, name string) error
}

// PartialRemover is an optional extension of ArchiveStore: RemovePartial deletes what a
// Create of name left behind when its process died before Commit or Abort (a temporary
// file), so an interrupted run leaves no orphan once it resumes. The caller is the only
// writer of name at the time (it holds the request's lease).
type PartialRemover interface {
	RemovePartial(ctx context.Context, name string) error
}

// Table describes one table of tenant data: the root package's neutral DataTable, so a
// store's eusaas.DataSource and this port speak of the same tables.
type Table = eusaas.DataTable

// TenantData gives generic access to all of a tenant's data.
type TenantData interface {
	// Tables lists the tenant's tables, sorted by name. A tenant without data (schema
	// dropped) has none.
	Tables(ctx context.Context, tenant eusaas.TenantID) ([]Table, error)
	// Scan streams table's rows in column order as typed values (the eusaas.DataRow value
	// set; nil for NULL). The row slice is valid only during the call (an adapter may reuse
	// it); the values in it may be kept. With subjects, only rows whose SubjectColumn is one
	// of them. fn's error stops the scan and is returned.
	Scan(ctx context.Context, tenant eusaas.TenantID, table Table, subjects []string, fn func(row eusaas.DataRow) error) error
	// DeleteAll deletes every row of every tenant table, returning counts per table;
	// idempotent (a second call returns zero counts; a dropped schema is no error).
	DeleteAll(ctx context.Context, tenant eusaas.TenantID) (map[string]int, error)
	// HasSubject reports whether any subject-linked row names subject.
	HasSubject(ctx context.Context, tenant eusaas.TenantID, subject string) (bool, error)
}

// SubjectFinder tells whether a data subject exists in a tenant's data, so requests naming
// an unknown subject are refused up front instead of producing an empty export or erasure.
type SubjectFinder interface {
	HasSubject(ctx context.Context, tenant eusaas.TenantID, subject string) (bool, error)
}

// Retainer enforces retention on the records it owns: records older than the policy's
// period are soft-deleted at now; records soft-deleted before now-grace are hard-deleted.
// It returns counts keyed "<resource>.soft_deleted" / "<resource>.hard_deleted".
// Idempotent: a second run at the same now changes nothing.
type Retainer interface {
	EnforceRetention(ctx context.Context, tenant eusaas.TenantID, p Policy, now time.Time, grace time.Duration) (map[string]int, error)
}

// Lifecycle is the tenancy service's deprovisioning transitions (both idempotent).
type Lifecycle interface {
	BeginDeprovision(ctx context.Context, id eusaas.TenantID) error
	CompleteDeprovision(ctx context.Context, id eusaas.TenantID) error
}

// SchemaDropper drops the tenant's data store (schema); idempotent.
type SchemaDropper interface {
	DropSchema(ctx context.Context, id eusaas.TenantID) error
}

// CachePurger removes every cached value about the tenant; idempotent.
type CachePurger interface {
	PurgeTenant(ctx context.Context, id eusaas.TenantID) error
}

// TenantLister lists the tenants periodic jobs work on (tenancy's ListActive, adapted).
type TenantLister interface {
	TenantIDs(ctx context.Context) ([]eusaas.TenantID, error)
}

// DeprovisioningLister is an optional extension of TenantLister: the tenants frozen for
// erasure (DEPROVISIONING). Sweep starts the erasure of any of them that has none (a process
// died between freezing the tenant and recording its erasure).
type DeprovisioningLister interface {
	DeprovisioningTenantIDs(ctx context.Context) ([]eusaas.TenantID, error)
}

// SubjectAuditSource is an optional interface of an AuditSource for exports limited to
// data subjects: SubjectEntries streams, oldest first, only the entries concerning the
// subjects (their own actions, entries about them, entries holding their personal data),
// with personal values belonging to anyone else withheld (Value empty). Without it a
// subject-scoped export carries no audit entries, never other persons' data.
type SubjectAuditSource interface {
	SubjectEntries(ctx context.Context, tenant eusaas.TenantID, subjects []string, fn func(entry []byte) error) error
}

// AuditSource gives an export the tenant's audit entries and latest signed checkpoint
// (adapted from the audit service). Entries streams each entry as JSON, oldest first.
type AuditSource interface {
	Entries(ctx context.Context, tenant eusaas.TenantID, fn func(entry []byte) error) error
	LatestCheckpoint(ctx context.Context, tenant eusaas.TenantID) ([]byte, error)
}

// UserEraser is auth's subject erasure (user record, sessions, invitations); idempotent.
type UserEraser interface {
	EraseSubject(ctx context.Context, tenant eusaas.TenantID, userID string) (map[string]int, error)
}

// AuditEraser is audit's erasure of a subject's personal side data; idempotent.
type AuditEraser interface {
	EraseSubject(ctx context.Context, tenant eusaas.TenantID, subject string) (int, error)
}

// TenantAuditEraser is an optional extension of AuditEraser: the tenant erasure deletes
// with it every personal value the audit log holds about the tenant (its chain and the
// platform's entries about it), so no e-mail or IP of its people outlives the erasure.
type TenantAuditEraser interface {
	EraseTenantPersonal(ctx context.Context, tenant eusaas.TenantID) (int, error)
}

// Pseudonymizer is billing's pseudonymisation of a subject in kept records (invoices).
type Pseudonymizer interface {
	PseudonymizeSubject(ctx context.Context, tenant eusaas.TenantID, subject string) (int, error)
}

// HashRecorder is an optional extension of eusaas.Recorder: a recorder that can report the
// hash of the entry it wrote lets erasure certificates cite the audit entries.
type HashRecorder interface {
	RecordHash(ctx context.Context, ev eusaas.AuditEvent) (string, error)
}
