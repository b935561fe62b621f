package einvoice

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/vat"
)

// CII renders UN/CEFACT Cross Industry Invoice D16B in the EN 16931 subset (billing.Renderer).
type CII struct{}

// Format implements billing.Renderer.
func (CII) Format() string { return billing.FormatCII }

func ciiDate(w *writer, name string, t time.Time, ns string) {
	w.raw(fmt.Sprintf(`<%s><%s:DateTimeString format="102">%s</%s:DateTimeString></%s>`, name, ns, t.UTC().Format("20060102"), ns, name))
}

func ciiAmount(w *writer, name string, d decimal.Decimal) { w.el(name, d.StringFixed(2)) }

// Render implements billing.Renderer.
func (CII) Render(inv billing.Invoice) (billing.Document, error) {
	if err := Check(inv); err != nil {
		return billing.Document{}, err
	}
	cn := inv.Kind == billing.KindCreditNote
	var w writer
	w.raw(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.raw(`<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100" xmlns:qdt="urn:un:unece:uncefact:data:standard:QualifiedDataType:100" xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">`)
	w.raw(`<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter><ram:ID>urn:cen.eu:en16931:2017</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter></rsm:ExchangedDocumentContext>`)
	w.raw("<rsm:ExchangedDocument>")
	w.el("ram:ID", inv.Number)
	if cn {
		w.el("ram:TypeCode", "381")
	} else {
		w.el("ram:TypeCode", "380")
	}
	ciiDate(&w, "ram:IssueDateTime", *inv.IssuedAt, "udt")
	for _, n := range Notes(inv) {
		w.raw("<ram:IncludedNote>")
		w.el("ram:Content", n)
		w.raw("</ram:IncludedNote>")
	}
	w.raw("</rsm:ExchangedDocument><rsm:SupplyChainTradeTransaction>")
	for _, l := range inv.Lines {
		qty, price := QuantityPrice(l)
		w.raw("<ram:IncludedSupplyChainTradeLineItem><ram:AssociatedDocumentLineDocument>")
		w.el("ram:LineID", fmt.Sprint(l.ID))
		w.raw("</ram:AssociatedDocumentLineDocument><ram:SpecifiedTradeProduct>")
		w.el("ram:Name", l.Description+" ("+l.Unit+")")
		w.raw("</ram:SpecifiedTradeProduct><ram:SpecifiedLineTradeAgreement><ram:NetPriceProductTradePrice>")
		w.el("ram:ChargeAmount", price.String())
		w.raw("</ram:NetPriceProductTradePrice></ram:SpecifiedLineTradeAgreement><ram:SpecifiedLineTradeDelivery>")
		w.raw(fmt.Sprintf(`<ram:BilledQuantity unitCode="%s">%s</ram:BilledQuantity>`, UnitCode(l.Resource), qty.String()))
		w.raw("</ram:SpecifiedLineTradeDelivery><ram:SpecifiedLineTradeSettlement><ram:ApplicableTradeTax>")
		w.el("ram:TypeCode", "VAT")
		w.el("ram:CategoryCode", string(l.VATCategory))
		if l.VATCategory != vat.NotSubject {
			w.el("ram:RateApplicablePercent", l.VATPercent.String())
		}
		w.raw("</ram:ApplicableTradeTax><ram:SpecifiedTradeSettlementLineMonetarySummation>")
		ciiAmount(&w, "ram:LineTotalAmount", l.Amount)
		w.raw("</ram:SpecifiedTradeSettlementLineMonetarySummation></ram:SpecifiedLineTradeSettlement></ram:IncludedSupplyChainTradeLineItem>")
	}
	w.raw("<ram:ApplicableHeaderTradeAgreement>")
	ciiParty(&w, "ram:SellerTradeParty", *inv.Seller, notSubject(inv), true)
	ciiParty(&w, "ram:BuyerTradeParty", *inv.Buyer, notSubject(inv), false)
	w.raw("</ram:ApplicableHeaderTradeAgreement><ram:ApplicableHeaderTradeDelivery/><ram:ApplicableHeaderTradeSettlement>")
	if !cn && inv.Seller.IBAN != "" {
		w.el("ram:PaymentReference", inv.Number)
	}
	w.el("ram:InvoiceCurrencyCode", inv.Currency)
	if !cn && inv.Seller.IBAN != "" {
		w.raw("<ram:SpecifiedTradeSettlementPaymentMeans>")
		w.el("ram:TypeCode", "58")
		w.raw("<ram:PayeePartyCreditorFinancialAccount>")
		w.el("ram:IBANID", inv.Seller.IBAN)
		w.raw("</ram:PayeePartyCreditorFinancialAccount>")
		if inv.Seller.BIC != "" {
			w.raw("<ram:PayeeSpecifiedCreditorFinancialInstitution>")
			w.el("ram:BICID", inv.Seller.BIC)
			w.raw("</ram:PayeeSpecifiedCreditorFinancialInstitution>")
		}
		w.raw("</ram:SpecifiedTradeSettlementPaymentMeans>")
	}
	for _, b := range inv.Breakdown {
		w.raw("<ram:ApplicableTradeTax>")
		ciiAmount(&w, "ram:CalculatedAmount", b.Tax)
		w.el("ram:TypeCode", "VAT")
		w.el("ram:ExemptionReason", b.ExemptionText)
		ciiAmount(&w, "ram:BasisAmount", b.Taxable)
		w.el("ram:CategoryCode", string(b.Category))
		w.el("ram:ExemptionReasonCode", b.ExemptionCode)
		if b.Category != vat.NotSubject {
			w.el("ram:RateApplicablePercent", b.Percent.String())
		}
		w.raw("</ram:ApplicableTradeTax>")
	}
	w.raw("<ram:BillingSpecifiedPeriod>")
	ciiDate(&w, "ram:StartDateTime", inv.PeriodStart, "udt")
	ciiDate(&w, "ram:EndDateTime", inv.PeriodEnd, "udt")
	w.raw("</ram:BillingSpecifiedPeriod>")
	if inv.PaymentTerms != "" || (!cn && inv.DueDate != nil) {
		w.raw("<ram:SpecifiedTradePaymentTerms>")
		w.el("ram:Description", inv.PaymentTerms)
		if !cn && inv.DueDate != nil {
			ciiDate(&w, "ram:DueDateDateTime", *inv.DueDate, "udt")
		}
		w.raw("</ram:SpecifiedTradePaymentTerms>")
	}
	w.raw("<ram:SpecifiedTradeSettlementHeaderMonetarySummation>")
	ciiAmount(&w, "ram:LineTotalAmount", inv.Subtotal)
	ciiAmount(&w, "ram:TaxBasisTotalAmount", inv.Subtotal)
	w.raw(fmt.Sprintf(`<ram:TaxTotalAmount currencyID="%s">%s</ram:TaxTotalAmount>`, inv.Currency, inv.TaxAmount.StringFixed(2)))
	ciiAmount(&w, "ram:GrandTotalAmount", inv.Total)
	ciiAmount(&w, "ram:DuePayableAmount", inv.Total)
	w.raw("</ram:SpecifiedTradeSettlementHeaderMonetarySummation>")
	if cn && inv.CreditedInvoice != nil {
		w.raw("<ram:InvoiceReferencedDocument>")
		w.el("ram:IssuerAssignedID", inv.CreditedInvoice.Number)
		ciiDate(&w, "ram:FormattedIssueDateTime", inv.CreditedInvoice.IssuedAt, "qdt")
		w.raw("</ram:InvoiceReferencedDocument>")
	}
	w.raw("</ram:ApplicableHeaderTradeSettlement></rsm:SupplyChainTradeTransaction></rsm:CrossIndustryInvoice>\n")
	return billing.NewDocument(billing.FormatCII, MediaType, w.Bytes()), nil
}

// ciiParty writes a seller or buyer; VAT identifiers as in party (BR-O-02, BR-CO-26).
func ciiParty(w *writer, name string, p billing.Party, notSubject, seller bool) {
	w.raw("<" + name + ">")
	if notSubject && seller && p.VATID != "" {
		w.el("ram:ID", p.VATID)
	}
	w.el("ram:Name", p.LegalName)
	if p.Email != "" {
		w.raw("<ram:DefinedTradeContact><ram:EmailURIUniversalCommunication>")
		w.el("ram:URIID", p.Email)
		w.raw("</ram:EmailURIUniversalCommunication></ram:DefinedTradeContact>")
	}
	w.raw("<ram:PostalTradeAddress>")
	w.el("ram:PostcodeCode", p.Address.PostalCode)
	w.el("ram:LineOne", p.Address.Line1)
	w.el("ram:LineTwo", p.Address.Line2)
	w.el("ram:CityName", p.Address.City)
	w.el("ram:CountryID", p.Address.Country)
	w.raw("</ram:PostalTradeAddress>")
	if p.VATID != "" && !notSubject {
		w.raw(`<ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">`)
		w.raw(p.VATID) // letters and digits only (vat.ParseID)
		w.raw("</ram:ID></ram:SpecifiedTaxRegistration>")
	}
	w.raw("</" + name + ">")
}
