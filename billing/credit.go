package billing

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
)

// CreditNoteStore keeps issued credit notes and their own gap-free counter.
type CreditNoteStore interface {
	// Create stores an issued credit note of cn.CreditedInvoice, provided the credit notes
	// of that invoice, cn included, stay within limit (net); else ErrOverCredit and nothing
	// is stored. Concurrent creates for one invoice are serialised so the limit holds.
	Create(ctx context.Context, cn Invoice, limit decimal.Decimal) error
	// Get returns one credit note of the tenant; ErrCreditNoteNotFound when missing.
	Get(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (Invoice, error)
	// List returns a page of the tenant's credit notes, newest first.
	List(ctx context.Context, tenant eusaas.TenantID, page eusaas.Page) (eusaas.List[Invoice], error)
	// Credited returns the net amount credited so far per line of the invoice (key 0: the
	// whole credited net).
	Credited(ctx context.Context, tenant eusaas.TenantID, invoice uuid.UUID) (map[int]decimal.Decimal, error)
	// NextNumber increments and returns the credit-note counter of year, in the ctx
	// transaction of the Create.
	NextNumber(ctx context.Context, year int) (int64, error)
}

// Credit-note errors.
var (
	ErrCreditNoteNotFound = eusaas.Sentinel(eusaas.NotFound, "credit_note_not_found", "credit note not found")
	ErrOverCredit         = eusaas.Sentinel(eusaas.AlreadyExists, "over_credit", "the credit would exceed what the invoice charged")
	ErrNotCreditable      = eusaas.Sentinel(eusaas.FailedPrecondition, "invoice_not_creditable", "only issued invoices with full invoice content can be credited")
)

// CreditNoteNumber formats the credit-note series number.
func CreditNoteNumber(year int, n int64) string { return fmt.Sprintf("CN-%04d-%06d", year, n) }

// CreditLine asks to credit part of one invoice line: a quantity (priced at the line's
// average unit price) or an amount; neither: the whole remaining line.
type CreditLine struct {
	LineID   int
	Quantity *decimal.Decimal
	Amount   *decimal.Decimal
}

// CreditInvoice issues a credit note against an issued invoice. No lines credit whatever
// remains of every line. The credit note gets the invoice's VAT treatment and parties, its
// own number from the CN series, and its documents rendered once. Crediting beyond the
// invoice is ErrOverCredit (409); when the whole invoice is credited it becomes CREDITED.
func (s *Service) CreditInvoice(ctx context.Context, tenant eusaas.TenantID, invoiceID uuid.UUID, reason string, lines []CreditLine) (Invoice, error) {
	if s.credits == nil {
		return Invoice{}, eusaas.E(eusaas.FailedPrecondition, "credit notes are not configured on this server")
	}
	var v eusaas.Violations
	checkText(&v, "body.reason", reason, true)
	for i, l := range lines {
		loc := fmt.Sprintf("body.lines[%d]", i)
		if l.Quantity != nil && l.Amount != nil {
			v.Add(loc, "give quantity or amount, not both")
		}
		if l.Quantity != nil && !l.Quantity.IsPositive() {
			v.Add(loc+".quantity", "must be positive")
		}
		if l.Amount != nil && (!l.Amount.IsPositive() || l.Amount.Exponent() < -2) {
			v.Add(loc+".amount", "must be positive with at most 2 decimals")
		}
	}
	if err := v.Err(); err != nil {
		return Invoice{}, err
	}
	var out Invoice
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		inv, err := s.invoices.Get(ctx, tenant, invoiceID)
		if err != nil {
			return err
		}
		if inv.Status == StatusCredited {
			return ErrOverCredit.Withf("%s is already fully credited", inv.Number)
		}
		if inv.VAT == nil || inv.IssuedAt == nil || (inv.Status != StatusIssued && inv.Status != StatusPaid && inv.Status != StatusOverdue) {
			return ErrNotCreditable.Withf("cannot credit a %s invoice", inv.Status)
		}
		done, err := s.credits.Credited(ctx, tenant, inv.ID)
		if err != nil {
			return err
		}
		byID := map[int]InvoiceLine{}
		for _, l := range inv.Lines {
			byID[l.ID] = l
		}
		var cl []InvoiceLine
		add := func(l InvoiceLine, amt, qty decimal.Decimal) {
			cl = append(cl, InvoiceLine{ID: len(cl) + 1, CreditedLine: l.ID, Resource: l.Resource, Description: "Credit: " + l.Description,
				Unit: l.Unit, Quantity: qty, Amount: amt, UsageMonth: l.UsageMonth, Adjustment: l.Adjustment})
		}
		if len(lines) == 0 {
			for _, l := range inv.Lines {
				if rest := l.Amount.Sub(done[l.ID]); rest.IsPositive() {
					add(l, rest, l.Quantity)
				}
			}
		}
		for i, r := range lines {
			l, ok := byID[r.LineID]
			if !ok {
				v.Add(fmt.Sprintf("body.lines[%d].line_id", i), "no such line on the invoice")
				continue
			}
			rest := l.Amount.Sub(done[l.ID])
			amt, qty := rest, l.Quantity
			switch {
			case r.Amount != nil:
				amt = *r.Amount
				qty = decimal.Zero
				if !l.Amount.IsZero() {
					qty = l.Quantity.Mul(amt).DivRound(l.Amount, 6)
				}
			case r.Quantity != nil:
				qty = *r.Quantity
				if qty.GreaterThan(l.Quantity) {
					return ErrOverCredit.Withf("line %d: quantity %s exceeds the invoiced %s", l.ID, qty, l.Quantity)
				}
				amt = decimal.Zero
				if !l.Quantity.IsZero() {
					amt = roundMoney(l.Amount.Mul(qty).Div(l.Quantity))
				}
			}
			if amt.GreaterThan(rest) {
				return ErrOverCredit.Withf("line %d: %s exceeds the %s still creditable", l.ID, amt.StringFixed(2), rest.StringFixed(2))
			}
			add(l, amt, qty)
		}
		if err := v.Err(); err != nil {
			return err
		}
		if len(cl) == 0 {
			return ErrOverCredit.With("the invoice is already fully credited")
		}
		now := s.o.Clock.Now()
		n, err := s.credits.NextNumber(ctx, now.Year())
		if err != nil {
			return err
		}
		if n > 999999 {
			return ErrInvoiceNumberRange
		}
		cn := Invoice{
			ID: newInvoiceID(), TenantID: tenant, Kind: KindCreditNote, Number: CreditNoteNumber(now.Year(), n), Status: StatusIssued,
			PeriodStart: inv.PeriodStart, PeriodEnd: inv.PeriodEnd, Currency: inv.Currency, CreatedAt: now, IssuedAt: &now,
			IssuedBy: eusaas.ActorFrom(ctx).ID, Lines: cl, Seller: inv.Seller, Buyer: inv.Buyer, Reason: strings.TrimSpace(reason),
			CreditedInvoice: &CreditRef{ID: inv.ID, Number: inv.Number, IssuedAt: *inv.IssuedAt},
			PaymentTerms:    "Credited amount to be refunded or set off against the next invoice",
		}
		cn.applyTreatment(*inv.VAT)
		if err := s.render(&cn); err != nil {
			return err
		}
		if err := s.credits.Create(ctx, cn, inv.Subtotal); err != nil {
			return err
		}
		total := done[0].Add(cn.Subtotal)
		if total.Equal(inv.Subtotal) {
			prev := inv.Status
			inv.Status = StatusCredited
			if err := s.invoices.Update(ctx, inv, prev); err != nil {
				return err
			}
		}
		out = cn
		return s.record(ctx, tenant, "CREDIT_NOTE_ISSUED", cn, map[string]any{"number": cn.Number, "invoice": inv.Number, "net_amount": cn.Subtotal.String()})
	})
	if err == nil && s.o.ObserveIssued != nil {
		s.o.ObserveIssued(out)
	}
	return out, err
}

// CreditNote returns one credit note of the tenant.
func (s *Service) CreditNote(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (Invoice, error) {
	if s.credits == nil {
		return Invoice{}, ErrCreditNoteNotFound
	}
	return s.credits.Get(ctx, tenant, id)
}

// CreditNotes lists the tenant's credit notes.
func (s *Service) CreditNotes(ctx context.Context, tenant eusaas.TenantID, page eusaas.Page) (eusaas.List[Invoice], error) {
	page, err := page.Normalize()
	if err != nil || s.credits == nil {
		return eusaas.List[Invoice]{}, err
	}
	return s.credits.List(ctx, tenant, page)
}
