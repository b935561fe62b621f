package pdf

import (
	"strings"
	"unicode/utf8"

	"rsc.io/qr"

	"github.com/eusaas/eusaas/billing"
)

// EPCPayload is the EPC QR code content (EPC069-12 v2.1, "SEPA credit transfer" QR) that
// lets a banking app prefill the transfer: service tag BCD, version 002, UTF-8 (1),
// identification SCT, BIC (optional in version 002), beneficiary name (at most 70
// characters), IBAN, amount as EUR with at most two decimals, no purpose, no structured
// reference, and the invoice number as the unstructured remittance text. ok=false when the
// invoice cannot be paid this way (no IBAN, nothing due, amount beyond the scheme's
// 999999999.99).
func EPCPayload(inv billing.Invoice) (string, bool) {
	if inv.Seller == nil || inv.Seller.IBAN == "" || !inv.Total.IsPositive() || inv.Currency != billing.Currency {
		return "", false
	}
	if inv.Total.GreaterThan(maxEPCAmount) {
		return "", false
	}
	name := inv.Seller.LegalName
	if utf8.RuneCountInString(name) > 70 {
		name = string([]rune(name)[:70])
	}
	iban := strings.ReplaceAll(inv.Seller.IBAN, " ", "")
	return strings.Join([]string{"BCD", "002", "1", "SCT", inv.Seller.BIC, name, iban,
		"EUR" + inv.Total.StringFixed(2), "", "", inv.Number}, "\n"), true
}

// epcQR draws the code as filled squares (vector, so it prints sharply at any size),
// error-correction level M as the EPC guideline asks, with its quiet zone and the caption
// the guideline recommends.
func (d *doc) epcQR(inv billing.Invoice) {
	payload, ok := EPCPayload(inv)
	if !ok {
		return
	}
	code, err := qr.Encode(payload, qr.M)
	if err != nil {
		if d.err == nil {
			d.err = err
		}
		return
	}
	const side = 110.0
	cell := side / float64(code.Size)
	d.need(side + 3*lineH)
	d.y += 6
	d.font(true, bodySize)
	d.text(margin, "Pay with your banking app (EPC QR code, SEPA credit transfer)")
	d.y += lineH + 4
	d.pdf.SetFillColor(0, 0, 0)
	top := d.y + 4*cell // the quiet zone: four modules
	for y := 0; y < code.Size; y++ {
		for x := 0; x < code.Size; x++ {
			if code.Black(x, y) {
				d.pdf.RectFromUpperLeftWithStyle(margin+4*cell+float64(x)*cell, top+float64(y)*cell, cell, cell, "F")
			}
		}
	}
	d.y = top + side + 4*cell
}
