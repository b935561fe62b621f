package billing

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
)

// Rater prices quantity added to a resource's month that already held before. Adapters call
// it inside their ingest transaction, after they have locked the month's running quantity,
// so concurrent batches see each other's quantity and tiered amounts telescope exactly.
type Rater func(resource ResourceType, before, quantity decimal.Decimal) decimal.Decimal

// UsageStore keeps the dedup record of every accepted event and the daily buckets.
// Every method takes the tenant explicitly; data of one tenant is never visible to another.
type UsageStore interface {
	// Record stores the batch exactly once per event id. events are already validated and
	// inside the accepted time window. In ONE transaction (joining the ctx transaction when
	// there is one) it writes a dedup row per event whose id the tenant has not used yet,
	// adds only those newly written events to their (resource, day) buckets, rating each
	// bucket delta with rate against the month's running quantity. Ids repeated within the
	// batch count once (the first occurrence). It returns, in batch order, whether each event
	// was newly recorded (false: duplicate). Retried and concurrent batches never double-count
	// or drop an event; on error nothing of the batch is recorded. Implementations may return
	// an Aborted error on a serialisation conflict; the caller retries.
	Record(ctx context.Context, tenant eusaas.TenantID, events []UsageEvent, rate Rater) ([]bool, error)

	// Buckets returns the tenant's buckets with from <= Day <= to (UTC days), ordered by day
	// then resource. Its cost is proportional to the buckets returned.
	Buckets(ctx context.Context, tenant eusaas.TenantID, from, to time.Time) ([]Bucket, error)

	// FirstDay returns the day of the tenant's earliest bucket (ok=false when none).
	FirstDay(ctx context.Context, tenant eusaas.TenantID) (day time.Time, ok bool, err error)

	// PurgeDedup deletes dedup rows received before cutoff and reports how many. Buckets are
	// kept. The service never passes a cutoff that would shorten the 35-day uniqueness.
	PurgeDedup(ctx context.Context, tenant eusaas.TenantID, cutoff time.Time) (int, error)

	// PseudonymizeAttributes replaces every attribute value equal to subject with pseudonym
	// in the tenant's stored events and attribute aggregates and reports how many events
	// changed. Idempotent.
	PseudonymizeAttributes(ctx context.Context, tenant eusaas.TenantID, subject, pseudonym string) (int, error)

	// AttributeUsage returns the tenant's attribute aggregates with from <= Day <= to, in
	// any order. Record maintains them in its transaction: for every newly recorded event
	// and each of its attributes, the event's quantity is added to (day, resource, key,
	// value), where value is AttributeOther once the tenant's key already has
	// MaxAttributeValues distinct values (concurrent batches may each admit a new value at
	// the limit, so a key can end slightly above it).
	AttributeUsage(ctx context.Context, tenant eusaas.TenantID, from, to time.Time) ([]AttributeUsage, error)
}

// InvoiceStore keeps invoices and the gap-free invoice number counters.
type InvoiceStore interface {
	// Create stores a new DRAFT invoice with its lines. AlreadyExists when the id is taken.
	Create(ctx context.Context, inv Invoice) error

	// Get returns the invoice with its lines; ErrInvoiceNotFound (NotFound) when the tenant
	// has no such invoice (including another tenant's id).
	Get(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (Invoice, error)

	// List returns one page of the tenant's invoices (newest period first, then created_at),
	// with lines, and the total matching the filter.
	List(ctx context.Context, tenant eusaas.TenantID, f InvoiceFilter, page eusaas.Page) (eusaas.List[Invoice], error)

	// Update replaces the invoice's mutable fields and, when the stored invoice is DRAFT, its
	// lines and amounts; it succeeds only if the stored status equals expect (compare and
	// set), else ErrStatusConflict. ErrInvoiceNotFound when missing.
	Update(ctx context.Context, inv Invoice, expect InvoiceStatus) error

	// NextNumber increments and returns the invoice counter of year. It must run in the ctx
	// transaction of the issuing update so a rolled-back issue leaves no gap.
	NextNumber(ctx context.Context, year int) (int64, error)

	// PseudonymizeIssuer replaces IssuedBy == subject with pseudonym on the tenant's
	// invoices and reports how many changed. This is the only change allowed to an issued
	// invoice: the bill stays, the person is no longer identifiable.
	PseudonymizeIssuer(ctx context.Context, tenant eusaas.TenantID, subject, pseudonym string) (int, error)
}

// PriceStore keeps per-tenant price overrides and billing settings.
type PriceStore interface {
	// Overrides returns the tenant's price overrides (empty map when none).
	Overrides(ctx context.Context, tenant eusaas.TenantID) (map[ResourceType]PriceModel, error)
	// SetOverride creates or replaces the tenant's price for resource.
	SetOverride(ctx context.Context, tenant eusaas.TenantID, resource ResourceType, p PriceModel) error
	// DeleteOverride removes it (no error when there is none).
	DeleteOverride(ctx context.Context, tenant eusaas.TenantID, resource ResourceType) error
	// TaxRate returns the tenant's tax rate (0 when never set).
	TaxRate(ctx context.Context, tenant eusaas.TenantID) (decimal.Decimal, error)
	// SetTaxRate sets it.
	SetTaxRate(ctx context.Context, tenant eusaas.TenantID, rate decimal.Decimal) error
}

// ThresholdSource gives a tenant's cost_alert_threshold (ok=false when it has none). The
// wiring adapts the tenancy module to it; billing never imports tenancy.
type ThresholdSource interface {
	CostAlertThreshold(ctx context.Context, tenant eusaas.TenantID) (threshold decimal.Decimal, ok bool, err error)
}
