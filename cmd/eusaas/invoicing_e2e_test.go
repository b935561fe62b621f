package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/internal/pgtest"
	"github.com/eusaas/eusaas/internal/redistest"
)

// TestInvoicingEndToEnd walks the invoicing over HTTP on the reference server (memory mode):
// seller and buyer identity with VIES (a local server speaking the VIES REST API, set by
// APP_VIES_URL), a reverse-charge invoice, its stored UBL and CII, credit notes and the 4xx
// problems of bad input.
func TestInvoicingEndToEnd(t *testing.T) {
	invoicingWalk(t, func(vies string) *client {
		return startApp(t, map[string]string{
			"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword, "APP_VIES_URL": vies,
		})
	})
}

// TestInvoicingEndToEndPostgres is the same walk in Postgres mode (migrated database).
func TestInvoicingEndToEndPostgres(t *testing.T) {
	invoicingWalk(t, func(vies string) *client {
		dbURL := pgtest.URL(t)
		_, redisPrefix := redistest.Client(t)
		cfg := pgConfigFromURL(t, dbURL)
		cfg["APP_REDIS_URL"], cfg["APP_REDIS_KEY_PREFIX"] = redistest.URL(t), redisPrefix
		cfg["APP_BOOTSTRAP_ADMIN_EMAIL"], cfg["APP_BOOTSTRAP_ADMIN_PASSWORD"] = opEmail, opPassword
		cfg["APP_JWT_PRIVATE_KEY"], cfg["APP_JWT_PUBLIC_KEY"] = testKeyPEMs(t)
		cfg["APP_VIES_URL"] = vies
		var out bytes.Buffer
		m := &Main{Stdout: &out, Stderr: &out, Getenv: func(k string) string { return cfg[k] }}
		require.Equal(t, 0, m.Run(context.Background(), []string{"migrate"}), out.String())
		return startApp(t, cfg)
	})
}

func invoicingWalk(t *testing.T, start func(viesURL string) *client) {
	viesSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ CountryCode, VATNumber, RequesterNumber string }
		_ = json.NewDecoder(r.Body).Decode(&req)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"countryCode": req.CountryCode, "vatNumber": req.VATNumber,
			"valid": req.CountryCode+req.VATNumber == "FR40303265045", "requestDate": "2026-12-01T10:00:00.000Z",
			"requestIdentifier": "WAPI-" + req.RequesterNumber, "name": "ACME SA", "address": "PARIS"})
	}))
	defer viesSrv.Close()
	c := start(viesSrv.URL)
	op := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(t)["access_token"].(string)
	tid := c.createTenant(op, map[string]any{"name": "Acme SA", "slug": "acme-fr", "admin_email": "owner@acme.example"})["id"].(string)

	c.expect(404, c.do("GET", "/api/v1/billing/seller", op, nil))
	seller := validInput["PUT /api/v1/billing/seller"].body.(map[string]any)
	seller["iban"], seller["bic"] = "DE89 3704 0044 0532 0130 00", "COBADEFFXXX"
	got := c.expect(200, c.do("PUT", "/api/v1/billing/seller", op, seller)).json(t)
	require.Equal(t, "DE89370400440532013000", got["iban"])
	c.expect(200, c.do("GET", "/api/v1/billing/seller", op, nil))

	profile := func(vatID, country string) map[string]any {
		return map[string]any{"legal_name": "ACME SA", "email": "ap@acme.example", "customer_type": "BUSINESS", "vat_id": vatID,
			"address": map[string]any{"line1": "1 rue de la Paix", "postal_code": "75002", "city": "Paris", "country": country}}
	}
	path := "/api/v1/tenants/" + tid
	// Bad input: wrong check digit, unknown country, VIES says not valid; nothing stored.
	c.expect(422, c.do("PUT", path+"/billing-profile", op, profile("FR40303265046", "FR")))
	c.expect(422, c.do("PUT", path+"/billing-profile", op, profile("", "XX")))
	c.expect(422, c.do("PUT", path+"/billing-profile", op, profile("FR83404833048", "FR")))
	c.expect(404, c.do("GET", path+"/billing-profile", op, nil))
	p := c.expect(200, c.do("PUT", path+"/billing-profile", op, profile("FR 40 303 265 045", "FR"))).json(t)
	require.Equal(t, "verified", p["vat_verification"])
	require.Equal(t, "WAPI-136695976", p["vies_evidence"].(map[string]any)["request_identifier"], "the seller's id is sent as requester")

	rates := c.expect(200, c.do("GET", "/api/v1/billing/tax-rates", op, nil)).json(t)["rates"].([]any)
	require.Contains(t, rates, map[string]any{"country": "FI", "percent": "25.5", "from": "2024-09-01"})
	c.expect(422, c.do("POST", "/api/v1/billing/tax-rates", op, map[string]any{"country": "US", "percent": "10", "from": "2030-01-01"}))

	// Last month's usage (always inside the 35-day window): 100 vCPU-hours = 2.00 EUR.
	now := time.Now().UTC()
	monthStart := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	ts := monthStart.Add(-time.Hour)
	c.expect(200, c.do("POST", path+"/usage", op, map[string]any{"events": []map[string]any{{"id": "cpu-1", "resource_type": "CPU", "quantity": "100", "timestamp": ts.Format(time.RFC3339)}}}))
	draft := c.expect(201, c.do("POST", path+"/invoices", op, map[string]any{"period": ts.Format("2006-01")})).json(t)
	inv := c.expect(200, c.do("POST", path+"/invoices/"+draft["id"].(string)+"/issue", op, nil)).json(t)
	require.Equal(t, "REVERSE_CHARGE", inv["vat"].(map[string]any)["rule"])
	require.Equal(t, "Reverse charge", inv["vat"].(map[string]any)["exemption_text"])
	require.Equal(t, "2.00", inv["total_amount"])
	require.Equal(t, "0.00", inv["tax_amount"])
	require.Equal(t, "FR40303265045", inv["buyer"].(map[string]any)["vat_id"])
	require.Equal(t, "DE136695976", inv["seller"].(map[string]any)["vat_id"])
	invPath := path + "/invoices/" + inv["id"].(string)
	for _, f := range []string{"pdf", "ubl", "cii"} {
		a := c.expect(200, c.do("GET", invPath+"/"+f, op, nil))
		b := c.expect(200, c.do("GET", invPath+"/"+f, op, nil))
		mt := "application/xml"
		if f == "pdf" {
			mt = "application/pdf"
		}
		require.Equal(t, mt, a.header.Get("Content-Type"))
		require.Equal(t, a.body, b.body, "stored bytes, never re-rendered")
		sum := sha256.Sum256(a.body)
		require.Contains(t, inv["documents"], map[string]any{"format": f, "sha256": hex.EncodeToString(sum[:])})
		if f == "pdf" {
			text := pdfText(t, a.body)
			for _, want := range []string{inv["invoice_number"].(string), "VAT ID: DE136695976", "VAT ID: FR40303265045", "ACME SA", "Reverse charge", "0.00 %", "2.00 EUR"} {
				require.Contains(t, text, want)
			}
			continue
		}
		require.True(t, strings.Contains(string(a.body), "FR40303265045"))
	}

	// Credit notes: part, over-credit refused (409), the rest; the invoice shows CREDITED.
	cnPath := invPath + "/credit-notes"
	c.expect(409, c.do("POST", cnPath, op, map[string]any{"reason": "outage", "lines": []map[string]any{{"line_id": 1, "amount": "2.01"}}}))
	c.expect(422, c.do("POST", cnPath, op, map[string]any{"reason": "outage", "lines": []map[string]any{{"line_id": 7}}}))
	cn := c.expect(201, c.do("POST", cnPath, op, map[string]any{"reason": "outage", "lines": []map[string]any{{"line_id": 1, "amount": "0.50"}}})).json(t)
	require.Regexp(t, `^CN-\d{4}-000001$`, cn["invoice_number"])
	require.Equal(t, "CREDIT_NOTE", cn["kind"])
	require.Equal(t, inv["invoice_number"], cn["invoice"].(map[string]any)["invoice_number"])
	rest := c.expect(201, c.do("POST", cnPath, op, map[string]any{"reason": "cancelled"})).json(t)
	require.Equal(t, "1.50", rest["total_amount"])
	c.expect(409, c.do("POST", cnPath, op, map[string]any{"reason": "again"}))
	require.Equal(t, "CREDITED", c.expect(200, c.do("GET", invPath, op, nil)).json(t)["status"])
	l := c.expect(200, c.do("GET", path+"/credit-notes", op, nil)).json(t)
	require.Len(t, l["items"], 2)
	cnGet := c.expect(200, c.do("GET", path+"/credit-notes/"+cn["id"].(string), op, nil)).json(t)
	require.Equal(t, cn["invoice_number"], cnGet["invoice_number"])
	x := c.expect(200, c.do("GET", path+"/credit-notes/"+cn["id"].(string)+"/ubl", op, nil))
	require.Contains(t, string(x.body), "<CreditNote")
	cnPDF := c.expect(200, c.do("GET", path+"/credit-notes/"+cn["id"].(string)+"/pdf", op, nil))
	require.Equal(t, "application/pdf", cnPDF.header.Get("Content-Type"))
	require.Contains(t, pdfText(t, cnPDF.body), cn["invoice_number"].(string))
	require.Equal(t, cnPDF.body, c.expect(200, c.do("GET", path+"/credit-notes/"+cn["id"].(string)+"/pdf", op, nil)).body)
}

// pdfText is the PDF's text as poppler's pdftotext extracts it.
func pdfText(t *testing.T, b []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "doc.pdf")
	require.NoError(t, os.WriteFile(f, b, 0o600))
	out, err := exec.Command("pdftotext", "-layout", "-enc", "UTF-8", f, "-").CombinedOutput()
	require.NoError(t, err, "pdftotext (poppler-utils) is required: %s", out)
	return string(out)
}
