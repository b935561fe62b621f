package tenancy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/jobs"
)

// Audit actions recorded by the service, one per lifecycle step, on the tenant's own chain
// with resource type "tenant" and the tenant id as resource id.
const (
	ActionCreated            = "TENANT_CREATED"             // registered, PENDING
	ActionProvisioning       = "TENANT_PROVISIONING"        // PENDING -> PROVISIONING
	ActionProvisioned        = "TENANT_PROVISIONED"         // PROVISIONING -> ACTIVE
	ActionProvisioningFailed = "TENANT_PROVISIONING_FAILED" // PENDING|PROVISIONING -> DELETED
	ActionUpdated            = "TENANT_UPDATED"             // PATCH
	ActionSuspended          = "TENANT_SUSPENDED"           // ACTIVE -> SUSPENDED
	ActionActivated          = "TENANT_ACTIVATED"           // SUSPENDED -> ACTIVE
	ActionDeprovisioning     = "TENANT_DEPROVISIONING"      // ACTIVE|SUSPENDED -> DEPROVISIONING
	ActionDataErased         = "TENANT_DATA_ERASED"         // default deprovisioner: schema dropped, cache purged
	ActionDeleted            = "TENANT_DELETED"             // DEPROVISIONING -> DELETED
	// ActionPlaced: the tenant's schema was distributed to or moved between storage nodes
	// (Citus); changes name the node, the region and the node it left.
	ActionPlaced = "TENANT_PLACED"
	// ActionRegionLabelOnly: a region change was handled, but the storage places nothing by
	// region (no Citus, or no nodes labelled with regions): the region is a label only.
	ActionRegionLabelOnly = "TENANT_REGION_LABEL_ONLY"
)

// ResourceType is the audit resource type of tenants.
const ResourceType = "tenant"

// casRetries bounds how often the service re-reads and retries its own read-modify-write
// cycle when a concurrent writer won the compare-and-swap.
const casRetries = 8

// Deps are the ports a Service runs on. Store and Provisioner are required; without the
// others the service runs with no cache, no owner invitations, no audit and no transactions.
type Deps struct {
	Store       Store
	Provisioner Provisioner
	Cache       Cache
	// Invitations issues the owner invitation on Create; without it none is issued.
	Invitations InvitationIssuer
	Recorder    eusaas.Recorder
	// Tx makes each state change and its audit event one transaction. Pass the TxRunner of
	// the adapter the Store and the Recorder share.
	Tx eusaas.TxRunner
	// Regions is told of every change of a tenant's data residency region, in the
	// transaction that stores it (the platform enqueues the move of the tenant's data).
	// Without it a region change only relabels the tenant.
	Regions RegionMover
	// Placements reads where tenants' schemas are placed (optional: none are reported).
	Placements PlacementReader
	// Plans are the billing plans tenants can be moved to (optional: without it a plan_code
	// change is refused).
	Plans PlanCatalog
	// Queue runs the provisioning job when Options.AsyncProvisioning is set; it must join
	// the transactions of Tx (the job exists if and only if the tenant does).
	Queue jobs.Queue
}

// JobProvision is the job kind that provisions a tenant created with AsyncProvisioning.
const JobProvision = "tenancy.provision"

// provisionMaxAttempts bounds the provisioning job's retries (jobs.Backoff: about 6 minutes
// in all, far below the stalled-provisioning cut-off); the last failure ends the tenant
// DELETED like a failed synchronous provisioning.
const provisionMaxAttempts = 5

// Options configure a Service. The zero value works: system clock, EU regions with
// eu-central-1 as default, no logging.
type Options struct {
	Clock eusaas.Clock
	// Regions are the data residency regions tenants may choose: EURegions when empty.
	// Configure EU regions only; the list is the platform's residency promise.
	Regions []string
	// DefaultRegion is used when a tenant names none: DefaultRegion when empty.
	DefaultRegion string
	Logger        *slog.Logger
	// AsyncProvisioning makes Create answer as soon as the tenant is registered
	// (PROVISIONING): a JobProvision job creates and migrates its schema, stores the owner
	// invitation and makes it ACTIVE. Schema DDL is the slow part of a creation (tens to
	// hundreds of milliseconds, and it competes with every other request); a server takes it
	// off the request path. It needs Deps.Queue, RegisterJobs, and an Invitations port that
	// is an InvitationDrafter (the token is returned by Create, usable once ACTIVE).
	AsyncProvisioning bool
}

// Service runs the tenant registry and lifecycle.
type Service struct {
	store         Store
	prov          Provisioner
	clock         eusaas.Clock
	rec           eusaas.Recorder
	tx            eusaas.TxRunner
	cache         Cache
	inv           InvitationIssuer
	mover         RegionMover
	plans         PlanCatalog
	placements    PlacementReader
	deprov        Deprovisioner
	queue         jobs.Queue
	async         bool
	regions       []string
	defaultRegion string
	log           *slog.Logger
}

// NewService returns a Service over d's ports. Its Deprovisioner is a DefaultDeprovisioner
// until SetDeprovisioner replaces it. A missing required port is an InvalidArgument error
// naming every missing one, so wiring mistakes surface at start-up rather than as a nil
// dereference on the first request.
func NewService(d Deps, opts Options) (*Service, error) {
	var missing []string
	if d.Store == nil {
		missing = append(missing, "Store")
	}
	if d.Provisioner == nil {
		missing = append(missing, "Provisioner")
	}
	if opts.AsyncProvisioning && d.Queue == nil {
		missing = append(missing, "Queue (AsyncProvisioning)")
	}
	if len(missing) > 0 {
		return nil, eusaas.Errorf(eusaas.InvalidArgument, "tenancy: missing required ports: %v", missing)
	}
	if _, ok := d.Invitations.(InvitationDrafter); opts.AsyncProvisioning && d.Invitations != nil && !ok {
		return nil, eusaas.E(eusaas.InvalidArgument, "tenancy: AsyncProvisioning needs an Invitations port that implements InvitationDrafter")
	}
	s := &Service{
		store: d.Store, prov: d.Provisioner, clock: opts.Clock, rec: d.Recorder, tx: d.Tx,
		queue: d.Queue, async: opts.AsyncProvisioning,
		cache: d.Cache, inv: d.Invitations, mover: d.Regions, plans: d.Plans, placements: d.Placements, regions: slices.Clone(opts.Regions),
		defaultRegion: opts.DefaultRegion, log: opts.Logger,
	}
	if s.clock == nil {
		s.clock = eusaas.SystemClock
	}
	if s.rec == nil {
		s.rec = eusaas.Discard
	}
	if s.tx == nil {
		s.tx = eusaas.NoTx
	}
	if s.cache == nil {
		s.cache = noCache{}
	}
	if len(s.regions) == 0 {
		s.regions = slices.Clone(EURegions)
	}
	if s.defaultRegion == "" {
		s.defaultRegion = DefaultRegion
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.deprov = NewDefaultDeprovisioner(s)
	return s, nil
}

// SetDeprovisioner replaces the deprovisioner (cmd wires the gdpr saga here; it needs the
// Service itself, hence a setter rather than an option).
func (s *Service) SetDeprovisioner(d Deprovisioner) { s.deprov = d }

// Regions returns the allowed data residency regions.
func (s *Service) Regions() []string { return slices.Clone(s.regions) }

func (s *Service) now() time.Time {
	// Microseconds: what Postgres keeps, so every adapter returns the same instants.
	return s.clock.Now().UTC().Truncate(time.Microsecond)
}

// Create registers a tenant and provisions it: PENDING -> PROVISIONING -> ACTIVE, its schema
// created and migrated, the owner invitation issued to AdminEmail. If provisioning fails the
// schema is dropped, the tenant ends DELETED with the reason in StatusReason, and the error
// is ErrProvisioningFailed. Invalid input is InvalidArgument; a used slug ErrSlugTaken.
//
// With Options.AsyncProvisioning, Create returns the tenant PROVISIONING as soon as it is
// registered, with its owner invitation (usable once the tenant is ACTIVE); the
// JobProvision job does the rest, and a provisioning that keeps failing ends the tenant
// DELETED.
func (s *Service) Create(ctx context.Context, in CreateInput) (CreateResult, error) {
	if in.Tier == "" {
		in.Tier = TierFree
	}
	if in.Region == "" {
		in.Region = s.defaultRegion
	}
	var v eusaas.Violations
	validateName(in.Name, "body.name", &v)
	if msg := ValidateSlug(in.Slug); msg != "" {
		v.Add("body.slug", msg)
	}
	if !in.Tier.Valid() {
		v.Add("body.tier", "must be one of FREE, STARTER, PROFESSIONAL, ENTERPRISE")
	}
	validateEmail(in.AdminEmail, "body.admin_email", &v)
	if !slices.Contains(s.regions, in.Region) {
		v.Add("body.data_residency_region", fmt.Sprintf("must be an EU region: one of %v", s.regions))
	}
	validateMetadata(in.Metadata, "body.metadata", &v)
	if err := v.Err(); err != nil {
		return CreateResult{}, err
	}

	now := s.now()
	id := eusaas.NewTenantID()
	t := Tenant{
		ID: id, Name: in.Name, Slug: in.Slug, Status: StatusPending, Tier: in.Tier,
		SchemaName: id.SchemaName(), Region: in.Region, AdminEmail: in.AdminEmail,
		Metadata: maps.Clone(in.Metadata), Settings: DefaultSettings(),
		CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	if t.Metadata == nil {
		t.Metadata = map[string]string{}
	}
	if s.async {
		return s.createAsync(ctx, t)
	}
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.Create(ctx, t); err != nil {
			return err
		}
		return s.record(ctx, ActionCreated, t, map[string]any{
			"status": string(t.Status), "slug": t.Slug, "tier": string(t.Tier), "data_residency_region": t.Region,
		}, map[string]string{"admin_email": t.AdminEmail})
	})
	if err != nil {
		return CreateResult{}, err
	}

	t, err = s.transition(ctx, id, StatusProvisioning, ActionProvisioning, "provision", nil)
	if err != nil {
		return CreateResult{}, s.failProvisioning(ctx, id, "registry update failed", err)
	}
	var inv OwnerInvitation
	if err := s.prov.Create(ctx, id); err != nil {
		return CreateResult{}, s.failProvisioning(ctx, id, "schema creation failed", err)
	}
	if err := s.prov.Migrate(ctx, id); err != nil {
		return CreateResult{}, s.failProvisioning(ctx, id, "schema migration failed", err)
	}
	if s.inv != nil {
		tok, exp, err := s.inv.IssueOwnerInvitation(ctx, id, t.AdminEmail)
		if err != nil {
			return CreateResult{}, s.failProvisioning(ctx, id, "owner invitation failed", err)
		}
		inv = OwnerInvitation{Token: tok, ExpiresAt: exp}
	}
	t, err = s.transition(ctx, id, StatusActive, ActionProvisioned, "activate", nil)
	if err != nil {
		return CreateResult{}, s.failProvisioning(ctx, id, "registry update failed", err)
	}
	return CreateResult{Tenant: t, Invitation: inv}, nil
}

// provisionArgs are the arguments of a JobProvision job. The draft holds no secret.
type provisionArgs struct {
	TenantID   eusaas.TenantID  `json:"tenant_id"`
	Invitation *InvitationDraft `json:"invitation,omitempty"`
}

// createAsync registers t and moves it to PROVISIONING in one transaction that also
// enqueues its provisioning job, so a tenant is never left PROVISIONING without one.
func (s *Service) createAsync(ctx context.Context, t Tenant) (CreateResult, error) {
	var res CreateResult
	args := provisionArgs{TenantID: t.ID}
	if d, ok := s.inv.(InvitationDrafter); ok {
		tok, draft, err := d.DraftOwnerInvitation(ctx, t.ID, t.AdminEmail)
		if err != nil {
			return CreateResult{}, err
		}
		res.Invitation = OwnerInvitation{Token: tok, ExpiresAt: draft.ExpiresAt}
		args.Invitation = &draft
	}
	// Both lifecycle steps are recorded, but the row is stored PROVISIONING at once: inside
	// one transaction nobody can see it PENDING, and the UPDATE would be one more round
	// trip on the request path.
	t.Status = StatusProvisioning
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.Create(ctx, t); err != nil {
			return err
		}
		if err := s.record(ctx, ActionCreated, t, map[string]any{
			"status": string(StatusPending), "slug": t.Slug, "tier": string(t.Tier), "data_residency_region": t.Region,
		}, map[string]string{"admin_email": t.AdminEmail}); err != nil {
			return err
		}
		if err := s.record(ctx, ActionProvisioning, t, map[string]any{"from": string(StatusPending), "to": string(StatusProvisioning)}, nil); err != nil {
			return err
		}
		res.Tenant = t
		return s.queue.Enqueue(ctx, JobProvision, args, &jobs.EnqueueOpts{MaxAttempts: provisionMaxAttempts})
	})
	if err != nil {
		return CreateResult{}, err
	}
	s.cacheWrite(ctx, res.Tenant)
	return res, nil
}

// RegisterJobs registers the provisioning job's handler (Options.AsyncProvisioning).
func (s *Service) RegisterJobs(r *jobs.Registry) {
	r.Handle(JobProvision, func(ctx context.Context, j jobs.Job) error {
		var a provisionArgs
		if err := j.Decode(&a); err != nil {
			return err
		}
		return s.provision(ctx, a, j.Attempt >= j.MaxAttempts)
	})
}

// provision is the provisioning job: create and migrate the schema, store the owner
// invitation, make the tenant ACTIVE. Every step is idempotent, so a retry (or a second run
// after a crash) redoes only what is missing. A failure is retried; the last attempt's
// failure ends the tenant DELETED with its schema dropped.
func (s *Service) provision(ctx context.Context, a provisionArgs, last bool) error {
	t, err := s.store.Get(ctx, a.TenantID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil // nothing to provision
		}
		return err
	}
	if t.Status != StatusProvisioning {
		return nil // done, or failed and ended by FailStalled
	}
	fail := func(reason string, err error) error {
		if !last {
			s.log.WarnContext(ctx, "tenant provisioning attempt failed; retrying", "tenant_id", t.ID.String(), "reason", reason, "error", err)
			return err
		}
		return s.failProvisioning(ctx, t.ID, reason, err)
	}
	if err := s.prov.Create(ctx, t.ID); err != nil {
		return fail("schema creation failed", err)
	}
	if err := s.prov.Migrate(ctx, t.ID); err != nil {
		return fail("schema migration failed", err)
	}
	if d, ok := s.inv.(InvitationDrafter); ok && a.Invitation != nil {
		if err := d.SaveOwnerInvitation(ctx, t.ID, t.AdminEmail, *a.Invitation); err != nil {
			return fail("owner invitation failed", err)
		}
	}
	if _, err := s.doTransition(ctx, t.ID, []Status{StatusProvisioning}, StatusActive, ActionProvisioned, "activate", nil, true); err != nil {
		if errors.Is(err, ErrInvalidTransition) {
			return nil // ended meanwhile (FailStalled); its schema is FailStalled's to drop
		}
		return fail("registry update failed", err)
	}
	return nil
}

// failProvisioning undoes a half-done provisioning: drop whatever schema exists, then end
// the tenant in DELETED with reason. It runs without the caller's cancellation so a client
// that went away cannot leave a half-made tenant behind.
func (s *Service) failProvisioning(ctx context.Context, id eusaas.TenantID, reason string, cause error) error {
	ctx = context.WithoutCancel(ctx)
	s.log.ErrorContext(ctx, "tenant provisioning failed", "tenant_id", id.String(), "reason", reason, "error", cause)
	if err := s.prov.Drop(ctx, id); err != nil {
		s.log.ErrorContext(ctx, "dropping half-provisioned schema failed", "tenant_id", id.String(), "error", err)
		return ErrProvisioningFailed.Withf("tenant provisioning failed (%s) and its cleanup failed", reason).Wrap(errors.Join(cause, err))
	}
	now := s.now()
	_, err := s.transition(ctx, id, StatusDeleted, ActionProvisioningFailed, "delete", func(t *Tenant) {
		t.StatusReason = "provisioning failed: " + reason
		tombstone(t, now)
	})
	if err != nil {
		s.log.ErrorContext(ctx, "recording provisioning failure failed", "tenant_id", id.String(), "error", err)
		return ErrProvisioningFailed.Withf("tenant provisioning failed (%s); the tenant could not be marked deleted", reason).Wrap(errors.Join(cause, err))
	}
	return ErrProvisioningFailed.Withf("tenant provisioning failed (%s); the tenant was deleted", reason).Wrap(cause)
}

// FailStalled ends tenants left in PENDING or PROVISIONING for longer than olderThan, which
// happens only when a process died while provisioning them: like a failed provisioning, the
// schema is dropped and the tenant ends DELETED with the reason recorded (its slug becomes
// free again). olderThan must exceed the longest provisioning, or a live one would be cut
// short. It returns how many tenants it ended; the first error stops it.
func (s *Service) FailStalled(ctx context.Context, olderThan time.Duration) (int, error) {
	cutoff := s.now().Add(-olderThan)
	var stalled []eusaas.TenantID
	for _, st := range []Status{StatusPending, StatusProvisioning} {
		for p := 1; ; p++ {
			l, err := s.store.List(ctx, ListFilter{Status: st}, eusaas.Page{Page: p, Size: eusaas.MaxPageSize})
			if err != nil {
				return 0, err
			}
			for _, t := range l.Items {
				if t.UpdatedAt.Before(cutoff) {
					stalled = append(stalled, t.ID)
				}
			}
			if len(l.Items) < eusaas.MaxPageSize {
				break
			}
		}
	}
	n := 0
	for _, id := range stalled {
		if err := s.prov.Drop(ctx, id); err != nil {
			return n, err
		}
		now := s.now()
		_, err := s.transition(ctx, id, StatusDeleted, ActionProvisioningFailed, "delete", func(t *Tenant) {
			t.StatusReason = "provisioning failed: interrupted"
			tombstone(t, now)
		})
		if errors.Is(err, ErrInvalidTransition) {
			continue // finished (or failed) in the meantime
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// tombstone removes personal data from a tenant that ends DELETED.
func tombstone(t *Tenant, now time.Time) {
	t.AdminEmail = ""
	t.Metadata = map[string]string{}
	t.DeletedAt = &now
}

// Get returns the tenant, DELETED tombstones included, from the cache when it has it.
// Errors: ErrNotFound.
func (s *Service) Get(ctx context.Context, id eusaas.TenantID) (Tenant, error) {
	if t, ok, err := s.cache.Get(ctx, id); err == nil && ok {
		return t, nil
	} else if err != nil {
		s.log.WarnContext(ctx, "tenant cache read failed", "tenant_id", id.String(), "error", err)
	}
	t, err := s.store.Get(ctx, id)
	if err != nil {
		return Tenant{}, err
	}
	s.cacheWrite(ctx, t)
	return t, nil
}

// GetBySlug returns the live (not DELETED) tenant holding slug. Errors: ErrNotFound.
func (s *Service) GetBySlug(ctx context.Context, slug string) (Tenant, error) {
	if ValidateSlug(slug) != "" {
		return Tenant{}, ErrNotFound
	}
	if t, ok, err := s.cache.GetBySlug(ctx, slug); err == nil && ok {
		return t, nil
	} else if err != nil {
		s.log.WarnContext(ctx, "tenant cache read failed", "slug", slug, "error", err)
	}
	t, err := s.store.GetBySlug(ctx, slug)
	if err != nil {
		return Tenant{}, err
	}
	s.cacheWrite(ctx, t)
	return t, nil
}

// Resolve finds a tenant by id (canonical UUID text) or slug. Errors: ErrNotFound.
func (s *Service) Resolve(ctx context.Context, idOrSlug string) (Tenant, error) {
	if id, err := eusaas.ParseTenantID(idOrSlug); err == nil {
		return s.Get(ctx, id)
	}
	return s.GetBySlug(ctx, idOrSlug)
}

// TenantStatus returns the tenant's status; it implements the HTTP layer's TenantGate.
// Errors: ErrNotFound.
func (s *Service) TenantStatus(ctx context.Context, id eusaas.TenantID) (string, error) {
	t, err := s.Get(ctx, id)
	if err != nil {
		return "", err
	}
	return string(t.Status), nil
}

// List returns one page of tenants, oldest first, optionally with one status.
func (s *Service) List(ctx context.Context, f ListFilter, page eusaas.Page) (eusaas.List[Tenant], error) {
	var v eusaas.Violations
	if f.Status != "" && !f.Status.Valid() {
		v.Add("query.status", "must be one of PENDING, PROVISIONING, ACTIVE, SUSPENDED, DEPROVISIONING, DELETED")
	}
	page, err := page.Normalize()
	if err != nil {
		v = append(v, eusaas.FieldsOf(err)...)
	}
	if err := v.Err(); err != nil {
		return eusaas.List[Tenant]{}, err
	}
	return s.store.List(ctx, f, page)
}

// ListActive returns every ACTIVE tenant (for scanners and schedulers).
func (s *Service) ListActive(ctx context.Context) ([]Tenant, error) {
	var out []Tenant
	for p := 1; ; p++ {
		l, err := s.store.List(ctx, ListFilter{Status: StatusActive}, eusaas.Page{Page: p, Size: eusaas.MaxPageSize})
		if err != nil {
			return nil, err
		}
		out = append(out, l.Items...)
		if len(l.Items) < eusaas.MaxPageSize || len(out) >= l.Total {
			return out, nil
		}
	}
}

// Update applies a PATCH to an ACTIVE or SUSPENDED tenant. With in.IfMatch set it fails
// with ErrPreconditionFailed unless the stored version is in.IfMatch. A patch that changes
// nothing returns the tenant unchanged (same version). Errors: InvalidArgument,
// ErrNotFound, ErrNotModifiable, ErrPreconditionFailed.
func (s *Service) Update(ctx context.Context, id eusaas.TenantID, in UpdateInput) (Tenant, error) {
	var v eusaas.Violations
	if in.Name != nil {
		validateName(*in.Name, "body.name", &v)
	}
	if in.Tier != nil && !in.Tier.Valid() {
		v.Add("body.tier", "must be one of FREE, STARTER, PROFESSIONAL, ENTERPRISE")
	}
	if in.Region != nil && !slices.Contains(s.regions, *in.Region) {
		v.Add("body.data_residency_region", fmt.Sprintf("must be an EU region: one of %v", s.regions))
	}
	for k, val := range in.Metadata {
		validateMetadataKey(k, "body.metadata", &v)
		if val != nil {
			validateMetadataValue(*val, "body.metadata."+k, &v)
		}
	}
	if err := v.Err(); err != nil {
		return Tenant{}, err
	}
	if in.PlanCode != nil {
		// The plan is checked before anything is written; its limits fill the settings the
		// patch does not set itself.
		if s.plans == nil {
			return Tenant{}, eusaas.Invalid("plans are not configured", eusaas.FieldViolation{Location: "body.plan_code", Message: "this server has no plans"})
		}
		lim, err := s.plans.Limits(ctx, *in.PlanCode)
		if err != nil {
			if eusaas.KindOf(err) == eusaas.InvalidArgument || eusaas.KindOf(err) == eusaas.NotFound {
				return Tenant{}, eusaas.Invalid("unknown plan", eusaas.FieldViolation{Location: "body.plan_code", Message: eusaas.MessageOf(err)})
			}
			return Tenant{}, err
		}
		sp := SettingsPatch{}
		if in.Settings != nil {
			sp = *in.Settings
		}
		fill := func(dst **int, v int) {
			if *dst == nil && v > 0 {
				*dst = &v
			}
		}
		fill(&sp.MaxUsers, lim.MaxUsers)
		fill(&sp.StorageLimitGB, lim.StorageLimitGB)
		fill(&sp.APIRateLimit, lim.APIRateLimit)
		in.Settings = &sp
	}
	for attempt := 0; ; attempt++ {
		cur, err := s.store.Get(ctx, id)
		if err != nil {
			return Tenant{}, err
		}
		if in.IfMatch != 0 && cur.Version != in.IfMatch {
			return Tenant{}, ErrPreconditionFailed.Withf("the tenant is at version %d, not %d", cur.Version, in.IfMatch)
		}
		if cur.Status != StatusActive && cur.Status != StatusSuspended {
			return Tenant{}, ErrNotModifiable.Withf("tenant status is %s; only ACTIVE or SUSPENDED tenants can be changed", cur.Status)
		}
		next, changes := applyPatch(cur, in)
		var v eusaas.Violations
		next.Settings.Validate("body.settings", &v)
		if len(next.Metadata) > MetadataMaxKeys {
			v.Add("body.metadata", "must have at most 50 keys")
		}
		if err := v.Err(); err != nil {
			return Tenant{}, err
		}
		if len(changes) == 0 {
			return cur, nil
		}
		next.UpdatedAt = s.now()
		var saved Tenant
		err = s.tx.InTx(ctx, func(ctx context.Context) error {
			var err error
			if saved, err = s.store.Update(ctx, next); err != nil {
				return err
			}
			if err := s.record(ctx, ActionUpdated, saved, changes, nil); err != nil {
				return err
			}
			if saved.PlanCode != cur.PlanCode {
				if err := s.plans.PlanChanged(ctx, id, cur.PlanCode, saved.PlanCode); err != nil {
					return err
				}
			}
			if saved.Region != cur.Region && s.mover != nil {
				return s.mover.MoveRegion(ctx, id, cur.Region, saved.Region)
			}
			return nil
		})
		if errors.Is(err, ErrVersionConflict) {
			if in.IfMatch != 0 {
				return Tenant{}, ErrPreconditionFailed.Wrap(err)
			}
			if attempt < casRetries {
				continue
			}
		}
		if err != nil {
			return Tenant{}, err
		}
		s.cacheWrite(ctx, saved)
		return saved, nil
	}
}

// Placement returns where the tenant's schema is placed, as last recorded by a storage that
// places schemas on nodes (Citus); ok is false when none is recorded or no PlacementReader
// is configured (a single PostgreSQL server: the region is a label only).
func (s *Service) Placement(ctx context.Context, id eusaas.TenantID) (Placement, bool, error) {
	if s.placements == nil {
		return Placement{}, false, nil
	}
	return s.placements.Placement(ctx, id)
}

// applyPatch returns cur with in applied and the non-personal description of what changed
// (metadata values may be personal, so only changed keys are listed).
func applyPatch(cur Tenant, in UpdateInput) (Tenant, map[string]any) {
	next := cur
	changes := map[string]any{}
	if in.Name != nil && *in.Name != cur.Name {
		next.Name = *in.Name
		changes["name"] = map[string]any{"old": cur.Name, "new": next.Name}
	}
	if in.Tier != nil && *in.Tier != cur.Tier {
		next.Tier = *in.Tier
		changes["tier"] = map[string]any{"old": string(cur.Tier), "new": string(next.Tier)}
	}
	if in.PlanCode != nil && *in.PlanCode != cur.PlanCode {
		next.PlanCode = *in.PlanCode
		changes["plan_code"] = map[string]any{"old": cur.PlanCode, "new": next.PlanCode}
	}
	if in.Region != nil && *in.Region != cur.Region {
		next.Region = *in.Region
		changes["data_residency_region"] = map[string]any{"old": cur.Region, "new": next.Region}
	}
	if len(in.Metadata) > 0 {
		next.Metadata = maps.Clone(cur.Metadata)
		if next.Metadata == nil {
			next.Metadata = map[string]string{}
		}
		var keys []string
		for k, val := range in.Metadata {
			old, had := next.Metadata[k]
			switch {
			case val == nil && had:
				delete(next.Metadata, k)
			case val != nil && (!had || old != *val):
				next.Metadata[k] = *val
			default:
				continue
			}
			keys = append(keys, k)
		}
		if len(keys) > 0 {
			slices.Sort(keys)
			changes["metadata_keys"] = keys
		}
	}
	if p := in.Settings; p != nil {
		st := &next.Settings
		set := func(name string, dst *int, src *int) {
			if src != nil && *src != *dst {
				changes["settings."+name] = map[string]any{"old": *dst, "new": *src}
				*dst = *src
			}
		}
		set("max_users", &st.MaxUsers, p.MaxUsers)
		set("storage_limit_gb", &st.StorageLimitGB, p.StorageLimitGB)
		set("api_rate_limit", &st.APIRateLimit, p.APIRateLimit)
		set("data_retention_days", &st.DataRetentionDays, p.DataRetentionDays)
		if p.CostAlertThreshold != nil && !p.CostAlertThreshold.Equal(st.CostAlertThreshold) {
			changes["settings.cost_alert_threshold"] = map[string]any{"old": st.CostAlertThreshold.String(), "new": p.CostAlertThreshold.String()}
			st.CostAlertThreshold = *p.CostAlertThreshold
		}
		if p.AnomalyMinImpact != nil && !p.AnomalyMinImpact.Equal(st.AnomalyMinImpact) {
			changes["settings.anomaly_min_impact"] = map[string]any{"old": st.AnomalyMinImpact.String(), "new": p.AnomalyMinImpact.String()}
			st.AnomalyMinImpact = *p.AnomalyMinImpact
		}
		if p.AllowSelfRegistration != nil && *p.AllowSelfRegistration != st.AllowSelfRegistration {
			changes["settings.allow_self_registration"] = map[string]any{"old": st.AllowSelfRegistration, "new": *p.AllowSelfRegistration}
			st.AllowSelfRegistration = *p.AllowSelfRegistration
		}
		if p.RequireEmailVerification != nil && *p.RequireEmailVerification != st.RequireEmailVerification {
			changes["settings.require_email_verification"] = map[string]any{"old": st.RequireEmailVerification, "new": *p.RequireEmailVerification}
			st.RequireEmailVerification = *p.RequireEmailVerification
		}
		if p.MFARequired != nil && *p.MFARequired != st.MFARequired {
			changes["settings.mfa_required"] = map[string]any{"old": st.MFARequired, "new": *p.MFARequired}
			st.MFARequired = *p.MFARequired
		}
	}
	return next, changes
}

// Suspend moves an ACTIVE tenant to SUSPENDED: its users lose access to tenant-scoped
// endpoints. Errors: ErrNotFound, ErrInvalidTransition naming the current status.
func (s *Service) Suspend(ctx context.Context, id eusaas.TenantID) (Tenant, error) {
	return s.transition(ctx, id, StatusSuspended, ActionSuspended, "suspend", nil)
}

// Activate moves a SUSPENDED tenant back to ACTIVE. Errors: ErrNotFound,
// ErrInvalidTransition naming the current status.
func (s *Service) Activate(ctx context.Context, id eusaas.TenantID) (Tenant, error) {
	// PROVISIONING -> ACTIVE is provisioning's own step, never an operator's: a tenant stuck
	// in PROVISIONING has no complete schema to serve.
	return s.doTransition(ctx, id, []Status{StatusSuspended}, StatusActive, ActionActivated, "activate", nil, false)
}

// BeginDeprovision freezes an ACTIVE or SUSPENDED tenant (DEPROVISIONING); a no-op when it
// is already DEPROVISIONING, so an interrupted erasure can be resumed.
// Errors: ErrNotFound, ErrInvalidTransition naming the current status.
func (s *Service) BeginDeprovision(ctx context.Context, id eusaas.TenantID) error {
	_, err := s.doTransition(ctx, id, nil, StatusDeprovisioning, ActionDeprovisioning, "deprovision", nil, true)
	return err
}

// CompleteDeprovision ends a DEPROVISIONING tenant in DELETED, leaving a tombstone (id,
// status, deleted_at; admin_email and metadata removed). A no-op when already DELETED.
// Errors: ErrNotFound, ErrInvalidTransition naming the current status.
func (s *Service) CompleteDeprovision(ctx context.Context, id eusaas.TenantID) error {
	now := s.now()
	_, err := s.doTransition(ctx, id, []Status{StatusDeprovisioning}, StatusDeleted, ActionDeleted, "delete", func(t *Tenant) { tombstone(t, now) }, true)
	return err
}

// Deprovision erases a tenant: BeginDeprovision, then the Deprovisioner (the gdpr saga or
// DefaultDeprovisioner), which ends in DELETED. Calling it again on a DEPROVISIONING tenant
// resumes an interrupted run. It returns the tenant as the deprovisioner left it: DELETED,
// or still DEPROVISIONING when the erasure continues in the background. Erasing a tenant
// that is already DELETED is a no-op answering the existing tombstone (GDPR Art. 17
// requests are idempotent): nothing is recorded and the deprovisioner is not called.
func (s *Service) Deprovision(ctx context.Context, id eusaas.TenantID) (Tenant, error) {
	if cur, err := s.store.Get(ctx, id); err != nil {
		return Tenant{}, err
	} else if cur.Status == StatusDeleted {
		return cur, nil
	}
	if c, ok := s.deprov.(ErasabilityChecker); ok {
		if err := c.CheckErasable(ctx, id); err != nil {
			return Tenant{}, err
		}
	}
	if err := s.BeginDeprovision(ctx, id); err != nil {
		return Tenant{}, err
	}
	if err := s.deprov.Deprovision(ctx, id); err != nil {
		return Tenant{}, err
	}
	return s.store.Get(ctx, id)
}

func (s *Service) transition(ctx context.Context, id eusaas.TenantID, to Status, action, verb string, mutate func(*Tenant)) (Tenant, error) {
	return s.doTransition(ctx, id, nil, to, action, verb, mutate, false)
}

// doTransition validates cur -> to against the lifecycle table, stores it with a
// compare-and-swap and records action in the same transaction. A lost race re-reads and
// re-validates, so two concurrent transitions can never both apply from one state. from,
// when not nil, narrows the table's sources for operations that mean one edge only.
func (s *Service) doTransition(ctx context.Context, id eusaas.TenantID, from []Status, to Status, action, verb string, mutate func(*Tenant), noopIfThere bool) (Tenant, error) {
	for attempt := 0; ; attempt++ {
		cur, err := s.store.Get(ctx, id)
		if err != nil {
			return Tenant{}, err
		}
		if noopIfThere && cur.Status == to {
			return cur, nil
		}
		if !cur.Status.CanTransitionTo(to) || (from != nil && !slices.Contains(from, cur.Status)) {
			return Tenant{}, ErrInvalidTransition.Withf("cannot %s tenant: status is %s (allowed from: %s)", verb, cur.Status, allowedSources(from, to))
		}
		next := cur
		next.Status = to
		next.UpdatedAt = s.now()
		if mutate != nil {
			mutate(&next)
		}
		changes := map[string]any{"from": string(cur.Status), "to": string(to)}
		if next.StatusReason != "" && next.StatusReason != cur.StatusReason {
			changes["reason"] = next.StatusReason
		}
		var saved Tenant
		err = s.tx.InTx(ctx, func(ctx context.Context) error {
			var err error
			if saved, err = s.store.Update(ctx, next); err != nil {
				return err
			}
			return s.record(ctx, action, saved, changes, nil)
		})
		if errors.Is(err, ErrVersionConflict) && attempt < casRetries {
			continue
		}
		if err != nil {
			return Tenant{}, err
		}
		s.cacheWrite(ctx, saved)
		return saved, nil
	}
}

// allowedSources lists the statuses from which to can be reached, for error messages.
func allowedSources(from []Status, to Status) string {
	var out []string
	for _, st := range Statuses {
		if st.CanTransitionTo(to) && (from == nil || slices.Contains(from, st)) {
			out = append(out, string(st))
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

func (s *Service) record(ctx context.Context, action string, t Tenant, changes map[string]any, personal map[string]string) error {
	if len(personal) == 0 || allEmpty(personal) {
		personal = nil
	}
	return s.rec.Record(ctx, eusaas.AuditEvent{
		TenantID:     t.ID,
		Actor:        eusaas.ActorFrom(ctx),
		Action:       action,
		ResourceType: ResourceType,
		ResourceID:   t.ID.String(),
		Changes:      changes,
		Personal:     personal,
		Meta:         eusaas.RequestMetaFrom(ctx),
	})
}

func allEmpty(m map[string]string) bool {
	for _, v := range m {
		if v != "" {
			return false
		}
	}
	return true
}

// cacheWrite writes a stored change through to the cache. The change is already committed,
// so a canceled request must not skip it; if the cache refuses the value it is invalidated
// instead, and only logged when even that fails (reads fall back to the store on errors,
// entries expire).
func (s *Service) cacheWrite(ctx context.Context, t Tenant) {
	ctx = context.WithoutCancel(ctx)
	if err := s.cache.Set(ctx, t); err != nil {
		if err2 := s.cache.Invalidate(ctx, t.ID); err2 != nil {
			s.log.ErrorContext(ctx, "tenant cache write and invalidation failed", "tenant_id", t.ID.String(), "error", errors.Join(err, err2))
		}
	}
}

// DefaultDeprovisioner erases a frozen tenant in the order of the specification: drop its
// schema (Provisioner.Drop), purge its cache entry, record the audit entry, end DELETED
// (Service.CompleteDeprovision). Every step is idempotent, so a rerun resumes.
type DefaultDeprovisioner struct {
	svc *Service
}

// NewDefaultDeprovisioner returns the deprovisioner for svc.
func NewDefaultDeprovisioner(svc *Service) *DefaultDeprovisioner {
	return &DefaultDeprovisioner{svc: svc}
}

var _ Deprovisioner = (*DefaultDeprovisioner)(nil)

// Deprovision implements Deprovisioner.
func (d *DefaultDeprovisioner) Deprovision(ctx context.Context, id eusaas.TenantID) error {
	s := d.svc
	t, err := s.store.Get(ctx, id)
	if err != nil {
		return err
	}
	switch t.Status {
	case StatusDeleted:
		return nil
	case StatusDeprovisioning:
	default:
		return ErrInvalidTransition.Withf("cannot erase tenant: status is %s (it must be DEPROVISIONING)", t.Status)
	}
	if err := s.prov.Drop(ctx, id); err != nil {
		return err
	}
	if err := s.cache.Invalidate(ctx, id); err != nil {
		return err
	}
	if err := s.record(ctx, ActionDataErased, t, map[string]any{"schema_dropped": t.SchemaName, "cache_purged": true}, nil); err != nil {
		return err
	}
	return s.CompleteDeprovision(ctx, id)
}
