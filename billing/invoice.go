package billing

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
)

// roundMoney is the invoice rounding rule for one amount: to cents, halves away from zero
// (commercial rounding, what EU invoicing practice and VAT rules expect).
func roundMoney(d decimal.Decimal) decimal.Decimal { return d.Round(2) }

// allInvoices lists every invoice of the tenant matching f (paging through the store).
func (s *Service) allInvoices(ctx context.Context, tenant eusaas.TenantID, f InvoiceFilter) ([]Invoice, error) {
	var out []Invoice
	for p := 1; ; p++ {
		l, err := s.invoices.List(ctx, tenant, f, eusaas.Page{Page: p, Size: eusaas.MaxPageSize})
		if err != nil {
			return nil, err
		}
		out = append(out, l.Items...)
		if len(l.Items) < eusaas.MaxPageSize || len(out) >= l.Total {
			return out, nil
		}
	}
}

// MinInvoiceYear is the earliest year a period can be invoiced for.
const MinInvoiceYear = 2000

type monthResource struct {
	month    time.Time
	resource ResourceType
}

// DraftInvoice drafts (or, while still DRAFT, recomputes) the invoice of the closed month
// containing month. Lines: one per resource used in the month, its exact bucket amount
// rounded under RoundingRule; plus adjustment lines for usage that reached earlier, already
// invoiced months after their invoice (the difference between what their buckets now say
// and what invoices have billed so far). ErrPeriodNotClosed while the month runs;
// ErrAlreadyInvoiced when the month has a non-void invoice past DRAFT.
func (s *Service) DraftInvoice(ctx context.Context, tenant eusaas.TenantID, month time.Time) (Invoice, error) {
	now := s.o.Clock.Now()
	ps := MonthStart(month)
	if ps.Year() < MinInvoiceYear {
		// Without a floor any typo ("0000-01") stored an empty invoice for a month no
		// tenant can have used.
		return Invoice{}, eusaas.Invalid("invalid period", eusaas.FieldViolation{Location: "body.period",
			Message: fmt.Sprintf("must be a month of %d or later", MinInvoiceYear)})
	}
	if ps.AddDate(0, 1, 0).After(now) {
		return Invoice{}, ErrPeriodNotClosed.Withf("the period %s has not ended", ps.Format("2006-01"))
	}
	// Earlier months whose late usage can still arrive: the horizon plus a month of slack,
	// because an invoice can be drafted some time after its month ended.
	lookback := MonthStart(ps.Add(-s.o.LateWindow).AddDate(0, -1, 0))
	existing, err := s.allInvoices(ctx, tenant, InvoiceFilter{PeriodFrom: lookback})
	if err != nil {
		return Invoice{}, err
	}
	var draft *Invoice
	billedAmt := map[monthResource]decimal.Decimal{}
	billedQty := map[monthResource]decimal.Decimal{}
	invoiced := map[time.Time]bool{}
	for i := range existing {
		inv := existing[i]
		if inv.Status == StatusVoid {
			continue
		}
		if inv.PeriodStart.Equal(ps) {
			if inv.Status != StatusDraft {
				return Invoice{}, ErrAlreadyInvoiced.Withf("%s is already invoiced (%s)", ps.Format("2006-01"), inv.Number)
			}
			draft = &existing[i]
			continue
		}
		if inv.PeriodStart.Before(ps) {
			invoiced[inv.PeriodStart] = true
		}
		for _, l := range inv.Lines {
			if l.Resource == PlanFee {
				continue // fees are billed per month by the plan, not by usage
			}
			k := monthResource{l.UsageMonth, l.Resource}
			billedAmt[k] = billedAmt[k].Add(l.Amount)
			billedQty[k] = billedQty[k].Add(l.Quantity)
		}
	}

	buckets, err := s.usage.Buckets(ctx, tenant, lookback, MonthEnd(ps))
	if err != nil {
		return Invoice{}, err
	}
	qty := map[monthResource]decimal.Decimal{}
	amt := map[monthResource]decimal.Decimal{}
	for _, b := range buckets {
		k := monthResource{MonthStart(b.Day), b.Resource}
		qty[k] = qty[k].Add(b.Quantity)
		amt[k] = amt[k].Add(b.Amount)
	}

	ms, err := s.metricBook(ctx)
	if err != nil {
		return Invoice{}, err
	}
	// With a plan the month's usage lines are computed from quantities: the plan's included
	// quantity is free, the rest is priced (tenant override, else the plan's price, else the
	// metric's) as if the included units came first. Each month of the lookback has its own
	// terms (late usage of a planned month is adjusted under that month's plan).
	terms := map[time.Time]*planTerms{}
	termsOf := func(m time.Time) (*planTerms, error) {
		if t, ok := terms[m]; ok {
			return t, nil
		}
		t, err := s.monthPlanTerms(ctx, tenant, m)
		terms[m] = t
		return t, err
	}
	var over map[ResourceType]PriceModel
	if s.plans != nil {
		if over, err = s.prices.Overrides(ctx, tenant); err != nil {
			return Invoice{}, err
		}
	}
	price := func(t *planTerms, r ResourceType) PriceModel {
		if p, ok := over[r]; ok {
			return p
		}
		if p, ok := t.prices[r]; ok {
			return p
		}
		if m, ok := ms[r]; ok && m.Price != nil {
			return *m.Price
		}
		return PriceModel{}
	}
	// exact is the unrounded amount of month m's quantity q of r: under a plan, what the
	// quantity beyond the included one costs; else the buckets' rated amount.
	exact := func(m time.Time, r ResourceType, q, bucketAmt decimal.Decimal) (decimal.Decimal, decimal.Decimal, error) {
		t, err := termsOf(m)
		if err != nil || t == nil {
			return bucketAmt, decimal.Zero, err
		}
		inc := decimal.Min(t.included[r], decimal.Max(q, decimal.Zero))
		return price(t, r).Marginal(inc, q.Sub(inc)), inc, nil
	}
	cur, err := termsOf(ps)
	if err != nil {
		return Invoice{}, err
	}
	var lines []InvoiceLine
	if cur != nil {
		lines = append(lines, cur.fees...)
	}
	resources := resourcesOf(qty)
	for _, r := range resourcesOf(billedAmt) {
		if !containsResource(resources, r) {
			resources = append(resources, r)
		}
	}
	sort.Slice(resources, func(i, j int) bool { return resourceLess(resources[i], resources[j]) })
	for _, r := range resources {
		k := monthResource{ps, r}
		q, ok := qty[k]
		if !ok || (q.IsZero() && amt[k].IsZero()) {
			continue
		}
		a, inc, err := exact(ps, r, q, amt[k])
		if err != nil {
			return Invoice{}, err
		}
		if inc.IsPositive() {
			lines = append(lines, InvoiceLine{Resource: r, Unit: ms.unit(r), Quantity: inc, Amount: decimal.Zero, UsageMonth: ps,
				Plan: cur.plan, Included: true, Description: fmt.Sprintf("%s included in plan %s, %s", r, cur.plan, ps.Format("2006-01"))})
			if q.Equal(inc) {
				continue
			}
			lines = append(lines, InvoiceLine{Resource: r, Unit: ms.unit(r), Quantity: q.Sub(inc), Amount: roundMoney(a), UsageMonth: ps,
				Description: fmt.Sprintf("%s usage beyond the plan %s", r, ps.Format("2006-01"))})
			continue
		}
		lines = append(lines, InvoiceLine{
			Resource: r, Unit: ms.unit(r), Quantity: q, Amount: roundMoney(a), UsageMonth: ps,
			Description: fmt.Sprintf("%s usage %s", r, ps.Format("2006-01")),
		})
	}
	for m := lookback; m.Before(ps); m = m.AddDate(0, 1, 0) {
		if !invoiced[m] {
			continue // never invoiced: its usage goes on its own invoice
		}
		for _, r := range resources {
			k := monthResource{m, r}
			a, _, err := exact(m, r, qty[k], amt[k])
			if err != nil {
				return Invoice{}, err
			}
			da := roundMoney(a).Sub(billedAmt[k])
			dq := qty[k].Sub(billedQty[k])
			if da.IsZero() && dq.IsZero() {
				continue
			}
			lines = append(lines, InvoiceLine{
				Resource: r, Unit: ms.unit(r), Quantity: dq, Amount: da, UsageMonth: m, Adjustment: true,
				Description: fmt.Sprintf("%s late usage adjustment for %s", r, m.Format("2006-01")),
			})
		}
	}

	rate, err := s.prices.TaxRate(ctx, tenant)
	if err != nil {
		return Invoice{}, err
	}
	inv := Invoice{
		ID: newInvoiceID(), TenantID: tenant, Status: StatusDraft, PeriodStart: ps, PeriodEnd: MonthEnd(ps),
		Currency: Currency, TaxRate: rate, RoundingRule: RoundingRule, CreatedAt: now, Lines: lines,
	}
	if draft != nil {
		inv.ID, inv.CreatedAt = draft.ID, draft.CreatedAt
	}
	inv.computeTotals()
	if draft != nil {
		if err := s.invoices.Update(ctx, inv, StatusDraft); err != nil {
			return Invoice{}, err
		}
		return inv, nil
	}
	if err := s.invoices.Create(ctx, inv); err != nil {
		return Invoice{}, err
	}
	return inv, nil
}

func containsResource(rs []ResourceType, r ResourceType) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// computeTotals applies RoundingRule: subtotal is the exact sum of the (already rounded)
// lines, tax is rounded to cents (halves away from zero), total = subtotal + tax.
func (inv *Invoice) computeTotals() {
	inv.Subtotal = decimal.Zero
	for _, l := range inv.Lines {
		inv.Subtotal = inv.Subtotal.Add(l.Amount)
	}
	inv.TaxAmount = roundMoney(inv.Subtotal.Mul(inv.TaxRate))
	inv.Total = inv.Subtotal.Add(inv.TaxAmount)
}

// InvoiceNumber formats the gap-free invoice number.
func InvoiceNumber(year int, n int64) string { return fmt.Sprintf("INV-%04d-%06d", year, n) }

// Issue assigns the next gap-free number of the current year and freezes the draft: from
// then on its content never changes. The counter increment and the invoice update share one
// transaction, so a failed issue leaves no gap.
func (s *Service) Issue(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (Invoice, error) {
	var out Invoice
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		inv, err := s.invoices.Get(ctx, tenant, id)
		if err != nil {
			return err
		}
		if inv.Status != StatusDraft {
			return ErrInvalidTransition.Withf("cannot issue a %s invoice", inv.Status)
		}
		now := s.o.Clock.Now()
		n, err := s.invoices.NextNumber(ctx, now.Year())
		if err != nil {
			return err
		}
		if n > 999999 {
			return ErrInvoiceNumberRange
		}
		due := Day(now.Add(s.o.PaymentTerms))
		inv.Number, inv.Status, inv.IssuedAt, inv.DueDate = InvoiceNumber(now.Year(), n), StatusIssued, &now, &due
		inv.IssuedBy = eusaas.ActorFrom(ctx).ID
		if err := s.completeAtIssue(ctx, &inv); err != nil {
			return err
		}
		if err := s.invoices.Update(ctx, inv, StatusDraft); err != nil {
			return err
		}
		out = inv
		return s.record(ctx, tenant, "INVOICE_ISSUED", inv, map[string]any{"number": inv.Number, "total_amount": inv.Total.String()})
	})
	if err == nil && s.o.ObserveIssued != nil {
		s.o.ObserveIssued(out)
	}
	return out, err
}

// transition moves an invoice to next, checking the lifecycle.
func (s *Service) transition(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, next InvoiceStatus, set func(*Invoice, time.Time)) (Invoice, error) {
	var out Invoice
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		inv, err := s.invoices.Get(ctx, tenant, id)
		if err != nil {
			return err
		}
		if !inv.Status.CanTransition(next) || next == StatusIssued {
			return ErrInvalidTransition.Withf("cannot move a %s invoice to %s", inv.Status, next)
		}
		prev := inv.Status
		inv.Status = next
		set(&inv, s.o.Clock.Now())
		if err := s.invoices.Update(ctx, inv, prev); err != nil {
			return err
		}
		out = inv
		return s.record(ctx, tenant, "INVOICE_"+string(next), inv, map[string]any{"old_status": string(prev), "new_status": string(next)})
	})
	return out, err
}

// MarkPaid records payment of an ISSUED or OVERDUE invoice.
func (s *Service) MarkPaid(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (Invoice, error) {
	return s.transition(ctx, tenant, id, StatusPaid, func(inv *Invoice, now time.Time) { inv.PaidAt = &now })
}

// Void cancels a DRAFT, ISSUED or OVERDUE invoice. Its number (if any) stays used: numbers
// are never reused, so the sequence stays gap-free.
func (s *Service) Void(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (Invoice, error) {
	return s.transition(ctx, tenant, id, StatusVoid, func(inv *Invoice, now time.Time) { inv.VoidedAt = &now })
}

// MarkOverdue moves every ISSUED invoice of the tenant whose due date has passed to
// OVERDUE and reports how many moved. Safe to run repeatedly and concurrently.
func (s *Service) MarkOverdue(ctx context.Context, tenant eusaas.TenantID) (int, error) {
	now := s.o.Clock.Now()
	issued, err := s.allInvoices(ctx, tenant, InvoiceFilter{Status: StatusIssued})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, inv := range issued {
		if inv.DueDate == nil || !now.After(inv.DueDate.Add(24*time.Hour)) {
			continue // due through the end of the due date
		}
		_, err := s.transition(ctx, tenant, inv.ID, StatusOverdue, func(*Invoice, time.Time) {})
		if errors.Is(err, ErrStatusConflict) || errors.Is(err, ErrInvalidTransition) {
			continue // paid or voided meanwhile
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Invoice returns one invoice of the tenant.
func (s *Service) Invoice(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (Invoice, error) {
	return s.invoices.Get(ctx, tenant, id)
}

// Invoices lists the tenant's invoices, newest period first.
func (s *Service) Invoices(ctx context.Context, tenant eusaas.TenantID, f InvoiceFilter, page eusaas.Page) (eusaas.List[Invoice], error) {
	page, err := page.Normalize()
	if err != nil {
		return eusaas.List[Invoice]{}, err
	}
	if f.Status != "" && !f.Status.Valid() {
		return eusaas.List[Invoice]{}, eusaas.Invalid("invalid status", eusaas.FieldViolation{Location: "query.status", Message: "must be DRAFT, ISSUED, PAID, OVERDUE or VOID"})
	}
	return s.invoices.List(ctx, tenant, f, page)
}
