package memgdpr_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/gdpr/memgdpr"
	"github.com/eusaas/eusaas/internal/gdprfixture"
)

func TestBillingGDPRUsageSource(t *testing.T) {
	runSource(t, sourceCase{
		pick: func(s stores) eusaas.DataSource { return s.Usage },
		subjects: map[string]string{"billing_usage_events": "", "billing_usage_buckets": "", "billing_usage_months": "",
			"billing_usage_latest": "", "billing_usage_distinct": "", "billing_usage_attributes": "", "billing_usage_attribute_values": ""},
		// The fixture's events carry two attributes: their aggregates and kept values.
		counts: map[string]int{"billing_usage_events": 3, "billing_usage_buckets": 3, "billing_usage_months": 2,
			"billing_usage_latest": 0, "billing_usage_distinct": 0, "billing_usage_attributes": 2, "billing_usage_attribute_values": 2},
	})
}

func TestBillingGDPRInvoiceSource(t *testing.T) {
	runSource(t, sourceCase{
		pick:     func(s stores) eusaas.DataSource { return s.Invoices },
		subjects: map[string]string{"billing_invoices": "", "billing_invoice_lines": ""},
		counts:   map[string]int{"billing_invoices": 1, "billing_invoice_lines": 2},
	})
}

func TestBillingGDPRPriceSource(t *testing.T) {
	runSource(t, sourceCase{
		pick:     func(s stores) eusaas.DataSource { return s.Prices },
		subjects: map[string]string{"billing_prices": "", "billing_settings": ""},
		counts:   map[string]int{"billing_prices": 2, "billing_settings": 1},
	})
}

// TestBillingGDPRSubjectFilter: billing tables have no subject column (as in Postgres), so a
// subject-filtered scan yields nothing even for a subject named in an event's attributes or
// as an invoice's issuer; billing's PseudonymizeSubject deals with those.
func TestBillingGDPRSubjectFilter(t *testing.T) {
	ctx := context.Background()
	s := newStores()
	a := eusaas.NewTenantID()
	seed := gdprfixture.Fill(t, ctx, s.ports(), a)
	for _, src := range []eusaas.DataSource{s.Usage, s.Invoices, s.Prices} {
		for _, tb := range src.DataTables(a) {
			n := 0
			if err := src.ScanData(ctx, a, tb.Name, []string{seed.U1.String()}, func(eusaas.DataRow) error { n++; return nil }); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("%s: %d rows for a subject filter on a table without subject column", tb.Name, n)
			}
		}
	}
	// The unfiltered export does show the attributes and the issuer.
	d := gdprfixture.Dump(t, ctx, memgdpr.NewTenantData(s.Usage, s.Invoices), a)
	want := `attributes=json.RawMessage:{"region":"eu-central-1","user":"` + seed.U1.String() + `"}`
	if !anyContains(d["billing_usage_events"], want) {
		t.Errorf("events %v lack %s", d["billing_usage_events"], want)
	}
	if !anyContains(d["billing_invoices"], `issued_by=string:"`+seed.U1.String()+`"`) {
		t.Errorf("invoices %v lack the issuer", d["billing_invoices"])
	}
}

func anyContains(rows []string, sub string) bool {
	return slices.ContainsFunc(rows, func(r string) bool { return strings.Contains(r, sub) })
}

// TestBillingGDPRDeleteTenantStore checks the deletion through the stores' own methods.
func TestBillingGDPRDeleteTenantStore(t *testing.T) {
	ctx := context.Background()
	s := newStores()
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
	seed := gdprfixture.Fill(t, ctx, s.ports(), a)
	seedB := gdprfixture.Fill(t, ctx, s.ports(), b)
	for _, src := range []eusaas.DataSource{s.Usage, s.Invoices, s.Prices} {
		if _, err := src.DeleteTenantData(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	from, to := gdprfixture.Base.AddDate(0, -1, 0), gdprfixture.Base.AddDate(0, 1, 0)
	if bs, err := s.Usage.Buckets(ctx, a, from, to); err != nil || len(bs) != 0 {
		t.Fatalf("buckets after erasure: %v, %v", bs, err)
	}
	if _, ok, err := s.Usage.FirstDay(ctx, a); err != nil || ok {
		t.Fatalf("first usage day after erasure: %v, %v", ok, err)
	}
	if _, err := s.Invoices.Get(ctx, a, seed.Invoice); eusaas.KindOf(err) != eusaas.NotFound {
		t.Fatalf("invoice after erasure: %v", err)
	}
	if l, err := s.Invoices.List(ctx, a, billing.InvoiceFilter{}, eusaas.Page{Page: 1, Size: 10}); err != nil || l.Total != 0 {
		t.Fatalf("invoices after erasure: %+v, %v", l, err)
	}
	if o, err := s.Prices.Overrides(ctx, a); err != nil || len(o) != 0 {
		t.Fatalf("price overrides after erasure: %v, %v", o, err)
	}
	if r, err := s.Prices.TaxRate(ctx, a); err != nil || !r.IsZero() {
		t.Fatalf("tax rate after erasure: %v, %v", r, err)
	}
	// A re-sent event id is new again (the dedup rows went with the tenant).
	ins, err := s.Usage.Record(ctx, a, []billing.UsageEvent{{ID: "ev-1", ResourceType: billing.CPU, Quantity: decimal.NewFromInt(1), Timestamp: gdprfixture.Base}},
		func(billing.ResourceType, decimal.Decimal, decimal.Decimal) decimal.Decimal { return decimal.Zero })
	if err != nil || !ins[0] {
		t.Fatalf("re-recording after erasure: %v, %v", ins, err)
	}

	if bs, err := s.Usage.Buckets(ctx, b, from, to); err != nil || len(bs) != 3 {
		t.Fatalf("tenant B's buckets: %v, %v", bs, err)
	}
	if _, err := s.Invoices.Get(ctx, b, seedB.Invoice); err != nil {
		t.Fatalf("tenant B's invoice: %v", err)
	}
	if o, _ := s.Prices.Overrides(ctx, b); len(o) != 2 {
		t.Fatalf("tenant B's overrides: %v", o)
	}
	// Invoice numbering is platform-wide and continues.
	if n, err := s.Invoices.NextNumber(ctx, 2026); err != nil || n != 1 {
		t.Fatalf("next number: %d, %v", n, err)
	}
}
