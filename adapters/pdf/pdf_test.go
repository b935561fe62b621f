package pdf_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/pdf"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/einvoice"
	"github.com/eusaas/eusaas/billing/membilling"
	"github.com/eusaas/eusaas/billing/vat"
	"github.com/eusaas/eusaas/billing/vies"
	"github.com/eusaas/eusaas/memtx"
)

// viesServer speaks the VIES REST check-vat-number API on loopback: FR40303265045 and DE812345673 are valid,
// everything else is not (the real service is unreachable from the test machines).
func viesServer(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ CountryCode, VATNumber string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"countryCode": req.CountryCode, "vatNumber": req.VATNumber,
			"valid": req.CountryCode+req.VATNumber == "FR40303265045" || req.CountryCode+req.VATNumber == "DE812345673", "requestDate": "2026-12-01T10:00:00.000Z", "requestIdentifier": "WAPI-1"})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

var seller = billing.Seller{LegalName: "Ευρωπαϊκή SaaS Łódź GmbH", Address: billing.Address{Line1: "Straße des 17. Juni 1", PostalCode: "10115", City: "Berlin", Country: "DE"},
	VATID: "DE136695976", Email: "billing@eusaas.example", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"}

func newService(t *testing.T) (*billing.Service, context.Context) {
	clock := eusaas.NewFakeClock(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))
	v := vies.New(viesServer(t))
	v.Clock = clock
	svc, err := billing.NewService(billing.Deps{
		Usage: membilling.NewUsageStore(), Invoices: membilling.NewInvoiceStore(), Prices: membilling.NewPriceStore(),
		Tx: memtx.NewTxRunner(), Profiles: membilling.NewProfileStore(), VIES: v, CreditNotes: membilling.NewCreditNoteStore(),
		Renderers: []billing.Renderer{einvoice.UBL{}, pdf.Renderer{}},
	}, billing.Options{Clock: clock})
	require.NoError(t, err)
	ctx := context.Background()
	_, err = svc.SetSeller(ctx, seller)
	require.NoError(t, err)
	return svc, ctx
}

// issue gives a tenant the profile and November usage (100 vCPU-hours = 2.00, 333 GB-hours
// = 1.67; net 3.67) and issues its invoice.
func issue(t *testing.T, svc *billing.Service, ctx context.Context, p billing.BillingProfile) billing.Invoice {
	p.TenantID = eusaas.NewTenantID()
	_, err := svc.SetBillingProfile(ctx, p)
	require.NoError(t, err)
	ts := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	_, err = svc.Ingest(ctx, p.TenantID, []billing.UsageEvent{
		{ID: "c", ResourceType: billing.CPU, Quantity: decimal.NewFromInt(100), Timestamp: ts},
		{ID: "m", ResourceType: billing.Memory, Quantity: decimal.NewFromInt(333), Timestamp: ts},
	})
	require.NoError(t, err)
	d, err := svc.DraftInvoice(ctx, p.TenantID, ts)
	require.NoError(t, err)
	inv, err := svc.Issue(ctx, p.TenantID, d.ID)
	require.NoError(t, err)
	return inv
}

// pdftotext extracts the document's text with poppler (the way a reader or an archive
// indexer would), in layout mode so a table row stays on one line.
func pdftotext(t *testing.T, b []byte) string {
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatal("pdftotext (Debian poppler-utils) is required: apt-get install -y poppler-utils")
	}
	f := filepath.Join(t.TempDir(), "doc.pdf")
	require.NoError(t, os.WriteFile(f, b, 0o600))
	out, err := exec.Command(bin, "-layout", "-enc", "UTF-8", f, "-").CombinedOutput()
	require.NoError(t, err, string(out))
	return string(out)
}

func requireLine(t *testing.T, text string, parts ...string) {
	t.Helper()
	for _, l := range strings.Split(text, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return
		}
	}
	t.Fatalf("no line holds all of %q in:\n%s", parts, text)
}

func TestInvoicePDFText(t *testing.T) {
	svc, ctx := newService(t)
	domestic := issue(t, svc, ctx, billing.BillingProfile{LegalName: "Kunde Ärztehaus AG", Address: billing.Address{Line1: "Königsallee 5", PostalCode: "40212", City: "Düsseldorf", Country: "DE"},
		Email: "ap@kunde.example", CustomerType: vat.Business, VATID: "DE812345673"})
	reverse := issue(t, svc, ctx, billing.BillingProfile{LegalName: "ACME Société SA", Address: billing.Address{Line1: "1 rue de la Paix", PostalCode: "75002", City: "Paris", Country: "FR"},
		Email: "ap@acme.example", CustomerType: vat.Business, VATID: "FR40303265045"})
	require.Equal(t, vat.RuleReverseCharge, reverse.VAT.Rule)

	for _, c := range []struct {
		inv            billing.Invoice
		buyer, buyerID string
		city           string
		rate, tax      string
		reverse        bool
	}{
		{domestic, "Kunde Ärztehaus AG", "DE812345673", "40212 Düsseldorf", "19.00 %", "0.70 EUR", false},
		{reverse, "ACME Société SA", "FR40303265045", "75002 Paris", "0.00 %", "0.00 EUR", true},
	} {
		d, ok := c.inv.Document(billing.FormatPDF)
		require.True(t, ok)
		require.Equal(t, pdf.MediaType, d.MediaType)
		require.True(t, bytes.HasPrefix(d.Content, []byte("%PDF-")))
		text := pdftotext(t, d.Content)
		require.Contains(t, text, c.inv.Number)
		require.Contains(t, text, seller.LegalName) // Greek and Polish letters survive extraction
		require.Contains(t, text, "VAT ID: DE136695976")
		require.Contains(t, text, c.buyer)
		require.Contains(t, text, "VAT ID: "+c.buyerID)
		require.Contains(t, text, c.city)
		requireLine(t, text, "CPU usage 2026-11", "100", "2.00", c.rate[:len(c.rate)-2])
		requireLine(t, text, c.rate, "3.67 EUR", c.tax) // the VAT breakdown row
		requireLine(t, text, "Total VAT", c.tax)
		requireLine(t, text, "Amount due", c.inv.Total.StringFixed(2)+" EUR")
		require.Equal(t, c.reverse, strings.Contains(text, "Reverse charge"), text)
		require.Contains(t, text, "IBAN: DE89370400440532013000")

		// Stored once: the invoice read back carries the same bytes and digest.
		again, err := svc.Invoice(ctx, c.inv.TenantID, c.inv.ID)
		require.NoError(t, err)
		d2, _ := again.Document(billing.FormatPDF)
		require.Equal(t, d.Content, d2.Content)
		require.Equal(t, d.SHA256, d2.SHA256)
	}

	// A credit note of the reverse-charge invoice is a PDF of its own naming both numbers.
	cn, err := svc.CreditInvoice(ctx, reverse.TenantID, reverse.ID, "service outage", nil)
	require.NoError(t, err)
	d, ok := cn.Document(billing.FormatPDF)
	require.True(t, ok)
	text := pdftotext(t, d.Content)
	require.Contains(t, text, "Credit note")
	require.Contains(t, text, cn.Number)
	requireLine(t, text, "Credits invoice:", reverse.Number)
	require.Contains(t, text, "Reverse charge")
	requireLine(t, text, "Amount credited", "3.67 EUR")
	require.NotContains(t, text, "EPC QR") // nothing to pay on a credit note
}

func TestRenderIsAFunctionOfTheInvoice(t *testing.T) {
	svc, ctx := newService(t)
	inv := issue(t, svc, ctx, billing.BillingProfile{LegalName: "ACME SA", Address: billing.Address{Line1: "1 rue", City: "Paris", Country: "FR"},
		Email: "ap@acme.example", CustomerType: vat.Business, VATID: "FR40303265045"})
	a, err := pdf.Renderer{}.Render(inv)
	require.NoError(t, err)
	b, err := pdf.Renderer{}.Render(inv)
	require.NoError(t, err)
	stored, _ := inv.Document(billing.FormatPDF)
	require.Equal(t, a.Content, b.Content)
	require.Equal(t, stored.SHA256, a.SHA256)
}

func TestEPCPayload(t *testing.T) {
	svc, ctx := newService(t)
	inv := issue(t, svc, ctx, billing.BillingProfile{LegalName: "Kunde AG", Address: billing.Address{Line1: "1 Weg", City: "Köln", Country: "DE"},
		Email: "ap@kunde.example", CustomerType: vat.Business, VATID: "DE812345673"})
	got, ok := pdf.EPCPayload(inv)
	require.True(t, ok)
	require.Equal(t, "BCD\n002\n1\nSCT\nCOBADEFFXXX\nΕυρωπαϊκή SaaS Łódź GmbH\nDE89370400440532013000\nEUR4.37\n\n\n"+inv.Number, got)
	require.LessOrEqual(t, len(got), 331) // the scheme's maximum payload

	d, _ := inv.Document(billing.FormatPDF)
	require.Contains(t, pdftotext(t, d.Content), "EPC QR code")

	noIBAN := inv
	s := *inv.Seller
	s.IBAN = ""
	noIBAN.Seller = &s
	_, ok = pdf.EPCPayload(noIBAN)
	require.False(t, ok)
	b, err := pdf.Renderer{}.Render(noIBAN)
	require.NoError(t, err)
	require.NotContains(t, pdftotext(t, b.Content), "EPC QR code")

	_, err = pdf.Renderer{}.Render(billing.Invoice{}) // a draft has no invoice content
	require.Error(t, err)
}
