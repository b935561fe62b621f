package platform

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/tenancy"
)

// The adapters between modules: each is the small interface one module declares, served by
// another module's service. Modules never import each other; this package knows both sides.
// They are exported so an embedder wiring only some modules uses them without copying.

// TenantResolver is auth's TenantResolver over tenancy: X-Tenant-ID (id or slug) to the
// tenant's status, self-registration setting and user limit.
type TenantResolver struct{ Tenancy *tenancy.Service }

var _ auth.TenantResolver = TenantResolver{}

// Resolve implements auth.TenantResolver.
func (r TenantResolver) Resolve(ctx context.Context, idOrSlug string) (auth.TenantInfo, error) {
	t, err := r.Tenancy.Resolve(ctx, idOrSlug)
	if err != nil {
		return auth.TenantInfo{}, err
	}
	return auth.TenantInfo{ID: t.ID, Status: string(t.Status), AllowSelfRegistration: t.Settings.AllowSelfRegistration,
		MaxUsers: t.Settings.MaxUsers, RequireEmailVerification: t.Settings.RequireEmailVerification,
		MFARequired: t.Settings.MFARequired}, nil
}

// ownerInvitations is tenancy's InvitationIssuer over auth, bound once auth is built (auth
// needs tenancy first, to resolve tenants).
type ownerInvitations struct{ auth *auth.Service }

var _ tenancy.InvitationIssuer = (*ownerInvitations)(nil)

func (i *ownerInvitations) IssueOwnerInvitation(ctx context.Context, tenant eusaas.TenantID, email string) (string, time.Time, error) {
	if i.auth == nil {
		return "", time.Time{}, eusaas.E(eusaas.Unavailable, "auth is not wired yet")
	}
	return i.auth.IssueOwnerInvitation(ctx, tenant, email)
}

var _ tenancy.InvitationDrafter = (*ownerInvitations)(nil)

func (i *ownerInvitations) DraftOwnerInvitation(_ context.Context, tenant eusaas.TenantID, email string) (string, tenancy.InvitationDraft, error) {
	if i.auth == nil {
		return "", tenancy.InvitationDraft{}, eusaas.E(eusaas.Unavailable, "auth is not wired yet")
	}
	tok, inv, err := i.auth.DraftOwnerInvitation(tenant, email)
	if err != nil {
		return "", tenancy.InvitationDraft{}, err
	}
	return tok, tenancy.InvitationDraft{ID: inv.ID.String(), Digest: inv.TokenHash, CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt}, nil
}

func (i *ownerInvitations) SaveOwnerInvitation(ctx context.Context, tenant eusaas.TenantID, email string, d tenancy.InvitationDraft) error {
	if i.auth == nil {
		return eusaas.E(eusaas.Unavailable, "auth is not wired yet")
	}
	id, err := uuid.Parse(d.ID)
	if err != nil {
		return eusaas.E(eusaas.InvalidArgument, "owner invitation draft with a malformed id")
	}
	return i.auth.SaveOwnerInvitation(ctx, auth.Invitation{ID: id, TenantID: tenant, Email: auth.NormalizeEmail(email),
		Role: auth.RoleOwner, TokenHash: d.Digest, CreatedBy: eusaas.System.ID, CreatedAt: d.CreatedAt, ExpiresAt: d.ExpiresAt})
}

// Thresholds is billing's ThresholdSource: the tenant's cost_alert_threshold setting.
type Thresholds struct{ Tenancy *tenancy.Service }

var (
	_ billing.ThresholdSource    = Thresholds{}
	_ billing.StorageLimitSource = Thresholds{}
)

// StorageLimitGB implements billing.StorageLimitSource: the tenant's storage_limit_gb
// setting (which a plan's entitlements set).
func (t Thresholds) StorageLimitGB(ctx context.Context, id eusaas.TenantID) (int, error) {
	tn, err := t.Tenancy.Get(ctx, id)
	if err != nil {
		return 0, err
	}
	return tn.Settings.StorageLimitGB, nil
}

// CostAlertThreshold implements billing.ThresholdSource.
func (t Thresholds) CostAlertThreshold(ctx context.Context, id eusaas.TenantID) (decimal.Decimal, bool, error) {
	tn, err := t.Tenancy.Get(ctx, id)
	if err != nil {
		return decimal.Decimal{}, false, err
	}
	// A zero threshold means no budget is set, not "alert on any spend".
	return tn.Settings.CostAlertThreshold, tn.Settings.CostAlertThreshold.IsPositive(), nil
}

// DailyCosts is anomaly's SeriesSource over billing's daily buckets.
type DailyCosts struct{ Billing *billing.Service }

// AttributeCosts adapts billing's per-attribute costs to the anomaly scanner's root causes.
// Restricted, when set, names the tenant's data subjects under an Art. 18 restriction:
// attribute values equal to one of them are left out, so a root cause never processes (or
// shows) a restricted subject's usage; the aggregates stay stored.
type AttributeCosts struct {
	Billing    *billing.Service
	Restricted func(ctx context.Context, tenant eusaas.TenantID) ([]string, error)
}

var _ anomaly.AttributeSource = AttributeCosts{}

// AttributeCosts implements anomaly.AttributeSource.
func (a AttributeCosts) AttributeCosts(ctx context.Context, id eusaas.TenantID, from, to time.Time) ([]anomaly.AttributeCost, error) {
	in, err := a.Billing.AttributeCosts(ctx, id, from, to)
	if err != nil || len(in) == 0 {
		return nil, err
	}
	var skip map[string]bool
	if a.Restricted != nil {
		subjects, err := a.Restricted(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, s := range subjects {
			if skip == nil {
				skip = map[string]bool{}
			}
			skip[s] = true
		}
	}
	out := make([]anomaly.AttributeCost, 0, len(in))
	for _, c := range in {
		if !skip[c.Value] {
			out = append(out, anomaly.AttributeCost{Day: c.Day, Resource: c.Resource, Key: c.Key, Value: c.Value, Amount: c.Amount})
		}
	}
	return out, nil
}

var _ anomaly.SeriesSource = DailyCosts{}

// DailyCosts implements anomaly.SeriesSource.
func (d DailyCosts) DailyCosts(ctx context.Context, id eusaas.TenantID, from, to time.Time) ([]anomaly.DailyCost, error) {
	in, err := d.Billing.DailyCosts(ctx, id, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]anomaly.DailyCost, len(in))
	for i, c := range in {
		out[i] = anomaly.DailyCost{Day: c.Day, Resource: c.Resource, Amount: c.Amount}
	}
	return out, nil
}

// Projector is anomaly's budget projector over billing's month-end projection.
type Projector struct{ Billing *billing.Service }

var _ anomaly.Projector = Projector{}

// ProjectedTotal implements anomaly.Projector.
func (p Projector) ProjectedTotal(ctx context.Context, id eusaas.TenantID, now time.Time) (decimal.Decimal, error) {
	pr, err := p.Billing.Projection(ctx, id, now)
	if err != nil {
		return decimal.Decimal{}, err
	}
	return pr.ProjectedTotal, nil
}

// AnomalyTenants is anomaly's TenantLister over tenancy: the ACTIVE tenants with their
// minimum impact (anomaly_min_impact) and budget (cost_alert_threshold).
type AnomalyTenants struct{ Tenancy *tenancy.Service }

var _ anomaly.TenantLister = AnomalyTenants{}

// ActiveTenants implements anomaly.TenantLister.
func (t AnomalyTenants) ActiveTenants(ctx context.Context) ([]anomaly.TenantConfig, error) {
	ts, err := t.Tenancy.ListActive(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]anomaly.TenantConfig, 0, len(ts))
	for _, tn := range ts {
		if tn.Status != tenancy.StatusActive { // the port's contract, checked again
			continue
		}
		out = append(out, anomaly.TenantConfig{ID: tn.ID, MinImpact: tn.Settings.AnomalyMinImpact, CostAlertThreshold: tn.Settings.CostAlertThreshold})
	}
	return out, nil
}

func activeTenantIDs(ctx context.Context, svc *tenancy.Service) ([]eusaas.TenantID, error) {
	ts, err := svc.ListActive(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]eusaas.TenantID, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	return ids, nil
}

// RateCounter counts a tenant's requests in fixed windows (Redis across replicas, or in
// process).
type RateCounter interface {
	Hit(ctx context.Context, tenant eusaas.TenantID, window time.Duration) (int64, time.Duration, error)
}

// RateLimiter enforces settings.api_rate_limit: requests per minute per tenant.
type RateLimiter struct {
	Tenancy *tenancy.Service
	Counter RateCounter
}

// Allow reports whether the tenant may make one more request now, and when its window resets.
func (l RateLimiter) Allow(ctx context.Context, id eusaas.TenantID) (bool, time.Duration, error) {
	t, err := l.Tenancy.Get(ctx, id)
	if err != nil {
		return false, 0, err
	}
	n, reset, err := l.Counter.Hit(ctx, id, time.Minute)
	if err != nil {
		return false, 0, err
	}
	return n <= int64(t.Settings.APIRateLimit), reset, nil
}

// PlanCatalog adapts billing's plans to tenancy: a tenant's plan_code names a billing plan,
// whose entitlements become the tenant's limits, and every change is recorded in billing's
// plan history (in the tenant update's transaction) for the prorated invoice. Billing is
// read through p at call time (tenancy is built first).
type PlanCatalog struct{ p *Platform }

var _ tenancy.PlanCatalog = PlanCatalog{}

// Limits implements tenancy.PlanCatalog.
func (c PlanCatalog) Limits(ctx context.Context, plan string) (tenancy.PlanLimits, error) {
	e, err := c.p.Billing.PlanEntitlements(ctx, plan)
	return tenancy.PlanLimits{MaxUsers: e.MaxUsers, StorageLimitGB: e.StorageLimitGB, APIRateLimit: e.APIRateLimit}, err
}

// PlanChanged implements tenancy.PlanCatalog.
func (c PlanCatalog) PlanChanged(ctx context.Context, id eusaas.TenantID, _, to string) error {
	return c.p.Billing.ChangePlan(ctx, id, to)
}
