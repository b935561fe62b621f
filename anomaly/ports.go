package anomaly

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
)

// SeriesSource gives a tenant's daily cost per resource. cmd/eusaas adapts
// billing.Service.DailyCosts to it.
//
// DailyCosts returns every (day, resource) with a cost in [from, to] (both UTC dates,
// inclusive), in any order, at most one row per day and resource. A day without a row is a
// day without cost. Errors: NotFound when the tenant has no data store (deleted); anything
// else is passed on as is.
type SeriesSource interface {
	DailyCosts(ctx context.Context, tenant eusaas.TenantID, from, to time.Time) ([]DailyCost, error)
}

// SeriesSourceFunc adapts a function to SeriesSource.
type SeriesSourceFunc func(ctx context.Context, tenant eusaas.TenantID, from, to time.Time) ([]DailyCost, error)

// DailyCosts calls f.
func (f SeriesSourceFunc) DailyCosts(ctx context.Context, tenant eusaas.TenantID, from, to time.Time) ([]DailyCost, error) {
	return f(ctx, tenant, from, to)
}

// TenantLister lists the tenants to scan. ActiveTenants returns every ACTIVE tenant (and
// only those) with its anomaly settings, in any order.
type TenantLister interface {
	ActiveTenants(ctx context.Context) ([]TenantConfig, error)
}

// TenantListerFunc adapts a function to TenantLister.
type TenantListerFunc func(ctx context.Context) ([]TenantConfig, error)

// ActiveTenants calls f.
func (f TenantListerFunc) ActiveTenants(ctx context.Context) ([]TenantConfig, error) { return f(ctx) }

// Projector gives the projected total cost of the month containing now (billing's
// Projection.projected_total). Used for budget alerts; optional.
type Projector interface {
	ProjectedTotal(ctx context.Context, tenant eusaas.TenantID, now time.Time) (decimal.Decimal, error)
}

// ProjectorFunc adapts a function to Projector.
type ProjectorFunc func(ctx context.Context, tenant eusaas.TenantID, now time.Time) (decimal.Decimal, error)

// ProjectedTotal calls f.
func (f ProjectorFunc) ProjectedTotal(ctx context.Context, tenant eusaas.TenantID, now time.Time) (decimal.Decimal, error) {
	return f(ctx, tenant, now)
}

// Store keeps anomalies, per tenant. Implementations are safe for concurrent use; a tenant
// never sees another tenant's anomalies (asking tenant B for A's id is NotFound). Amounts
// round-trip exactly.
//
// GDPR retention soft-deletes anomalies past the tenant's default_retention_days (and
// removes them after the grace period): a soft-deleted anomaly is invisible to every method
// (NotFound, not listed, not acknowledged) but still holds its (service, day) key.
type Store interface {
	// Insert stores a (already validated) unless an anomaly for the same (tenant, service,
	// day) exists. It returns the stored anomaly — a itself, or the existing one, unchanged
	// — and whether it was created. Idempotent: concurrent inserts of the same key create
	// exactly one row. When the key's anomaly is soft-deleted nothing is stored and Insert
	// returns a zero Anomaly and false: retention does not let the scanner re-detect (and
	// re-notify) what it removed.
	Insert(ctx context.Context, a Anomaly) (stored Anomaly, created bool, err error)

	// Get returns one anomaly. NotFound when the tenant has none with that id.
	Get(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (Anomaly, error)

	// List returns a page of the tenant's anomalies matching f, newest day first, then by
	// service and id; Total counts every match.
	List(ctx context.Context, tenant eusaas.TenantID, f Filter, page eusaas.Page) (eusaas.List[Anomaly], error)

	// Acknowledge marks the anomaly acknowledged by `by` at `at` and returns it. Acknowledging
	// an acknowledged anomaly changes nothing and returns it as stored (the first
	// acknowledgement wins). NotFound when the tenant has no such anomaly.
	Acknowledge(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, by string, at time.Time) (Anomaly, error)

	// Acknowledged returns the tenant's acknowledged anomalies on service whose Day is in
	// [from, to] (inclusive), in any order. The scanner uses it to suppress repeats.
	Acknowledged(ctx context.Context, tenant eusaas.TenantID, service string, from, to time.Time) ([]Anomaly, error)

	// MarkAlerted sets the anomaly's Alerted and appends to its AlertedSubscriptions the
	// ids of subs it does not hold yet (so a retried digest records a subscription once),
	// and returns it. NotFound when the tenant has no such anomaly.
	MarkAlerted(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, subs []uuid.UUID) (Anomaly, error)

	// AlertSubscriptions returns the tenant's subscriptions in the order they were set,
	// secrets included (the scanner signs with them); none is an empty list.
	AlertSubscriptions(ctx context.Context, tenant eusaas.TenantID) ([]Subscription, error)

	// SetAlertSubscriptions replaces the tenant's subscriptions with subs (validated, ids
	// set) atomically.
	SetAlertSubscriptions(ctx context.Context, tenant eusaas.TenantID, subs []Subscription) error

	// SetFeedback replaces the anomaly's feedback with fb (times kept to the microsecond) and
	// returns it. NotFound when the tenant has no such anomaly.
	SetFeedback(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, fb Feedback) (Anomaly, error)

	// Muting returns the tenant's anomalies on service whose feedback mutes (EXPECTED or
	// FALSE_POSITIVE) and was given at or after since, in any order.
	Muting(ctx context.Context, tenant eusaas.TenantID, service string, since time.Time) ([]Anomaly, error)

	// FeedbackCounts counts the tenant's (visible) anomalies by verdict; verdicts without
	// anomalies may be missing.
	FeedbackCounts(ctx context.Context, tenant eusaas.TenantID) (map[Verdict]int, error)

	// Episodes returns the tenant's anomalies that are OPEN or whose LastDay is on or after
	// since, in any order (the scanner extends, closes and de-duplicates with them).
	Episodes(ctx context.Context, tenant eusaas.TenantID, since time.Time) ([]Anomaly, error)

	// UpdateEpisode stores a's episode fields (Status, LastDay, EndDate, TotalImpact,
	// MaxDeviationPct, Severity, Description, RootCauses) on the stored anomaly with a's id and returns
	// it. NotFound when the tenant has no such anomaly.
	UpdateEpisode(ctx context.Context, a Anomaly) (Anomaly, error)
}

// Notifier tells someone about a new anomaly. Notify is called once per created,
// unsuppressed anomaly; an error is reported by the scan and not retried by it.
type Notifier interface {
	Notify(ctx context.Context, a Anomaly) error
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, a Anomaly) error

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, a Anomaly) error { return f(ctx, a) }
