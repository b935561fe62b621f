package gdpr

import (
	"context"
	"slices"
	"time"

	"github.com/eusaas/eusaas"
)

// Data-subject requests (Art. 15-21): the workflow around a request from a person — its
// type, identity check, one-month deadline (extendable once by two months with notice),
// what was done, and a signed evidence bundle at the end. The export and erasure jobs do
// the work; a DSR records why, for whom, by when and with what result.

// DSRType is the right a data subject exercises.
type DSRType string

// Request types.
const (
	DSRAccess        DSRType = "ACCESS"        // Art. 15
	DSRRectification DSRType = "RECTIFICATION" // Art. 16
	DSRErasure       DSRType = "ERASURE"       // Art. 17
	DSRRestriction   DSRType = "RESTRICTION"   // Art. 18
	DSRPortability   DSRType = "PORTABILITY"   // Art. 20
	DSRObjection     DSRType = "OBJECTION"     // Art. 21
)

// DSRTypes lists the request types.
var DSRTypes = []DSRType{DSRAccess, DSRRectification, DSRErasure, DSRRestriction, DSRObjection, DSRPortability}

// DSRStatus is where a request stands.
type DSRStatus string

// Statuses. RECEIVED: the subject is named, the identity not yet verified;
// IDENTITY_PENDING: only contact details are known, the subject must still be identified;
// IN_PROGRESS: verified and being handled; EXTENDED: being handled under the extended
// deadline; COMPLETED and REJECTED are final.
const (
	DSRReceived        DSRStatus = "RECEIVED"
	DSRIdentityPending DSRStatus = "IDENTITY_PENDING"
	DSRInProgress      DSRStatus = "IN_PROGRESS"
	DSRExtended        DSRStatus = "EXTENDED"
	DSRCompleted       DSRStatus = "COMPLETED"
	DSRRejected        DSRStatus = "REJECTED"
)

// DSRStatuses lists the statuses.
var DSRStatuses = []DSRStatus{DSRReceived, DSRIdentityPending, DSRInProgress, DSRExtended, DSRCompleted, DSRRejected}

// Timeline event names.
const (
	EventReceived         = "RECEIVED"
	EventIdentityVerified = "IDENTITY_VERIFIED"
	EventActionStarted    = "ACTION_STARTED"
	EventExtended         = "EXTENDED"
	EventCompleted        = "COMPLETED"
	EventRejected         = "REJECTED"
)

// DSREvent is one entry of a request's timeline.
type DSREvent struct {
	At     time.Time `json:"at"`
	Event  string    `json:"event"`
	Status DSRStatus `json:"status"`
	Actor  string    `json:"actor,omitempty"`
	Note   string    `json:"note,omitempty"`
}

// DSR is one data-subject request, kept in the platform schema (it outlives an erasure of
// the subject, as the controller's accountability record).
type DSR struct {
	ID string
	// Version is the optimistic-concurrency counter (1 when created, +1 per update).
	Version  int64
	TenantID eusaas.TenantID
	Type     DSRType
	Status   DSRStatus
	// SubjectID is the data subject (a user id); Email the contact the request came from.
	SubjectID string
	Email     string
	// EmailSHA256 is the contact's digest kept once an erasure removed Email.
	EmailSHA256 string
	Details     string
	// Format of the export of ACCESS and PORTABILITY requests.
	Format     Format
	ReceivedAt time.Time
	// DueAt is one month after receipt; ExtendedDueAt, once extended, three months.
	DueAt           time.Time
	ExtendedDueAt   time.Time
	ExtensionReason string
	CompletedAt     time.Time // COMPLETED or REJECTED
	RejectionReason string
	Outcome         string // what the controller did (manual types), or a summary

	IdentityVerifiedAt time.Time
	IdentityVerifiedBy string
	IdentityMethod     string

	// JobID is the export or subject erasure request doing the work (ACCESS,
	// PORTABILITY, ERASURE).
	JobID    string
	Counts   map[string]int
	Timeline []DSREvent
	Evidence *SignedEvidence
}

// Final reports whether the request is COMPLETED or REJECTED.
func (d DSR) Final() bool { return d.Status == DSRCompleted || d.Status == DSRRejected }

// Deadline is the deadline in force: the extended one once extended.
func (d DSR) Deadline() time.Time {
	if !d.ExtendedDueAt.IsZero() {
		return d.ExtendedDueAt
	}
	return d.DueAt
}

// Overdue reports whether the request is open past its deadline at now.
func (d DSR) Overdue(now time.Time) bool { return !d.Final() && now.After(d.Deadline()) }

// Clone returns a deep copy (stores hand out copies).
func (d DSR) Clone() DSR {
	c := d
	if d.Counts != nil {
		c.Counts = make(map[string]int, len(d.Counts))
		for k, v := range d.Counts {
			c.Counts[k] = v
		}
	}
	c.Timeline = slices.Clone(d.Timeline)
	if d.Evidence != nil {
		e := *d.Evidence
		e.Evidence = slices.Clone(d.Evidence.Evidence)
		c.Evidence = &e
	}
	return c
}

// DSRFilter selects requests of one tenant. Zero fields do not filter.
type DSRFilter struct {
	Status DSRStatus
	Type   DSRType
	// OverdueAt, when set, keeps only requests open past their deadline at that time.
	OverdueAt time.Time
	// After is a request id: only requests after it in id order (ids are UUIDv7, so
	// creation order). Limit caps the result (0: no cap).
	After string
	Limit int
}

// Match reports whether d passes the filter's Status, Type and OverdueAt (stores that
// filter in memory use it; After and Limit are the store's).
func (f DSRFilter) Match(d DSR) bool {
	return (f.Status == "" || d.Status == f.Status) && (f.Type == "" || d.Type == f.Type) &&
		(f.OverdueAt.IsZero() || d.Overdue(f.OverdueAt))
}

// DSRStore keeps data-subject requests. It is a port of its own (not a RequestStore
// method set) so an embedder without the workflow keeps the older ports unchanged.
type DSRStore interface {
	// CreateDSR stores d with Version 1; AlreadyExists when the id exists.
	CreateDSR(ctx context.Context, d DSR) error
	// DSR returns the tenant's request id; NotFound when absent or another tenant's.
	DSR(ctx context.Context, tenant eusaas.TenantID, id string) (DSR, error)
	// UpdateDSR replaces d if the stored Version equals d.Version, then increments
	// d.Version. NotFound when absent (or another tenant's); Aborted when stale.
	UpdateDSR(ctx context.Context, d *DSR) error
	// ListDSRs lists the tenant's requests matching f, in id order.
	ListDSRs(ctx context.Context, tenant eusaas.TenantID, f DSRFilter) ([]DSR, error)
	// OpenDSRsByJob lists the tenant's requests that are neither COMPLETED nor REJECTED
	// whose JobID is job (several requests may wait on one erasure), in id order.
	OpenDSRsByJob(ctx context.Context, tenant eusaas.TenantID, job string) ([]DSR, error)
	// CountDSRDeadlines counts, over all tenants, the open requests past their deadline
	// at now (overdue) and those not overdue whose deadline is not after soon (due soon).
	CountDSRDeadlines(ctx context.Context, now, soon time.Time) (overdue, dueSoon int, err error)
}
