package tenancy

import (
	"context"
	"time"

	"github.com/eusaas/eusaas"
)

// Store is the tenant registry. Implementations must be safe for concurrent use and, when
// the context carries a transaction of their adapter (eusaas.TxRunner), take part in it.
// A canceled context makes every method fail without changing anything.
type Store interface {
	// Create stores a new tenant exactly as given (Version included).
	// Errors: ErrSlugTaken (kind AlreadyExists) when a tenant that is not DELETED holds the
	// slug; AlreadyExists when the id exists.
	Create(ctx context.Context, t Tenant) error
	// Get returns the tenant with id, DELETED tombstones included. Errors: ErrNotFound.
	Get(ctx context.Context, id eusaas.TenantID) (Tenant, error)
	// GetBySlug returns the tenant holding slug that is not DELETED (a deleted tenant's slug
	// is free for reuse). Errors: ErrNotFound.
	GetBySlug(ctx context.Context, slug string) (Tenant, error)
	// List returns one page of tenants ordered by CreatedAt then ID (oldest first) and the
	// total matching the filter. page is already normalised.
	List(ctx context.Context, f ListFilter, page eusaas.Page) (eusaas.List[Tenant], error)
	// Update replaces the stored tenant with t (every field but ID, SchemaName and CreatedAt)
	// when the stored Version equals t.Version — a compare-and-swap. It stores and returns
	// the tenant with Version t.Version+1. Errors: ErrNotFound; ErrVersionConflict when the
	// versions differ (nothing changed); ErrSlugTaken when t revives a slug now held by
	// another tenant.
	Update(ctx context.Context, t Tenant) (Tenant, error)
}

// Provisioner creates, migrates and drops a tenant's isolated storage (a Postgres schema
// t_<hex>). Implementations must be safe for concurrent use.
type Provisioner interface {
	// Create makes the tenant's schema and brings it to the latest version atomically: on
	// error nothing of the schema is left behind. Calling it for an existing schema only
	// applies what is missing.
	Create(ctx context.Context, id eusaas.TenantID) error
	// Migrate applies the migrations the tenant's existing schema lacks; a no-op when it is
	// current. Errors: NotFound when the schema does not exist.
	Migrate(ctx context.Context, id eusaas.TenantID) error
	// Drop removes the schema and everything in it. Dropping a missing schema is not an
	// error (deprovisioning steps are idempotent).
	Drop(ctx context.Context, id eusaas.TenantID) error
}

// Cache holds tenants for fast reads (every tenant-scoped request checks its tenant's
// status). It is never authoritative: the service falls back to the Store on any cache error
// and writes every change through it. Implementations must be safe for concurrent use.
type Cache interface {
	// Get returns the cached tenant; ok is false on a miss.
	Get(ctx context.Context, id eusaas.TenantID) (t Tenant, ok bool, err error)
	// GetBySlug returns the cached tenant holding slug, skipping DELETED tenants (their slug
	// may have been reused); ok is false on a miss.
	GetBySlug(ctx context.Context, slug string) (t Tenant, ok bool, err error)
	// Set caches t (and its slug index entry) unless the cache holds a higher Version of the
	// same tenant, so a slow reader can never put an older tenant over a newer one.
	Set(ctx context.Context, t Tenant) error
	// Invalidate removes the tenant and its slug index entry. Idempotent.
	Invalidate(ctx context.Context, id eusaas.TenantID) error
}

// InvitationIssuer issues the owner invitation of a new tenant (the auth module implements
// it). It is called while the tenant is PROVISIONING, after its schema exists and before
// the tenant becomes ACTIVE, so it must not require the tenant to be ACTIVE; an error makes
// the provisioning fail (the tenant ends DELETED). The token is returned to the creator once
// and never stored or logged by tenancy.
type InvitationIssuer interface {
	IssueOwnerInvitation(ctx context.Context, tenant eusaas.TenantID, email string) (token string, expiresAt time.Time, err error)
}

// InvitationDraft is an owner invitation made before the tenant's schema exists, for
// asynchronous provisioning: the token's digest and lifetime, never the token itself, so it
// may sit in a job's arguments until the provisioning job stores it.
type InvitationDraft struct {
	ID        string    `json:"id"`
	Digest    []byte    `json:"digest"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// InvitationDrafter is the InvitationIssuer of asynchronous provisioning (Options.
// AsyncProvisioning): the owner invitation is made while the tenant is created, so its token
// is returned at once, and stored by the provisioning job once the schema exists.
type InvitationDrafter interface {
	// DraftOwnerInvitation makes the token and its draft without storing anything.
	DraftOwnerInvitation(ctx context.Context, tenant eusaas.TenantID, email string) (token string, d InvitationDraft, err error)
	// SaveOwnerInvitation stores the drafted invitation in the tenant's existing schema. It
	// is idempotent: a draft already stored is not an error (the job may run twice).
	SaveOwnerInvitation(ctx context.Context, tenant eusaas.TenantID, email string, d InvitationDraft) error
}

// Deprovisioner erases a tenant that Service.BeginDeprovision has frozen (status
// DEPROVISIONING). It must be idempotent and resumable (it is called again when a previous
// run stopped half-way) and ends by calling Service.CompleteDeprovision — before it returns,
// or later from a durable job when it returns once the erasure is scheduled (the tenant then
// stays DEPROVISIONING meanwhile). The gdpr module's Article 17 saga implements it;
// DefaultDeprovisioner is used until that is wired.
type Deprovisioner interface {
	Deprovision(ctx context.Context, id eusaas.TenantID) error
}

// ErasabilityChecker is an optional interface of a Deprovisioner. When the deprovisioner
// implements it, Service.Deprovision calls CheckErasable before freezing the tenant, so a
// tenant that may not be erased (a legal hold) is refused without being frozen.
type ErasabilityChecker interface {
	CheckErasable(ctx context.Context, id eusaas.TenantID) error
}

// Placement is where a tenant's schema is stored on a storage that places schemas on nodes
// (Citus schema-based sharding), as last recorded.
type Placement struct {
	Node     string    // the node holding the schema, host:port
	Region   string    // the data residency region it was placed for
	PlacedAt time.Time // when it was placed there
}

// PlacementReader reads recorded placements (optional: storage without nodes has none).
type PlacementReader interface {
	// Placement returns the tenant's placement; ok is false when none is recorded.
	Placement(ctx context.Context, id eusaas.TenantID) (p Placement, ok bool, err error)
}

// RegionMover is told of a change of a tenant's data residency region inside the
// transaction that stores it, so that moving the tenant's data is as durable as the change
// (the platform enqueues a job there). An error rolls the change back.
type RegionMover interface {
	MoveRegion(ctx context.Context, id eusaas.TenantID, from, to string) error
}

// PlanLimits are the limits a plan sets on a tenant moving to it (0: not set by the plan).
type PlanLimits struct {
	MaxUsers       int
	StorageLimitGB int
	APIRateLimit   int
}

// PlanCatalog is the plans a tenant can be on (the wiring adapts billing's plans; tenancy
// does not import billing). Limits is asked before anything is written and must answer an
// InvalidArgument error for an unknown plan; PlanChanged runs in the transaction that
// stores the tenant's new plan (billing records the plan history invoices prorate by), and
// its error rolls the change back.
type PlanCatalog interface {
	Limits(ctx context.Context, plan string) (PlanLimits, error)
	PlanChanged(ctx context.Context, id eusaas.TenantID, from, to string) error
}

// noCache is the Cache used when none is configured.
type noCache struct{}

func (noCache) Get(context.Context, eusaas.TenantID) (Tenant, bool, error) {
	return Tenant{}, false, nil
}
func (noCache) GetBySlug(context.Context, string) (Tenant, bool, error) { return Tenant{}, false, nil }
func (noCache) Set(context.Context, Tenant) error                       { return nil }
func (noCache) Invalidate(context.Context, eusaas.TenantID) error       { return nil }

// DeprovisionerFunc adapts a function to Deprovisioner.
type DeprovisionerFunc func(ctx context.Context, id eusaas.TenantID) error

// Deprovision calls f.
func (f DeprovisionerFunc) Deprovision(ctx context.Context, id eusaas.TenantID) error {
	return f(ctx, id)
}
