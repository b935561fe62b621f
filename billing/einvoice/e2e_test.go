package einvoice_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/einvoice"
	"github.com/eusaas/eusaas/billing/membilling"
	"github.com/eusaas/eusaas/billing/vat"
	"github.com/eusaas/eusaas/billing/vies"
	"github.com/eusaas/eusaas/memtx"
)

// fakeVIES speaks the VIES REST check-vat-number API on 127.0.0.1: FR40303265045 and
// DE812345673 are valid, Austria's service is down, anything else is not valid.
func fakeVIES(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ CountryCode, VATNumber string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if req.CountryCode == "AT" && !austriaUp.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"actionSucceed":false,"errorWrappers":[{"error":"MS_UNAVAILABLE"}]}`))
			return
		}
		valid := req.CountryCode+req.VATNumber == "FR40303265045" || req.CountryCode+req.VATNumber == "DE812345673"
		_ = json.NewEncoder(w).Encode(map[string]any{"countryCode": req.CountryCode, "vatNumber": req.VATNumber, "valid": valid,
			"requestDate": "2026-12-01T10:00:00.000Z", "requestIdentifier": "WAPI-" + req.VATNumber, "name": "VIES NAME", "address": "VIES ADDRESS"})
	}))
	t.Cleanup(srv.Close)
	return srv
}

var seller = billing.Seller{LegalName: "EU SaaS GmbH", Address: billing.Address{Line1: "Hauptstr. 1", PostalCode: "10115", City: "Berlin", Country: "DE"},
	VATID: "DE136695976", Email: "billing@eusaas.example", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"}

type env struct {
	svc   *billing.Service
	clock *eusaas.FakeClock
	ctx   context.Context
}

func newEnv(t *testing.T, policy vat.UnverifiedPolicy) env {
	clock := eusaas.NewFakeClock(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))
	v := vies.New(fakeVIES(t).URL)
	v.Clock = clock
	svc, err := billing.NewService(billing.Deps{
		Usage: membilling.NewUsageStore(), Invoices: membilling.NewInvoiceStore(), Prices: membilling.NewPriceStore(),
		Tx: memtx.NewTxRunner(), Profiles: membilling.NewProfileStore(), VIES: v, CreditNotes: membilling.NewCreditNoteStore(),
		Renderers: renderers,
	}, billing.Options{Clock: clock, UnverifiedPolicy: policy})
	require.NoError(t, err)
	ctx := context.Background()
	_, err = svc.SetSeller(ctx, seller)
	require.NoError(t, err)
	return env{svc, clock, ctx}
}

// issue gives the tenant a profile, November usage (100 vCPU-hours at 0.02 = 2.00; 333
// GB-hours at 0.005 = 1.665 → 1.67; net 3.67) and issues its invoice.
func (e env) issue(t *testing.T, p billing.BillingProfile) billing.Invoice {
	p.TenantID = eusaas.NewTenantID()
	_, err := e.svc.SetBillingProfile(e.ctx, p)
	require.NoError(t, err)
	ts := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	_, err = e.svc.Ingest(e.ctx, p.TenantID, []billing.UsageEvent{
		{ID: "c", ResourceType: billing.CPU, Quantity: decimal.NewFromInt(100), Timestamp: ts},
		{ID: "m", ResourceType: billing.Memory, Quantity: decimal.NewFromInt(333), Timestamp: ts},
	})
	require.NoError(t, err)
	d, err := e.svc.DraftInvoice(e.ctx, p.TenantID, ts)
	require.NoError(t, err)
	inv, err := e.svc.Issue(e.ctx, p.TenantID, d.ID)
	require.NoError(t, err)
	return inv
}

func addr(country string) billing.Address {
	return billing.Address{Line1: "1 Main Street", PostalCode: "1000", City: "Capital", Country: country}
}

type taxCase struct {
	name      string
	policy    vat.UnverifiedPolicy
	profile   billing.BillingProfile
	rule      vat.Rule
	category  vat.Category
	percent   string
	tax, gros string
}

var cases = []taxCase{
	{"domestic", vat.PolicyCharge, billing.BillingProfile{LegalName: "Kunde AG", Address: addr("DE"), Email: "ap@kunde.example", CustomerType: vat.Business, VATID: "DE812345673"},
		vat.RuleDomestic, vat.Standard, "19", "0.70", "4.37"},
	{"reverse_charge", vat.PolicyCharge, billing.BillingProfile{LegalName: "ACME SA", Address: addr("FR"), Email: "ap@acme.example", CustomerType: vat.Business, VATID: "FR40303265045"},
		vat.RuleReverseCharge, vat.ReverseCharge, "0", "0.00", "3.67"},
	{"oss_consumer", vat.PolicyCharge, billing.BillingProfile{LegalName: "Matti Meikäläinen", Address: addr("FI"), Email: "matti@example.fi", CustomerType: vat.Consumer},
		vat.RuleOSS, vat.Standard, "25.5", "0.94", "4.61"},
	{"outside_eu", vat.PolicyCharge, billing.BillingProfile{LegalName: "Widget Inc.", Address: addr("US"), Email: "ap@widget.example", CustomerType: vat.Business},
		vat.RuleOutsideEU, vat.NotSubject, "0", "0.00", "3.67"},
	{"unverified_charge", vat.PolicyCharge, billing.BillingProfile{LegalName: "Wiener GmbH", Address: addr("AT"), Email: "ap@wien.example", CustomerType: vat.Business, VATID: "ATU13585627"},
		vat.RuleOSS, vat.Standard, "20", "0.73", "4.40"},
	{"unverified_reverse", vat.PolicyReverse, billing.BillingProfile{LegalName: "Wiener GmbH", Address: addr("AT"), Email: "ap@wien.example", CustomerType: vat.Business, VATID: "ATU13585627"},
		vat.RuleReverseCharge, vat.ReverseCharge, "0", "0.00", "3.67"},
}

func TestTaxCasesAndDocuments(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for _, c := range cases {
		e := newEnv(t, c.policy)
		inv := e.issue(t, c.profile)
		require.Equal(t, "INV-2026-000001", inv.Number, c.name)
		require.Equal(t, c.rule, inv.VAT.Rule, c.name)
		require.Equal(t, c.category, inv.VAT.Category, c.name)
		require.True(t, inv.VAT.Percent.Equal(decimal.RequireFromString(c.percent)), "%s: %s", c.name, inv.VAT.Percent)
		require.NotEmpty(t, inv.VAT.Reason)
		require.Equal(t, "3.67", inv.Subtotal.StringFixed(2), c.name)
		require.Equal(t, c.tax, inv.TaxAmount.StringFixed(2), c.name)
		require.Equal(t, c.gros, inv.Total.StringFixed(2), c.name)
		require.Len(t, inv.Breakdown, 1)
		require.Equal(t, seller.LegalName, inv.Seller.LegalName)
		require.Equal(t, c.profile.LegalName, inv.Buyer.LegalName)
		if strings.HasPrefix(c.name, "unverified") {
			require.Equal(t, vat.Unverified, inv.Buyer.Verification)
			require.Equal(t, c.policy, inv.VAT.Policy)
		}
		if c.category == vat.ReverseCharge {
			require.Equal(t, "Reverse charge", inv.VAT.ExemptionText)
		}
		// Stored documents are the ones rendered at issue: fetching twice gives the same bytes.
		got, err := e.svc.Invoice(e.ctx, inv.TenantID, inv.ID)
		require.NoError(t, err)
		for _, f := range formats {
			d1, ok := inv.Document(f)
			require.True(t, ok, f)
			d2, _ := got.Document(f)
			require.Equal(t, d1.Content, d2.Content)
			require.Equal(t, d1.SHA256, d2.SHA256)
			files = append(files, write(t, dir, c.name+"-invoice-"+f+".xml", d1.Content))
		}
		// A settings change after issue never changes the issued invoice.
		s2 := seller
		s2.LegalName = "Renamed GmbH"
		_, err = e.svc.SetSeller(e.ctx, s2)
		require.NoError(t, err)
		got, err = e.svc.Invoice(e.ctx, inv.TenantID, inv.ID)
		require.NoError(t, err)
		require.Equal(t, seller.LegalName, got.Seller.LegalName)

		// Credit notes: 50 of the 100 vCPU-hours, then the rest, then nothing more.
		half := decimal.NewFromInt(50)
		cn, err := e.svc.CreditInvoice(e.ctx, inv.TenantID, inv.ID, "service outage", []billing.CreditLine{{LineID: 1, Quantity: &half}})
		require.NoError(t, err, c.name)
		require.Equal(t, "CN-2026-000001", cn.Number)
		require.Equal(t, "1.00", cn.Subtotal.StringFixed(2))
		require.Equal(t, inv.VAT.Rule, cn.VAT.Rule)
		rest, err := e.svc.CreditInvoice(e.ctx, inv.TenantID, inv.ID, "contract ended", nil)
		require.NoError(t, err)
		require.Equal(t, "CN-2026-000002", rest.Number)
		require.Equal(t, "2.67", rest.Subtotal.StringFixed(2))
		require.True(t, cn.Total.Add(rest.Total).GreaterThanOrEqual(inv.Total.Sub(decimal.RequireFromString("0.01"))))
		_, err = e.svc.CreditInvoice(e.ctx, inv.TenantID, inv.ID, "again", nil)
		require.ErrorIs(t, err, billing.ErrOverCredit)
		got, err = e.svc.Invoice(e.ctx, inv.TenantID, inv.ID)
		require.NoError(t, err)
		require.Equal(t, billing.StatusCredited, got.Status)
		for _, x := range []billing.Invoice{cn, rest} {
			for _, f := range formats {
				d, ok := x.Document(f)
				require.True(t, ok)
				files = append(files, write(t, dir, c.name+"-"+x.Number+"-"+f+".xml", d.Content))
			}
		}
	}
	validate(t, files)
}

func TestCreditNoteBadInput(t *testing.T) {
	e := newEnv(t, vat.PolicyCharge)
	inv := e.issue(t, cases[0].profile)
	big := decimal.RequireFromString("2.01")
	_, err := e.svc.CreditInvoice(e.ctx, inv.TenantID, inv.ID, "too much", []billing.CreditLine{{LineID: 1, Amount: &big}})
	require.ErrorIs(t, err, billing.ErrOverCredit)
	require.Equal(t, eusaas.AlreadyExists, eusaas.KindOf(err)) // 409
	_, err = e.svc.CreditInvoice(e.ctx, inv.TenantID, inv.ID, "no line", []billing.CreditLine{{LineID: 9}})
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	_, err = e.svc.CreditInvoice(e.ctx, inv.TenantID, inv.ID, "", nil)
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	l, err := e.svc.CreditNotes(e.ctx, inv.TenantID, eusaas.Page{})
	require.NoError(t, err)
	require.Zero(t, l.Total, "nothing half-written")
	// The failed attempts used no number: the next credit note is the first.
	cn, err := e.svc.CreditInvoice(e.ctx, inv.TenantID, inv.ID, "ok", nil)
	require.NoError(t, err)
	require.Equal(t, "CN-2026-000001", cn.Number)
}

func TestProfileBadInput(t *testing.T) {
	e := newEnv(t, vat.PolicyCharge)
	tenant := eusaas.NewTenantID()
	for name, p := range map[string]billing.BillingProfile{
		"bad check digit": {LegalName: "X", Address: addr("DE"), Email: "a@b.example", CustomerType: vat.Business, VATID: "DE136695977"},
		"unknown country": {LegalName: "X", Address: addr("XX"), Email: "a@b.example", CustomerType: vat.Consumer},
		"prefix mismatch": {LegalName: "X", Address: addr("FR"), Email: "a@b.example", CustomerType: vat.Business, VATID: "DE812345673"},
		"vies not valid":  {LegalName: "X", Address: addr("DE"), Email: "a@b.example", CustomerType: vat.Business, VATID: "DE136695976"},
		"customer type":   {LegalName: "X", Address: addr("DE"), Email: "a@b.example", CustomerType: "ROBOT"},
		"no email":        {LegalName: "X", Address: addr("DE"), CustomerType: vat.Consumer},
	} {
		p.TenantID = tenant
		_, err := e.svc.SetBillingProfile(e.ctx, p)
		require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err), "%s: %v", name, err)
	}
	_, err := e.svc.BillingProfile(e.ctx, tenant)
	require.True(t, errors.Is(err, billing.ErrNoBillingProfile), "nothing stored: %v", err)
	p, err := e.svc.SetBillingProfile(e.ctx, billing.BillingProfile{TenantID: tenant, LegalName: "ACME SA", Address: addr("FR"), Email: "a@b.example", CustomerType: vat.Business, VATID: "fr 40 303 265 045"})
	require.NoError(t, err)
	require.Equal(t, vat.Verified, p.Verification)
	require.Equal(t, "WAPI-40303265045", p.Evidence.RequestIdentifier)
	require.Equal(t, "FR40303265045", p.VATID)
	bad := seller
	bad.IBAN = "DE89370400440532013001"
	_, err = e.svc.SetSeller(e.ctx, bad)
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
}

// austriaUp makes the fake VIES answer for Austria (down until set).
var austriaUp atomic.Bool

// An id VIES could not verify stays unverified; the re-check verifies it once VIES answers.
func TestRecheckUnverifiedVATID(t *testing.T) {
	e := newEnv(t, vat.PolicyCharge)
	tenant := eusaas.NewTenantID()
	p, err := e.svc.SetBillingProfile(e.ctx, billing.BillingProfile{TenantID: tenant, LegalName: "Wiener GmbH", Address: addr("AT"),
		Email: "ap@wien.example", CustomerType: vat.Business, VATID: "ATU13585627"})
	require.NoError(t, err)
	require.Equal(t, vat.Unverified, p.Verification)
	st, err := e.svc.RecheckVATID(e.ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, vat.Unverified, st, "VIES still down")
	austriaUp.Store(true)
	defer austriaUp.Store(false)
	st, err = e.svc.RecheckVATID(e.ctx, tenant) // Austria answers "not valid" for this number
	require.NoError(t, err)
	require.Equal(t, vat.Invalid, st)
	p, err = e.svc.BillingProfile(e.ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, vat.Invalid, p.Verification)
}

func write(t *testing.T, dir, name string, b []byte) string {
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, b, 0o600))
	return p
}

// validator finds the official EN 16931 artefacts: EN16931_VALIDATE, else ../shared/en16931
// next to the repository (the checkout's parent).
func validator(t *testing.T) string {
	if v := os.Getenv("EN16931_VALIDATE"); v != "" {
		return v
	}
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err == nil {
		p := filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "shared", "en16931", "validate")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// validate runs the official artefacts (XML Schema + CEN/TC 434 Schematron) over every file
// in one call (one JVM start per file, batched).
func validate(t *testing.T, files []string) {
	v := validator(t)
	_, xerr := exec.LookPath("xmllint")
	_, serr := os.Stat("/usr/share/java/Saxon-HE.jar")
	if v == "" || xerr != nil || serr != nil {
		t.Skip("EN 16931 validator or its tools missing (../shared/en16931, apt-get install -y libxml2-utils libsaxonhe-java): documents not validated")
	}
	out, err := exec.Command(v, files...).CombinedOutput()
	require.NoError(t, err, "EN 16931 validation failed:\n%s", out)
	require.Equal(t, len(files), strings.Count(string(out), ": OK"), "%s", out)
}

var (
	renderers = []billing.Renderer{einvoice.UBL{}, einvoice.CII{}}
	formats   = []string{billing.FormatUBL, billing.FormatCII}
)
