package billing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing/vat"
)

// Deps are the ports a Service runs on. Usage, Invoices and Prices are required.
type Deps struct {
	Usage    UsageStore
	Invoices InvoiceStore
	Prices   PriceStore
	Tx       eusaas.TxRunner // joins invoice number and invoice update; default eusaas.NoTx
	Recorder eusaas.Recorder // audit of invoice transitions; default eusaas.Discard
	// Thresholds gives tenants' cost_alert_threshold for the budget signal; nil: no signal.
	Thresholds ThresholdSource
	// Profiles keeps seller, buyer profiles and rate overrides. With it, issued invoices
	// carry the Art. 226 content and their VAT treatment; nil: the legacy flat tax rate.
	Profiles ProfileStore
	// VIES verifies buyers' VAT ids; nil: every id stays unverified.
	VIES VATChecker
	// Renderers produce the documents stored at issue (UBL, CII, PDF).
	Renderers []Renderer
	// CreditNotes keeps credit notes and their counter; required for CreditInvoice.
	CreditNotes CreditNoteStore
	// Metrics keeps the custom billable metrics; nil: only the five built-in ones.
	Metrics MetricStore
	// Plans keeps plans and tenants' plan histories; nil: no plans (usage is billed at the
	// price book).
	Plans PlanStore
}

// Options configure a Service. Zero values take the documented defaults.
type Options struct {
	Clock eusaas.Clock // default eusaas.SystemClock
	// LateWindow is the late-arrival horizon: events older than it are rejected. Default 35
	// days.
	LateWindow time.Duration
	// DedupRetention is how long event ids stay unique. It is never shorter than LateWindow
	// plus a day (an id can never be re-accepted while an event with it could still be
	// accepted) and never shorter than 35 days. Default 36 days.
	DedupRetention time.Duration
	// PaymentTerms is the time from issue to due date. Default 30 days.
	PaymentTerms time.Duration
	// MaxRangeDays bounds breakdown date ranges. Default 366.
	MaxRangeDays int
	// UnverifiedPolicy (APP_VAT_UNVERIFIED_POLICY) decides for business buyers whose VAT id
	// VIES could not verify. Default charge.
	UnverifiedPolicy vat.UnverifiedPolicy
	// BelowOSSThreshold: charge the seller's own rate to consumers in other member states.
	BelowOSSThreshold bool
	// Observe, when set, is called with the result of every Ingest that succeeded (all its
	// events accepted, duplicate or rejected), whoever ingested: the HTTP API, the metering
	// collectors or an embedding program. For metrics; it must not block.
	Observe func(IngestResult)
	// ObserveIssued, when set, is called with every invoice and credit note once its issue
	// committed (never for one rolled back). For metrics; it must not block.
	ObserveIssued func(Invoice)
	// EntitlementsChanged, when set, is called after an UpdatePlan that changed the plan's
	// entitlements committed, with the plan's code: the wiring gives the tenants on the plan
	// their new limits (tenancy's settings, which billing does not own). Its error is
	// UpdatePlan's; the plan stays updated and the call is idempotent, so repeating the
	// update finishes it.
	EntitlementsChanged func(ctx context.Context, plan string) error
}

// Service is the billing module.
type Service struct {
	usage      UsageStore
	invoices   InvoiceStore
	prices     PriceStore
	tx         eusaas.TxRunner
	rec        eusaas.Recorder
	thresholds ThresholdSource
	profiles   ProfileStore
	vies       VATChecker
	renderers  []Renderer
	credits    CreditNoteStore
	metrics    MetricStore
	plans      PlanStore
	o          Options

	bookMu sync.Mutex // guards the cached metric catalogue
	book   metricBook
	bookAt time.Time
}

// NewService returns a Service on d's ports. A missing required port is an InvalidArgument
// error naming every missing one, so wiring mistakes surface at start-up rather than as a
// nil dereference on the first request.
func NewService(d Deps, o Options) (*Service, error) {
	var missing []string
	if d.Usage == nil {
		missing = append(missing, "Usage")
	}
	if d.Invoices == nil {
		missing = append(missing, "Invoices")
	}
	if d.Prices == nil {
		missing = append(missing, "Prices")
	}
	if len(missing) > 0 {
		return nil, eusaas.Errorf(eusaas.InvalidArgument, "billing: missing required ports: %v", missing)
	}
	if d.Tx == nil {
		d.Tx = eusaas.NoTx
	}
	if d.Recorder == nil {
		d.Recorder = eusaas.Discard
	}
	if o.Clock == nil {
		o.Clock = eusaas.SystemClock
	}
	if o.LateWindow <= 0 {
		o.LateWindow = DefaultLateWindow
	}
	if minRet := o.LateWindow + 24*time.Hour; o.DedupRetention < minRet {
		o.DedupRetention = minRet
	}
	if o.DedupRetention < DefaultLateWindow {
		o.DedupRetention = DefaultLateWindow
	}
	if o.PaymentTerms <= 0 {
		o.PaymentTerms = 30 * 24 * time.Hour
	}
	if o.MaxRangeDays <= 0 {
		o.MaxRangeDays = 366
	}
	if o.UnverifiedPolicy == "" {
		o.UnverifiedPolicy = vat.PolicyCharge
	}
	if !o.UnverifiedPolicy.Valid() {
		return nil, eusaas.Errorf(eusaas.InvalidArgument, "billing: unverified VAT id policy %q is not charge or reverse", o.UnverifiedPolicy)
	}
	return &Service{usage: d.Usage, invoices: d.Invoices, prices: d.Prices, tx: d.Tx, rec: d.Recorder,
		thresholds: d.Thresholds, profiles: d.Profiles, vies: d.VIES, renderers: d.Renderers, credits: d.CreditNotes, metrics: d.Metrics, plans: d.Plans, o: o}, nil
}

// PriceBook returns the tenant's effective prices: the metrics' default prices overlaid with
// its overrides.
func (s *Service) PriceBook(ctx context.Context, tenant eusaas.TenantID) (PriceBook, error) {
	ms, err := s.metricBook(ctx)
	if err != nil {
		return nil, err
	}
	return s.priceBook(ctx, tenant, ms)
}

func (s *Service) priceBook(ctx context.Context, tenant eusaas.TenantID, ms metricBook) (PriceBook, error) {
	over, err := s.prices.Overrides(ctx, tenant)
	if err != nil {
		return nil, err
	}
	b := PriceBook(DefaultPrices())
	for code, m := range ms {
		if m.Price != nil {
			b[code] = *m.Price
		}
	}
	for r, p := range over {
		b[r] = p
	}
	return b, nil
}

// SetPrice sets the tenant's price override for resource. It applies to usage rated from
// then on; buckets already rated keep their amounts.
func (s *Service) SetPrice(ctx context.Context, tenant eusaas.TenantID, resource ResourceType, p PriceModel) error {
	ms, err := s.metricBook(ctx)
	if err != nil {
		return err
	}
	if _, ok := ms[resource]; !ok {
		return eusaas.Invalid("unknown metric", eusaas.FieldViolation{Location: "path.resource", Message: "unknown resource_type: a built-in or custom metric code"})
	}
	if err := p.Validate("body"); err != nil {
		return err
	}
	return s.prices.SetOverride(ctx, tenant, resource, p)
}

// SetTaxRate sets the tenant's tax rate (0 <= rate < 1), used by invoices drafted from then on.
func (s *Service) SetTaxRate(ctx context.Context, tenant eusaas.TenantID, rate decimal.Decimal) error {
	if rate.IsNegative() || rate.GreaterThanOrEqual(decimal.NewFromInt(1)) {
		return eusaas.Invalid("invalid tax rate", eusaas.FieldViolation{Location: "body.tax_rate", Message: "must be in [0, 1)"})
	}
	return s.prices.SetTaxRate(ctx, tenant, rate)
}

// maxRetries bounds retries of a batch after a serialisation conflict (Aborted).
const maxRetries = 5

// Ingest records a batch of at most MaxBatch events exactly once each. Each event gets its
// own outcome: accepted, duplicate (its id was seen before, in this batch or an earlier
// one), or rejected with a reason (bad shape, more than 5 minutes in the future, older than
// the late-arrival horizon). A rejected event never affects the others. Posting the same
// batch again, or concurrently, never counts an event twice.
func (s *Service) Ingest(ctx context.Context, tenant eusaas.TenantID, events []UsageEvent) (IngestResult, error) {
	if len(events) > MaxBatch {
		return IngestResult{}, ErrBatchTooLarge
	}
	now := s.o.Clock.Now()
	ms, err := s.metricBook(ctx)
	if err != nil {
		return IngestResult{}, err
	}
	res := IngestResult{Results: make([]EventResult, len(events))}
	valid := make([]UsageEvent, 0, len(events))
	idx := make([]int, 0, len(events))
	var aggs map[ResourceType]Aggregate
	for i, e := range events {
		res.Results[i].ID = e.ID
		if _, reason := e.validate(); reason != "" {
			res.Results[i].Status, res.Results[i].Reason = Rejected, reason
			continue
		}
		m, ok := ms[e.ResourceType]
		if !ok {
			res.Results[i].Status, res.Results[i].Reason = Rejected, "unknown resource_type: not a built-in or custom metric"
			continue
		}
		if !m.BuiltIn {
			// Metered under the metric's aggregation (e is this loop's copy).
			if reason := m.meter(&e); reason != "" {
				res.Results[i].Status, res.Results[i].Reason = Rejected, reason
				continue
			}
			if !m.Aggregation.Additive() {
				if aggs == nil {
					aggs = map[ResourceType]Aggregate{}
				}
				aggs[m.Code] = Aggregate{Kind: m.Aggregation, Field: m.Field}
			}
		}
		if e.Timestamp.After(now.Add(MaxFutureSkew)) {
			res.Results[i].Status, res.Results[i].Reason = Rejected, "timestamp is more than 5 minutes in the future"
			continue
		}
		if e.Timestamp.Before(now.Add(-s.o.LateWindow)) {
			res.Results[i].Status, res.Results[i].Reason = Rejected,
				fmt.Sprintf("timestamp is older than the late-arrival horizon (%d days)", int(s.o.LateWindow/(24*time.Hour)))
			continue
		}
		e.Timestamp = e.Timestamp.UTC()
		valid = append(valid, e)
		idx = append(idx, i)
	}
	if len(valid) > 0 {
		checked, checkedIdx := valid, idx
		var inserted []bool
		agg, aggregating := s.usage.(AggregatingStore)
		if len(aggs) > 0 && !aggregating {
			return IngestResult{}, ErrNotAggregating
		}
		for attempt := 0; ; attempt++ {
			// The price book is read in the recording transaction: one transaction per batch.
			err = s.tx.InTx(ctx, func(ctx context.Context) error {
				// The storage limit is checked in the recording transaction (each attempt
				// anew), so the usage it reads is the usage the batch adds to.
				var err error
				if checked, checkedIdx, err = s.checkStorage(ctx, tenant, &res, valid, idx); err != nil || len(checked) == 0 {
					inserted = nil
					return err
				}
				book, err := s.priceBook(ctx, tenant, ms)
				if err != nil {
					return err
				}
				if len(aggs) > 0 {
					inserted, err = agg.RecordAggregated(ctx, tenant, checked, aggs, book.Rate)
				} else {
					inserted, err = s.usage.Record(ctx, tenant, checked, book.Rate)
				}
				return err
			})
			if err == nil || eusaas.KindOf(err) != eusaas.Aborted || attempt >= maxRetries {
				break
			}
		}
		if err != nil {
			return IngestResult{}, err
		}
		for j, ok := range inserted {
			if ok {
				res.Results[checkedIdx[j]].Status = Accepted
			} else {
				res.Results[checkedIdx[j]].Status = Duplicate
			}
		}
	}
	for _, r := range res.Results {
		switch r.Status {
		case Accepted:
			res.Accepted++
		case Duplicate:
			res.Duplicates++
		case Rejected:
			res.Rejected++
		}
	}
	if s.o.Observe != nil {
		s.o.Observe(res)
	}
	return res, nil
}

// PurgeDedup forgets event ids older than the dedup retention (at least 35 days).
func (s *Service) PurgeDedup(ctx context.Context, tenant eusaas.TenantID) (int, error) {
	return s.usage.PurgeDedup(ctx, tenant, s.o.Clock.Now().Add(-s.o.DedupRetention))
}

// checkRange validates an inclusive day range.
func (s *Service) checkRange(start, end time.Time) error {
	var v eusaas.Violations
	if start.IsZero() {
		v.Add("query.start_date", "is required")
	}
	if end.IsZero() {
		v.Add("query.end_date", "is required")
	}
	if err := v.Err(); err != nil {
		return err
	}
	if Day(end).Before(Day(start)) {
		v.Add("query.end_date", "must not be before start_date")
	} else if days := int(Day(end).Sub(Day(start))/(24*time.Hour)) + 1; days > s.o.MaxRangeDays {
		v.Add("query.end_date", fmt.Sprintf("the range may span at most %d days", s.o.MaxRangeDays))
	}
	return v.Err()
}

// Costs returns the exact cost of [start, end] (UTC days, inclusive) grouped by resource or
// by day. Its cost is proportional to the buckets in the range, never to events.
func (s *Service) Costs(ctx context.Context, tenant eusaas.TenantID, start, end time.Time, by GroupBy) (Breakdown, error) {
	if by == "" {
		by = ByResource
	}
	if err := s.checkRange(start, end); err != nil {
		return Breakdown{}, err
	}
	if by != ByResource && by != ByDay {
		return Breakdown{}, eusaas.Invalid("invalid group_by", eusaas.FieldViolation{Location: "query.group_by", Message: "must be resource or day"})
	}
	start, end = Day(start), Day(end)
	buckets, err := s.usage.Buckets(ctx, tenant, start, end)
	if err != nil {
		return Breakdown{}, err
	}
	ms, err := s.metricBook(ctx)
	if err != nil {
		return Breakdown{}, err
	}
	return breakdown(tenant, start, end, by, buckets, ms), nil
}

func breakdown(tenant eusaas.TenantID, start, end time.Time, by GroupBy, buckets []Bucket, ms metricBook) Breakdown {
	b := Breakdown{TenantID: tenant, PeriodStart: start, PeriodEnd: end, GroupBy: by, Currency: Currency, Total: decimal.Zero}
	switch by {
	case ByDay:
		// One line per day and resource, so every line names its service, unit and
		// quantity (SPEC's line item fields; quantities of different units never add up).
		type key struct {
			day time.Time
			r   ResourceType
		}
		byDay := map[key]*BreakdownLine{}
		for _, k := range buckets {
			l := byDay[key{k.Day, k.Resource}]
			if l == nil {
				l = &BreakdownLine{Day: k.Day, Service: k.Resource, Unit: ms.unit(k.Resource)}
				byDay[key{k.Day, k.Resource}] = l
			}
			l.Quantity = l.Quantity.Add(k.Quantity)
			l.Amount = l.Amount.Add(k.Amount)
		}
		for _, l := range byDay {
			b.Lines = append(b.Lines, *l)
		}
		sort.Slice(b.Lines, func(i, j int) bool {
			if !b.Lines[i].Day.Equal(b.Lines[j].Day) {
				return b.Lines[i].Day.Before(b.Lines[j].Day)
			}
			return resourceLess(b.Lines[i].Service, b.Lines[j].Service)
		})
	default:
		byRes := map[ResourceType]*BreakdownLine{}
		for _, k := range buckets {
			l := byRes[k.Resource]
			if l == nil {
				l = &BreakdownLine{Service: k.Resource, Unit: ms.unit(k.Resource)}
				byRes[k.Resource] = l
			}
			l.Quantity = l.Quantity.Add(k.Quantity)
			l.Amount = l.Amount.Add(k.Amount)
		}
		for _, l := range byRes {
			b.Lines = append(b.Lines, *l)
		}
		sort.Slice(b.Lines, func(i, j int) bool { return resourceLess(b.Lines[i].Service, b.Lines[j].Service) })
	}
	for _, l := range b.Lines {
		b.Total = b.Total.Add(l.Amount)
	}
	return b
}

// resourceOrder is r's position in ResourceTypes (the order of line items); custom metrics
// come after the built-ins.
func resourceOrder(r ResourceType) int {
	for i, x := range ResourceTypes {
		if x == r {
			return i
		}
	}
	return len(ResourceTypes)
}

// resourceLess orders line items: the built-ins in their fixed order, then custom metrics
// by code.
func resourceLess(a, b ResourceType) bool {
	if oa, ob := resourceOrder(a), resourceOrder(b); oa != ob {
		return oa < ob
	}
	return a < b
}

// resourcesOf lists the resources of keys in line-item order.
func resourcesOf[V any](m map[monthResource]V) []ResourceType {
	seen := map[ResourceType]bool{}
	var out []ResourceType
	for k := range m {
		if !seen[k.resource] {
			seen[k.resource] = true
			out = append(out, k.resource)
		}
	}
	sort.Slice(out, func(i, j int) bool { return resourceLess(out[i], out[j]) })
	return out
}

// Current returns the month-to-date breakdown by resource.
func (s *Service) Current(ctx context.Context, tenant eusaas.TenantID) (Breakdown, error) {
	now := s.o.Clock.Now()
	return s.Costs(ctx, tenant, MonthStart(now), Day(now), ByResource)
}

// DailyCosts returns each resource's exact cost per day in [from, to] (UTC days,
// inclusive), ordered by day then resource; days without usage are absent.
func (s *Service) DailyCosts(ctx context.Context, tenant eusaas.TenantID, from, to time.Time) ([]DailyCost, error) {
	if Day(to).Before(Day(from)) {
		return nil, ErrInvalidDateRange.With("to is before from")
	}
	buckets, err := s.usage.Buckets(ctx, tenant, Day(from), Day(to))
	if err != nil {
		return nil, err
	}
	out := make([]DailyCost, 0, len(buckets))
	for _, b := range buckets {
		out = append(out, DailyCost{Day: b.Day, Resource: string(b.Resource), Amount: b.Amount})
	}
	return out, nil
}

// Pseudonym is the stable pseudonym that replaces subject in a tenant's billing data: the
// first 24 hex digits of SHA-256(tenant hex ":" subject). It is not reversible without the
// subject, and the same subject always maps to the same pseudonym (records stay linkable).
func Pseudonym(tenant eusaas.TenantID, subject string) string {
	sum := sha256.Sum256([]byte(tenant.Hex() + ":" + subject))
	return "pseudonym:" + hex.EncodeToString(sum[:12])
}

// PseudonymizeSubject replaces the data subject's identifier in the tenant's billing data
// (invoice issuer, usage event attribute values) with its pseudonym. Invoices are kept: tax
// law requires them, and they hold no other personal data. Idempotent; returns the number of
// records changed.
func (s *Service) PseudonymizeSubject(ctx context.Context, tenant eusaas.TenantID, subject string) (int, error) {
	if subject == "" {
		return 0, eusaas.Invalid("subject is required", eusaas.FieldViolation{Location: "subject", Message: "is required"})
	}
	p := Pseudonym(tenant, subject)
	n1, err := s.invoices.PseudonymizeIssuer(ctx, tenant, subject, p)
	if err != nil {
		return 0, err
	}
	n2, err := s.usage.PseudonymizeAttributes(ctx, tenant, subject, p)
	if err != nil {
		return n1, err
	}
	return n1 + n2, nil
}

// record writes an audit event; a failing recorder fails the operation (it runs in the
// operation's transaction).
func (s *Service) record(ctx context.Context, tenant eusaas.TenantID, action string, inv Invoice, changes map[string]any) error {
	return s.rec.Record(ctx, eusaas.AuditEvent{
		TenantID:     tenant,
		Actor:        eusaas.ActorFrom(ctx),
		Action:       action,
		ResourceType: "invoice",
		ResourceID:   inv.ID.String(),
		Changes:      changes,
		Meta:         eusaas.RequestMetaFrom(ctx),
	})
}

// newInvoiceID returns a time-ordered invoice id.
func newInvoiceID() uuid.UUID { return uuid.Must(uuid.NewV7()) }
