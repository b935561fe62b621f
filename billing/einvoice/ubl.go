// Package einvoice renders issued invoices and credit notes as EN 16931 e-invoices: UBL 2.1
// Invoice/CreditNote (and UN/CEFACT CII D16B). Documents are built from the frozen invoice
// only, so the same invoice always gives the same bytes; the service renders them once at
// issue and stores them.
package einvoice

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/vat"
)

// UBL renders UBL 2.1 (billing.Renderer).
type UBL struct{}

// Format implements billing.Renderer.
func (UBL) Format() string { return billing.FormatUBL }

// MediaType of the XML documents.
const MediaType = "application/xml"

// UnitCode maps a resource to its UN/ECE Recommendation 20 unit (the unit's full name stays
// in the line's item name: "GB-hour" has no code of its own, so hours are counted).
func UnitCode(r billing.ResourceType) string {
	switch r {
	case billing.CPU, billing.Memory:
		return "HUR"
	case billing.Storage:
		return "DAY"
	case billing.Network:
		return "E34"
	}
	return "C62"
}

type writer struct{ bytes.Buffer }

func (w *writer) raw(s string) { w.WriteString(s) }

// el writes <name>text</name> with text escaped; nothing when text is empty.
func (w *writer) el(name, text string) {
	if text == "" {
		return
	}
	w.raw("<" + name + ">")
	_ = xml.EscapeText(&w.Buffer, []byte(text))
	w.raw("</" + name + ">")
}

func (w *writer) amount(name string, d decimal.Decimal) {
	w.raw(fmt.Sprintf(`<%s currencyID="EUR">%s</%s>`, name, d.StringFixed(2), name))
}

func date(t time.Time) string { return t.UTC().Format("2006-01-02") }

// Check reports why inv cannot be rendered (nil when it can): only issued invoices and credit
// notes that carry seller, buyer and VAT treatment have the EN 16931 content.
func Check(inv billing.Invoice) error {
	if inv.Seller == nil || inv.Buyer == nil || inv.VAT == nil || inv.IssuedAt == nil || inv.Number == "" || len(inv.Lines) == 0 {
		return fmt.Errorf("invoice %s lacks the content of an issued EN 16931 invoice", inv.ID)
	}
	return nil
}

func notSubject(inv billing.Invoice) bool { return inv.VAT.Category == vat.NotSubject }

// Render implements billing.Renderer.
func (UBL) Render(inv billing.Invoice) (billing.Document, error) {
	if err := Check(inv); err != nil {
		return billing.Document{}, err
	}
	cn := inv.Kind == billing.KindCreditNote
	root, typeEl, typeCode, lineEl, qtyEl := "Invoice", "cbc:InvoiceTypeCode", "380", "cac:InvoiceLine", "cbc:InvoicedQuantity"
	ns := "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
	if cn {
		root, typeEl, typeCode, lineEl, qtyEl = "CreditNote", "cbc:CreditNoteTypeCode", "381", "cac:CreditNoteLine", "cbc:CreditedQuantity"
		ns = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
	}
	var w writer
	w.raw(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.raw(fmt.Sprintf(`<%s xmlns="%s" xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">`, root, ns))
	w.el("cbc:CustomizationID", "urn:cen.eu:en16931:2017")
	w.el("cbc:ID", inv.Number)
	w.el("cbc:IssueDate", date(*inv.IssuedAt))
	if !cn && inv.DueDate != nil {
		w.el("cbc:DueDate", date(*inv.DueDate))
	}
	w.el(typeEl, typeCode)
	for _, n := range Notes(inv) {
		w.el("cbc:Note", n)
	}
	w.el("cbc:DocumentCurrencyCode", inv.Currency)
	w.raw("<cac:InvoicePeriod>")
	w.el("cbc:StartDate", date(inv.PeriodStart))
	w.el("cbc:EndDate", date(inv.PeriodEnd))
	w.raw("</cac:InvoicePeriod>")
	if cn && inv.CreditedInvoice != nil {
		w.raw("<cac:BillingReference><cac:InvoiceDocumentReference>")
		w.el("cbc:ID", inv.CreditedInvoice.Number)
		w.el("cbc:IssueDate", date(inv.CreditedInvoice.IssuedAt))
		w.raw("</cac:InvoiceDocumentReference></cac:BillingReference>")
	}
	w.raw("<cac:AccountingSupplierParty>")
	party(&w, *inv.Seller, notSubject(inv), true)
	w.raw("</cac:AccountingSupplierParty><cac:AccountingCustomerParty>")
	party(&w, *inv.Buyer, notSubject(inv), false)
	w.raw("</cac:AccountingCustomerParty>")
	if inv.Seller.IBAN != "" && !cn {
		w.raw("<cac:PaymentMeans>")
		w.el("cbc:PaymentMeansCode", "58") // SEPA credit transfer
		w.el("cbc:PaymentID", inv.Number)
		w.raw("<cac:PayeeFinancialAccount>")
		w.el("cbc:ID", inv.Seller.IBAN)
		if inv.Seller.BIC != "" {
			w.raw("<cac:FinancialInstitutionBranch>")
			w.el("cbc:ID", inv.Seller.BIC)
			w.raw("</cac:FinancialInstitutionBranch>")
		}
		w.raw("</cac:PayeeFinancialAccount></cac:PaymentMeans>")
	}
	if inv.PaymentTerms != "" {
		w.raw("<cac:PaymentTerms>")
		w.el("cbc:Note", inv.PaymentTerms)
		w.raw("</cac:PaymentTerms>")
	}
	w.raw("<cac:TaxTotal>")
	w.amount("cbc:TaxAmount", inv.TaxAmount)
	for _, b := range inv.Breakdown {
		w.raw("<cac:TaxSubtotal>")
		w.amount("cbc:TaxableAmount", b.Taxable)
		w.amount("cbc:TaxAmount", b.Tax)
		taxCategory(&w, "cac:TaxCategory", b.Category, b.Percent, b.ExemptionCode, b.ExemptionText)
		w.raw("</cac:TaxSubtotal>")
	}
	w.raw("</cac:TaxTotal><cac:LegalMonetaryTotal>")
	w.amount("cbc:LineExtensionAmount", inv.Subtotal)
	w.amount("cbc:TaxExclusiveAmount", inv.Subtotal)
	w.amount("cbc:TaxInclusiveAmount", inv.Total)
	w.amount("cbc:PayableAmount", inv.Total)
	w.raw("</cac:LegalMonetaryTotal>")
	for _, l := range inv.Lines {
		qty, price := QuantityPrice(l)
		w.raw("<" + lineEl + ">")
		w.el("cbc:ID", fmt.Sprint(l.ID))
		w.raw(fmt.Sprintf(`<%s unitCode="%s">%s</%s>`, qtyEl, UnitCode(l.Resource), qty.String(), qtyEl))
		w.amount("cbc:LineExtensionAmount", l.Amount)
		w.raw("<cac:Item>")
		w.el("cbc:Name", l.Description+" ("+l.Unit+")")
		taxCategory(&w, "cac:ClassifiedTaxCategory", l.VATCategory, l.VATPercent, "", "")
		w.raw("</cac:Item><cac:Price>")
		w.raw(fmt.Sprintf(`<cbc:PriceAmount currencyID="EUR">%s</cbc:PriceAmount>`, price.String()))
		w.raw("</cac:Price></" + lineEl + ">")
	}
	w.raw("</" + root + ">\n")
	return billing.NewDocument(billing.FormatUBL, MediaType, w.Bytes()), nil
}

// QuantityPrice is a line's quantity and its net unit price (EN 16931 BT-129, BT-146): the
// price is never negative (BR-27), so a negative line (a late-usage correction) carries a
// negative quantity; a line without quantity is one unit of its amount.
func QuantityPrice(l billing.InvoiceLine) (qty, price decimal.Decimal) {
	qty = l.Quantity
	if qty.IsZero() {
		qty = decimal.NewFromInt(1)
		if l.Amount.IsNegative() {
			qty = qty.Neg()
		}
	}
	if qty.Sign() != l.Amount.Sign() && !l.Amount.IsZero() {
		qty = qty.Neg()
	}
	price = l.Amount.DivRound(qty, 6).Abs()
	return qty, price
}

// Notes are the invoice-level notes (BT-22): the VAT reason in words and, for reverse charge,
// the statement the Directive requires (Art. 226 (11a)).
func Notes(inv billing.Invoice) []string {
	var out []string
	if inv.Kind == billing.KindCreditNote && inv.Reason != "" {
		out = append(out, "Credit note: "+inv.Reason)
	}
	switch inv.VAT.Category {
	case vat.ReverseCharge:
		out = append(out, "Reverse charge: VAT to be accounted for by the recipient (Art. 196 Directive 2006/112/EC)")
	case vat.NotSubject:
		out = append(out, "Not subject to VAT in the EU: services supplied to a customer outside the EU")
	}
	if inv.VAT.Policy != "" {
		out = append(out, "Buyer VAT id not verified with VIES at issue; policy: "+string(inv.VAT.Policy))
	}
	return out
}

func taxCategory(w *writer, name string, c vat.Category, pct decimal.Decimal, code, text string) {
	w.raw("<" + name + ">")
	w.el("cbc:ID", string(c))
	if c != vat.NotSubject { // BR-O-05, BR-O-14: no rate for "not subject"
		w.el("cbc:Percent", pct.String())
	}
	w.el("cbc:TaxExemptionReasonCode", code)
	w.el("cbc:TaxExemptionReason", text)
	w.raw("<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></" + name + ">")
}

// party writes a seller or buyer. Under category O the VAT identifiers must not appear
// (BR-O-02); the seller's VAT number is then given as its identifier (BT-29) so the buyer
// can still identify it (BR-CO-26).
func party(w *writer, p billing.Party, notSubject, seller bool) {
	w.raw("<cac:Party>")
	if notSubject && seller && p.VATID != "" {
		w.raw("<cac:PartyIdentification>")
		w.el("cbc:ID", p.VATID)
		w.raw("</cac:PartyIdentification>")
	}
	w.raw("<cac:PostalAddress>")
	w.el("cbc:StreetName", p.Address.Line1)
	w.el("cbc:AdditionalStreetName", p.Address.Line2)
	w.el("cbc:CityName", p.Address.City)
	w.el("cbc:PostalZone", p.Address.PostalCode)
	w.raw("<cac:Country>")
	w.el("cbc:IdentificationCode", p.Address.Country)
	w.raw("</cac:Country></cac:PostalAddress>")
	if p.VATID != "" && !notSubject {
		w.raw("<cac:PartyTaxScheme>")
		w.el("cbc:CompanyID", p.VATID)
		w.raw("<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>")
	}
	w.raw("<cac:PartyLegalEntity>")
	w.el("cbc:RegistrationName", p.LegalName)
	w.raw("</cac:PartyLegalEntity>")
	if p.Email != "" {
		w.raw("<cac:Contact>")
		w.el("cbc:ElectronicMail", p.Email)
		w.raw("</cac:Contact>")
	}
	w.raw("</cac:Party>")
}
