package billing

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas/billing/vat"
)

// VATTreatment is the VAT decision stored on an invoice: the rule applied, the category and
// rate, and the reason in words (including the unverified-id policy when it decided).
type VATTreatment struct {
	Rule          vat.Rule
	Category      vat.Category
	Country       string
	Percent       decimal.Decimal
	Reason        string
	ExemptionText string
	ExemptionCode string
	// Policy is APP_VAT_UNVERIFIED_POLICY when the buyer's id was unverified at issue.
	Policy vat.UnverifiedPolicy
}

// VATSubtotal is one line of the VAT breakdown (EN 16931 BG-23).
type VATSubtotal struct {
	Category      vat.Category
	Percent       decimal.Decimal
	Taxable       decimal.Decimal
	Tax           decimal.Decimal
	ExemptionText string
	ExemptionCode string
}

// DocumentKind tells invoices from credit notes.
type DocumentKind string

// Document kinds.
const (
	KindInvoice    DocumentKind = "INVOICE"
	KindCreditNote DocumentKind = "CREDIT_NOTE"
)

// CreditRef is the invoice a credit note corrects (Art. 219).
type CreditRef struct {
	ID       uuid.UUID
	Number   string
	IssuedAt time.Time
}

// Document formats the platform renders: the EN 16931 syntaxes (billing/einvoice) and PDF
// (the adapters/pdf module, passed in Deps.Renderers).
const (
	FormatPDF = "pdf"
	FormatUBL = "ubl"
	FormatCII = "cii"
)

// Document is one rendering of an issued invoice or credit note.
type Document struct {
	Format    string // pdf, ubl, cii
	MediaType string
	Content   []byte
	SHA256    string // hex
}

// NewDocument wraps content with its digest.
func NewDocument(format, mediaType string, content []byte) Document {
	h := sha256.Sum256(content)
	return Document{Format: format, MediaType: mediaType, Content: content, SHA256: hex.EncodeToString(h[:])}
}

// Renderer renders an issued invoice or credit note into one format (UBL, CII, PDF). The
// renderers live outside this package (billing/einvoice, the PDF adapter module) and are
// passed in Deps; the service calls them once, at issue.
type Renderer interface {
	Format() string
	Render(inv Invoice) (Document, error)
}

// Document returns the stored rendering of format; ok=false when there is none.
func (inv Invoice) Document(format string) (Document, bool) {
	for _, d := range inv.Documents {
		if d.Format == format {
			return d, true
		}
	}
	return Document{}, false
}

// applyTreatment sets every line's category and rate and computes the breakdown and totals
// under RoundingRuleEN16931: line nets are already cents; the category's taxable amount is
// the sum of its lines; its tax is round(taxable x rate / 100, 2); the invoice totals are
// sums of those, so BR-CO-10..15 and BR-CO-17 hold exactly.
func (inv *Invoice) applyTreatment(t VATTreatment) {
	inv.VAT = &t
	inv.TaxRate = t.Percent.Div(decimal.NewFromInt(100))
	inv.RoundingRule = RoundingRuleEN16931
	taxable := decimal.Zero
	for i := range inv.Lines {
		inv.Lines[i].ID = i + 1
		inv.Lines[i].VATCategory, inv.Lines[i].VATPercent = t.Category, t.Percent
		taxable = taxable.Add(inv.Lines[i].Amount)
	}
	tax := roundMoney(taxable.Mul(t.Percent).Div(decimal.NewFromInt(100)))
	inv.Breakdown = []VATSubtotal{{Category: t.Category, Percent: t.Percent, Taxable: taxable, Tax: tax,
		ExemptionText: t.ExemptionText, ExemptionCode: t.ExemptionCode}}
	inv.Subtotal, inv.TaxAmount, inv.Total = taxable, tax, taxable.Add(tax)
}

// RoundingRuleEN16931 is the rounding rule of invoices with VAT treatment (ADR 0015).
const RoundingRuleEN16931 = "line_net=round_half_away_from_zero(exact_bucket_sum, 2); category_taxable=sum(line_net); category_tax=round_half_away_from_zero(category_taxable*rate/100, 2); net=sum(line_net); vat=sum(category_tax); gross=net+vat; due=gross"
