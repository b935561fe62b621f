// Package pdf renders issued invoices and credit notes as PDF documents (billing.Renderer),
// with github.com/signintech/gopdf (ADR 0019). The text is set in the Go fonts
// (golang.org/x/image/font/gofont), embedded as subsets with a ToUnicode map, so every EU
// script the platform prints (Latin with diacritics, Greek, Cyrillic) renders and can be
// extracted again (pdftotext). When the seller has an IBAN, invoices carry an EPC QR code
// (SEPA credit transfer, EPC069-12) drawn as vector squares.
//
// The renderer reads only the frozen invoice; the service calls it once at issue and stores
// the bytes with their SHA-256, so what a buyer fetches later is always the issued document.
package pdf

import (
	"fmt"
	"strings"

	"github.com/shopspring/decimal"
	"github.com/signintech/gopdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/einvoice"
	"github.com/eusaas/eusaas/billing/vat"
)

// MediaType of the rendered documents.
const MediaType = "application/pdf"

// Renderer renders PDF documents (billing.Renderer). The zero value is ready to use.
type Renderer struct{}

var _ billing.Renderer = Renderer{}

// Format implements billing.Renderer.
func (Renderer) Format() string { return billing.FormatPDF }

// A4 in points, and the layout's margins.
const (
	pageW, pageH = 595.28, 841.89
	margin       = 42.0
	bottom       = pageH - 60
	bodySize     = 9.0
	lineH        = 12.5
)

type doc struct {
	pdf gopdf.GoPdf
	y   float64
	err error
}

// Render implements billing.Renderer.
func (Renderer) Render(inv billing.Invoice) (billing.Document, error) {
	if err := einvoice.Check(inv); err != nil {
		return billing.Document{}, err
	}
	d := &doc{}
	d.pdf.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4, Unit: gopdf.UnitPT})
	// No creation date (the zero value): the document is a function of the invoice alone.
	title := "Invoice"
	if inv.Kind == billing.KindCreditNote {
		title = "Credit note"
	}
	d.pdf.SetInfo(gopdf.PdfInfo{Title: title + " " + inv.Number, Author: inv.Seller.LegalName, Creator: "eusaas"})
	if err := d.pdf.AddTTFFontData("regular", goregular.TTF); err != nil {
		return billing.Document{}, err
	}
	if err := d.pdf.AddTTFFontData("bold", gobold.TTF); err != nil {
		return billing.Document{}, err
	}
	d.newPage()
	d.write(inv, title)
	if d.err != nil {
		return billing.Document{}, d.err
	}
	b, err := d.pdf.GetBytesPdfReturnErr()
	if err != nil {
		return billing.Document{}, err
	}
	return billing.NewDocument(billing.FormatPDF, MediaType, b), nil
}

func (d *doc) newPage() {
	d.pdf.AddPage()
	d.y = margin
}

func (d *doc) font(bold bool, size float64) {
	name := "regular"
	if bold {
		name = "bold"
	}
	if err := d.pdf.SetFont(name, "", size); err != nil && d.err == nil {
		d.err = err
	}
}

// need starts a new page when h points do not fit on this one.
func (d *doc) need(h float64) {
	if d.y+h > bottom {
		d.newPage()
	}
}

// text writes s at (x, y) with its baseline a line below y.
func (d *doc) text(x float64, s string) {
	d.pdf.SetXY(x, d.y)
	if err := d.pdf.Cell(nil, s); err != nil && d.err == nil {
		d.err = err
	}
}

// right writes s right-aligned to x.
func (d *doc) right(x float64, s string) {
	w, err := d.pdf.MeasureTextWidth(s)
	if err != nil && d.err == nil {
		d.err = err
	}
	d.text(x-w, s)
}

// wrap splits s into lines no wider than width.
func (d *doc) wrap(s string, width float64) []string {
	var out []string
	line := ""
	for _, word := range strings.Fields(s) {
		try := word
		if line != "" {
			try = line + " " + word
		}
		if w, err := d.pdf.MeasureTextWidth(try); err == nil && w > width && line != "" {
			out = append(out, line)
			line = word
			continue
		}
		line = try
	}
	if line != "" {
		out = append(out, line)
	}
	return out
}

// para writes s wrapped to width at x, advancing y.
func (d *doc) para(x, width float64, s string) {
	for _, l := range d.wrap(s, width) {
		d.need(lineH)
		d.text(x, l)
		d.y += lineH
	}
}

func money(a decimal.Decimal) string { return a.StringFixed(2) + " EUR" }

func percent(p decimal.Decimal) string { return p.StringFixed(2) + " %" }

// partyLines are the lines of a seller or buyer block, VAT id included: Art. 226 (3), (4).
func partyLines(p billing.Party) []string {
	out := []string{p.LegalName, p.Address.Line1}
	if p.Address.Line2 != "" {
		out = append(out, p.Address.Line2)
	}
	out = append(out, strings.TrimSpace(p.Address.PostalCode+" "+p.Address.City), p.Address.Country)
	if p.VATID != "" {
		out = append(out, "VAT ID: "+p.VATID)
	}
	if p.Email != "" {
		out = append(out, p.Email)
	}
	return out
}

func (d *doc) write(inv billing.Invoice, title string) {
	const colW = (pageW - 2*margin - 20) / 2
	d.font(true, 18)
	d.text(margin, title)
	d.y += 26
	d.font(false, bodySize)
	meta := [][2]string{{"Number", inv.Number}, {"Issue date", inv.IssuedAt.UTC().Format("2006-01-02")}}
	if inv.Kind != billing.KindCreditNote && inv.DueDate != nil {
		meta = append(meta, [2]string{"Due date", inv.DueDate.UTC().Format("2006-01-02")})
	}
	meta = append(meta, [2]string{"Service period", inv.PeriodStart.UTC().Format("2006-01-02") + " to " + inv.PeriodEnd.UTC().Format("2006-01-02")})
	if inv.CreditedInvoice != nil {
		meta = append(meta, [2]string{"Credits invoice", inv.CreditedInvoice.Number + " of " + inv.CreditedInvoice.IssuedAt.UTC().Format("2006-01-02")})
	}
	for _, m := range meta {
		d.font(true, bodySize)
		d.text(margin, m[0]+":")
		d.font(false, bodySize)
		d.text(margin+90, m[1])
		d.y += lineH
	}
	d.y += 10

	// Seller and buyer side by side.
	top := d.y
	d.font(true, bodySize)
	d.text(margin, "Seller")
	d.text(margin+colW+20, "Buyer")
	d.y += lineH
	d.font(false, bodySize)
	start := d.y
	for _, l := range partyLines(*inv.Seller) {
		for _, w := range d.wrap(l, colW) {
			d.text(margin, w)
			d.y += lineH
		}
	}
	left := d.y
	d.y = start
	for _, l := range partyLines(*inv.Buyer) {
		for _, w := range d.wrap(l, colW) {
			d.text(margin+colW+20, w)
			d.y += lineH
		}
	}
	d.y = max(d.y, left, top) + 14

	d.lines(inv)
	d.breakdown(inv)

	d.font(false, bodySize)
	for _, n := range einvoice.Notes(inv) {
		d.para(margin, pageW-2*margin, n)
	}
	if inv.VAT.Reason != "" {
		d.para(margin, pageW-2*margin, "VAT: "+inv.VAT.Reason)
	}
	if inv.PaymentTerms != "" {
		d.para(margin, pageW-2*margin, inv.PaymentTerms)
	}
	if inv.Seller.IBAN != "" && inv.Kind != billing.KindCreditNote {
		pay := "IBAN: " + inv.Seller.IBAN
		if inv.Seller.BIC != "" {
			pay += "  BIC: " + inv.Seller.BIC
		}
		d.para(margin, pageW-2*margin, pay+"  Reference: "+inv.Number)
		if inv.Total.IsPositive() {
			d.epcQR(inv)
		}
	}
}

// Column right edges of the line table.
var cols = struct{ id, desc, qty, unit, price, net, rate float64 }{
	id: margin, desc: margin + 22, qty: 300, unit: 306, price: 420, net: 480, rate: pageW - margin,
}

func (d *doc) lines(inv billing.Invoice) {
	header := func() {
		d.font(true, bodySize)
		d.text(cols.id, "#")
		d.text(cols.desc, "Description")
		d.right(cols.qty, "Quantity")
		d.text(cols.unit, "Unit")
		d.right(cols.price, "Unit price")
		d.right(cols.net, "Net")
		d.right(cols.rate, "VAT")
		d.y += lineH
		d.pdf.SetLineWidth(0.5)
		d.pdf.Line(margin, d.y-2, pageW-margin, d.y-2)
		d.y += 3
		d.font(false, bodySize)
	}
	d.need(3 * lineH)
	header()
	for _, l := range inv.Lines {
		desc := d.wrap(l.Description, cols.qty-cols.desc-50)
		if len(desc) == 0 {
			desc = []string{""}
		}
		if d.y+float64(len(desc))*lineH > bottom {
			d.newPage()
			header()
		}
		qty, price := einvoice.QuantityPrice(l)
		d.text(cols.id, fmt.Sprint(l.ID))
		d.text(cols.desc, desc[0])
		d.right(cols.qty, qty.String())
		d.text(cols.unit, l.Unit)
		d.right(cols.price, price.String())
		d.right(cols.net, l.Amount.StringFixed(2))
		rate := string(l.VATCategory)
		if l.VATCategory != vat.NotSubject {
			rate += " " + percent(l.VATPercent)
		}
		d.right(cols.rate, rate)
		d.y += lineH
		for _, more := range desc[1:] {
			d.text(cols.desc, more)
			d.y += lineH
		}
	}
	d.y += 8
}

// breakdown writes the VAT breakdown per category (Art. 226 (8)-(10)) and the totals.
func (d *doc) breakdown(inv billing.Invoice) {
	const label = 330.0
	d.need(float64(len(inv.Breakdown)+6) * lineH)
	d.font(true, bodySize)
	d.text(margin, "VAT breakdown")
	d.y += lineH
	d.text(margin, "Category")
	d.right(label, "Rate")
	d.right(460, "Taxable amount")
	d.right(pageW-margin, "VAT amount")
	d.y += lineH
	d.font(false, bodySize)
	for _, b := range inv.Breakdown {
		name := map[vat.Category]string{vat.Standard: "S (standard rate)", vat.ReverseCharge: "AE (Reverse charge)", vat.NotSubject: "O (not subject to VAT)"}[b.Category]
		if name == "" {
			name = string(b.Category)
		}
		d.text(margin, name)
		if b.Category != vat.NotSubject {
			d.right(label, percent(b.Percent))
		}
		d.right(460, money(b.Taxable))
		d.right(pageW-margin, money(b.Tax))
		d.y += lineH
		if b.ExemptionText != "" {
			d.para(margin+10, pageW-2*margin-10, b.ExemptionText)
		}
	}
	d.y += 6
	due := "Amount due"
	if inv.Kind == billing.KindCreditNote {
		due = "Amount credited"
	}
	for i, t := range [][2]string{{"Total net", money(inv.Subtotal)}, {"Total VAT", money(inv.TaxAmount)}, {"Total gross", money(inv.Total)}, {due, money(inv.Total)}} {
		d.font(i == 3, bodySize)
		d.right(460, t[0])
		d.right(pageW-margin, t[1])
		d.y += lineH
	}
	d.y += 10
}

var maxEPCAmount = decimal.RequireFromString("999999999.99")
