package postgres_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/anomaly/memanomaly"
	"github.com/eusaas/eusaas/auth/memauth"
	"github.com/eusaas/eusaas/billing/membilling"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/gdpr/memgdpr"
	"github.com/eusaas/eusaas/internal/gdprfixture"
	"github.com/eusaas/eusaas/internal/pgtest"
)

// TestMemGDPRMatchesPostgres runs internal/gdprfixture against the Postgres stores and the
// memory stores (auth/memauth, billing/membilling, anomaly/memanomaly) and compares the two
// modes' GDPR view: the same tables with the same columns, the same rows with the same typed
// values (Go type and value; JSON documents compared as JSON), the same subject filtering and
// the same deletion counts. Exceptions: tenant_info exists only in Postgres (schema metadata,
// no module data), and received_at is each store's own clock. It lives here, not beside the
// memory stores, so that no package of the root module depends on Postgres.
func TestMemGDPRMatchesPostgres(t *testing.T) {
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(t))
	if err := db.MigratePlatform(ctx); err != nil {
		t.Fatal(err)
	}
	tenant := eusaas.NewTenantID()
	if err := db.CreateTenantSchema(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	pa := postgres.NewAuthStore(db)
	pg := gdprfixture.Ports{Users: pa, Sessions: pa, Invitations: pa, APIKeys: pa, SSO: pa, Usage: postgres.NewBillingUsageStore(db),
		Invoices: postgres.NewBillingInvoiceStore(db), Prices: postgres.NewBillingPriceStore(db), Anomalies: postgres.NewAnomalyStore(db)}
	seed := gdprfixture.Fill(t, ctx, pg, tenant)
	ma, mu, mi, mp, mn := memauth.NewStore(), membilling.NewUsageStore(), membilling.NewInvoiceStore(), membilling.NewPriceStore(), memanomaly.NewStore()
	gdprfixture.Fill(t, ctx, gdprfixture.Ports{Users: ma, Sessions: ma, Invitations: ma, APIKeys: ma, SSO: ma, Usage: mu, Invoices: mi, Prices: mp, Anomalies: mn}, tenant)
	pgData, memData := postgres.NewGDPRData(db), memgdpr.NewTenantData(ma, mu, mi, mp, mn, membilling.NewProfileStore(), membilling.NewCreditNoteStore())

	pgTables, err := pgData.Tables(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	memTables, err := memData.Tables(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	pgTables = slices.DeleteFunc(pgTables, func(tb gdpr.Table) bool { return tb.Name == "tenant_info" })
	if diff := cmp.Diff(pgTables, memTables); diff != "" {
		t.Fatalf("tables differ (-postgres +memory):\n%s", diff)
	}

	mask := func(d map[string][]string) map[string][]string {
		delete(d, "tenant_info")
		for name, rows := range d {
			for i, r := range rows {
				if j := strings.Index(r, " received_at="); j >= 0 {
					rows[i] = r[:j] + " received_at=<clock>"
				}
			}
			slices.Sort(rows)
			d[name] = rows
		}
		return d
	}
	pgDump, memDump := mask(gdprfixture.Dump(t, ctx, pgData, tenant)), mask(gdprfixture.Dump(t, ctx, memData, tenant))
	if diff := cmp.Diff(pgDump, memDump); diff != "" {
		t.Fatalf("export rows differ (-postgres +memory):\n%s", diff)
	}
	for _, name := range []string{"auth_users", "auth_sessions", "auth_invitations", "billing_usage_events", "billing_usage_buckets",
		"billing_usage_months", "billing_invoices", "billing_invoice_lines", "billing_prices", "billing_settings", "anomalies"} {
		if len(memDump[name]) == 0 {
			t.Errorf("fixture left %s empty: the comparison proves nothing for it", name)
		}
	}

	// Subject filter: user 1's session rows are the same in both modes (Postgres finds no
	// subject column in the other tables).
	pgSub, memSub := gdprfixture.Dump(t, ctx, pgData, tenant, seed.U1.String()), gdprfixture.Dump(t, ctx, memData, tenant, seed.U1.String())
	slices.Sort(pgSub["auth_sessions"]) // Postgres returns heap order, memory id order
	slices.Sort(memSub["auth_sessions"])
	if diff := cmp.Diff(pgSub["auth_sessions"], memSub["auth_sessions"]); diff != "" || len(memSub["auth_sessions"]) != 2 {
		t.Fatalf("subject-filtered sessions differ or not 2 (-postgres +memory):\n%s", diff)
	}

	pgCounts, err := pgData.DeleteAll(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	delete(pgCounts, "tenant_info")
	memCounts, err := memData.DeleteAll(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pgCounts, memCounts); diff != "" {
		t.Fatalf("deletion counts differ (-postgres +memory):\n%s", diff)
	}
}
