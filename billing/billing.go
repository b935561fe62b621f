package billing

import (
	"strings"

	"github.com/eusaas/eusaas/billing/vat"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
)

// Currency is the currency of every price and amount. The platform bills in euros only.
const Currency = "EUR"

// ResourceType names a metered resource.
type ResourceType string

// The metered resources of the specification.
const (
	CPU      ResourceType = "CPU"       // vCPU-hour
	Memory   ResourceType = "MEMORY"    // GB-hour
	Storage  ResourceType = "STORAGE"   // GB-day
	Network  ResourceType = "NETWORK"   // GB
	APICalls ResourceType = "API_CALLS" // call
)

// ResourceTypes lists every resource type in a stable order (the order of line items).
var ResourceTypes = []ResourceType{CPU, Memory, Storage, Network, APICalls}

// Valid reports whether r is a known resource type.
func (r ResourceType) Valid() bool {
	switch r {
	case CPU, Memory, Storage, Network, APICalls:
		return true
	}
	return false
}

// Unit is the unit a resource's quantity is measured in.
func (r ResourceType) Unit() string {
	switch r {
	case CPU:
		return "vCPU-hour"
	case Memory:
		return "GB-hour"
	case Storage:
		return "GB-day"
	case Network:
		return "GB"
	case APICalls:
		return "call"
	}
	return ""
}

// DefaultPrices are the EUR unit prices of the specification; a tenant's overrides replace
// them per resource.
func DefaultPrices() map[ResourceType]PriceModel {
	return map[ResourceType]PriceModel{
		CPU:      PerUnit(decimal.RequireFromString("0.02")),
		Memory:   PerUnit(decimal.RequireFromString("0.005")),
		Storage:  PerUnit(decimal.RequireFromString("0.01")),
		Network:  PerUnit(decimal.RequireFromString("0.001")),
		APICalls: PerUnit(decimal.RequireFromString("0.0001")),
	}
}

// UsageEvent is one measurement of consumption. ID is the idempotency key: a second event
// with the same ID for the same tenant (within the dedup retention, at least 35 days) is a
// duplicate and is not counted again, whatever its other fields say.
type UsageEvent struct {
	ID           string
	ResourceType ResourceType
	Quantity     decimal.Decimal
	Timestamp    time.Time
	Attributes   map[string]string
}

// Limits on event fields, so one event cannot blow up storage or arithmetic.
const (
	MaxEventIDLen     = 128
	MaxAttributes     = 32
	MaxAttributeLen   = 256
	MaxBatch          = 1000
	DefaultLateWindow = 35 * 24 * time.Hour
	MaxFutureSkew     = 5 * time.Minute
)

// validate checks the event's shape (not its timestamp window, which depends on the clock,
// nor whether its resource_type is a known metric, which depends on the catalogue) and
// reports the first problem as a reason and the field it concerns.
func (e UsageEvent) validate() (field, reason string) {
	switch {
	case e.ID == "":
		return "id", "id is required"
	case len(e.ID) > MaxEventIDLen:
		return "id", "id must be at most 128 bytes"
	case !billingText(e.ID):
		return "id", "id must be valid UTF-8 without NUL characters"
	case !metricCode.MatchString(string(e.ResourceType)):
		return "resource_type", "resource_type must be a metric code (CPU, MEMORY, STORAGE, NETWORK, API_CALLS or a custom metric)"
	case e.Quantity.IsNegative():
		return "quantity", "quantity must not be negative"
	case e.Quantity.GreaterThan(maxQuantity) || -e.Quantity.Exponent() > maxQuantityScale:
		return "quantity", "quantity out of range"
	case e.Timestamp.IsZero():
		return "timestamp", "timestamp is required"
	case len(e.Attributes) > MaxAttributes:
		return "attributes", "at most 32 attributes"
	}
	for k, v := range e.Attributes {
		if k == "" || len(k) > MaxAttributeLen || len(v) > MaxAttributeLen {
			return "attributes", "attribute keys must be 1..256 bytes and values at most 256 bytes"
		}
		if !billingText(k) || !billingText(v) {
			return "attributes", "attribute keys and values must be valid UTF-8 without NUL characters"
		}
	}
	return "", ""
}

// billingText reports whether s can be stored as text everywhere: PostgreSQL text rejects
// NUL bytes and invalid UTF-8, so such an id or attribute must be a rejected event, not a
// failed batch.
func billingText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// Validate reports the event's shape problems as field violations under prefix
// (for example "body.events[3]").
func (e UsageEvent) Validate(prefix string) error {
	var v eusaas.Violations
	if f, r := e.validate(); f != "" {
		v.Add(prefix+"."+f, r)
	}
	return v.Err()
}

// Day truncates t to its UTC calendar day.
func Day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// MonthStart returns the first day (UTC) of t's month.
func MonthStart(t time.Time) time.Time {
	y, m, _ := t.UTC().Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
}

// MonthEnd returns the last day (UTC, midnight) of t's month.
func MonthEnd(t time.Time) time.Time { return MonthStart(t).AddDate(0, 1, -1) }

// Bucket is the pre-aggregated usage of one resource on one UTC day. Amount is the exact
// (unrounded) rated cost of Quantity: for per-unit prices Quantity x price; for tiered prices
// the marginal cost the quantity added to its month when it was rated, so a month's bucket
// amounts always add up to the tiered cost of the month's quantity.
type Bucket struct {
	Resource ResourceType
	Day      time.Time
	Quantity decimal.Decimal
	Amount   decimal.Decimal
}

// DailyCost is one resource's exact cost on one day (the anomaly module's series).
type DailyCost struct {
	Day      time.Time
	Resource string
	Amount   decimal.Decimal
}

// IngestStatus is the outcome for one event of a batch.
type IngestStatus string

// Ingest outcomes.
const (
	Accepted  IngestStatus = "accepted"
	Duplicate IngestStatus = "duplicate"
	Rejected  IngestStatus = "rejected"
)

// EventResult is the outcome for one event, in batch order.
type EventResult struct {
	ID     string
	Status IngestStatus
	Reason string // set when Rejected
	// Warning is set on accepted storage usage that takes a day over the tenant's storage
	// limit when its plan does not enforce it (hard_limits off): reported, not refused.
	Warning string
}

// IngestResult summarises a batch.
type IngestResult struct {
	Accepted   int
	Duplicates int
	Rejected   int
	Results    []EventResult
}

// GroupBy selects how a breakdown is grouped.
type GroupBy string

// Breakdown groupings.
const (
	ByResource GroupBy = "resource"
	ByDay      GroupBy = "day"
)

// BreakdownLine is one line of a cost breakdown: a service with its unit, quantity and
// amount. Grouped by resource there is one line per service over the whole range; grouped by
// day one line per day and service, ordered by day then service.
type BreakdownLine struct {
	Service  ResourceType
	Day      time.Time // zero when grouped by resource
	Unit     string
	Quantity decimal.Decimal
	Amount   decimal.Decimal
}

// Breakdown is the exact cost of a date range. Amounts are exact (not rounded): rounding
// happens only on invoices, under the rule stored with each invoice.
type Breakdown struct {
	TenantID    eusaas.TenantID
	PeriodStart time.Time
	PeriodEnd   time.Time // inclusive
	GroupBy     GroupBy
	Total       decimal.Decimal
	Currency    string
	Lines       []BreakdownLine
}

// Projection is the month-end estimate of the current period.
type Projection struct {
	TenantID           eusaas.TenantID
	PeriodStart        time.Time
	PeriodEnd          time.Time // inclusive last day
	ActualToDate       decimal.Decimal
	ProjectedTotal     decimal.Decimal
	IntervalLow        decimal.Decimal
	IntervalHigh       decimal.Decimal
	Confidence         decimal.Decimal // nominal coverage of the interval, 0.95
	Method             string          // "weekday_profile" or "linear"
	HistoryDays        int             // complete days the model was fitted on
	Currency           string
	BudgetThreshold    *decimal.Decimal // the tenant's cost_alert_threshold, when known
	BudgetExceeded     bool             // projected_total > threshold
	BudgetLikelyBreach bool             // interval high > threshold
}

// InvoiceStatus is an invoice's lifecycle state.
type InvoiceStatus string

// Invoice states: DRAFT -> ISSUED -> PAID | OVERDUE | VOID; OVERDUE -> PAID | VOID;
// DRAFT -> VOID.
const (
	StatusDraft   InvoiceStatus = "DRAFT"
	StatusIssued  InvoiceStatus = "ISSUED"
	StatusPaid    InvoiceStatus = "PAID"
	StatusOverdue InvoiceStatus = "OVERDUE"
	StatusVoid    InvoiceStatus = "VOID"
	// StatusCredited: credit notes have credited the whole invoice (Art. 219).
	StatusCredited InvoiceStatus = "CREDITED"
)

// Valid reports whether s is a known status.
func (s InvoiceStatus) Valid() bool {
	switch s {
	case StatusDraft, StatusIssued, StatusPaid, StatusOverdue, StatusVoid, StatusCredited:
		return true
	}
	return false
}

var invoiceTransitions = map[InvoiceStatus][]InvoiceStatus{
	StatusDraft:   {StatusIssued, StatusVoid},
	StatusIssued:  {StatusPaid, StatusOverdue, StatusVoid, StatusCredited},
	StatusOverdue: {StatusPaid, StatusVoid, StatusCredited},
	StatusPaid:    {StatusCredited},
}

// CanTransition reports whether an invoice may go from s to next.
func (s InvoiceStatus) CanTransition(next InvoiceStatus) bool {
	for _, n := range invoiceTransitions[s] {
		if n == next {
			return true
		}
	}
	return false
}

// RoundingRule is the rule invoices are rounded with; it is stored with each invoice so an
// invoice can always be re-derived from its lines.
const RoundingRule = "line=round_half_away_from_zero(exact_bucket_sum, 2); subtotal=sum(lines); tax=round_half_away_from_zero(subtotal*tax_rate, 2); total=subtotal+tax"

// InvoiceLine is one line of an invoice: a resource's usage in a month. Adjustment lines
// carry usage that arrived after UsageMonth was already invoiced.
type InvoiceLine struct {
	Resource    ResourceType
	Description string
	Unit        string
	Quantity    decimal.Decimal
	Amount      decimal.Decimal // rounded to cents under RoundingRule
	UsageMonth  time.Time       // first day of the month the usage belongs to
	Adjustment  bool
	// ID numbers the line within its invoice (1, 2, ...), the reference credit notes use.
	ID int
	// VATCategory and VATPercent are set at issue from the invoice's VAT treatment.
	VATCategory vat.Category
	VATPercent  decimal.Decimal
	// CreditedLine is, on a credit note, the invoice line it credits.
	CreditedLine int
	// Plan is set on the lines a plan makes: its fee (Resource PlanFee) and the usage it
	// includes (Included, amount 0).
	Plan     string
	Included bool
}

// PlanFee is the resource of plan fee lines.
const PlanFee ResourceType = "PLAN_FEE"

// Invoice is a tenant's bill for one closed month. Once ISSUED its content (lines, amounts,
// number, dates) never changes; only the status moves on.
type Invoice struct {
	ID           uuid.UUID
	TenantID     eusaas.TenantID
	Number       string // INV-YYYY-NNNNNN, assigned at issue; empty while DRAFT
	Status       InvoiceStatus
	PeriodStart  time.Time
	PeriodEnd    time.Time // inclusive last day
	Currency     string
	Subtotal     decimal.Decimal
	TaxRate      decimal.Decimal
	TaxAmount    decimal.Decimal
	Total        decimal.Decimal
	RoundingRule string
	CreatedAt    time.Time
	IssuedAt     *time.Time
	DueDate      *time.Time
	PaidAt       *time.Time
	VoidedAt     *time.Time
	// IssuedBy is the actor id that issued the invoice; personal data when a user, so
	// PseudonymizeSubject replaces it.
	IssuedBy string
	Lines    []InvoiceLine

	// Set at issue when the service runs with a ProfileStore (Art. 226 content). Seller and
	// Buyer are copies frozen at issue; VAT is the treatment applied and why.
	Seller       *Party
	Buyer        *Party
	VAT          *VATTreatment
	Breakdown    []VATSubtotal
	PaymentTerms string
	// Documents are rendered once at issue and never again (archiving: the stored bytes are
	// the invoice); each carries its SHA-256.
	Documents []Document
	// Credited is the net amount credited by credit notes so far.
	Credited decimal.Decimal
	// Kind is "INVOICE" or "CREDIT_NOTE"; CreditedInvoice and Reason are set on credit notes.
	Kind            DocumentKind
	CreditedInvoice *CreditRef
	Reason          string
}

// InvoiceFilter narrows an invoice listing.
type InvoiceFilter struct {
	Status     InvoiceStatus // empty: all
	PeriodFrom time.Time     // zero: no bound; else PeriodStart >= PeriodFrom
}

// String returns the resource type's name.
func (r ResourceType) String() string { return string(r) }
