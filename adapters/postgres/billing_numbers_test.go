package postgres_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/vat"
	"github.com/eusaas/eusaas/internal/pgtest"
)

// TestBillingNumbersGapFreeUnderConcurrentIssuers: 20 issuers issue invoices at the same
// time on Postgres (one connection each), while 4 more issues fail after drawing their
// number (the tenant has no billing profile) and roll back; then 20 credit notes are issued
// at the same time. Both series must come out as 1..N exactly: no duplicate, no gap.
func TestBillingNumbersGapFreeUnderConcurrentIssuers(t *testing.T) {
	const issuers, failing = 20, 4
	ctx := context.Background()
	db := postgres.New(pgtest.PoolConfig(t, func(c *pgxpool.Config) { c.MaxConns = issuers + failing + 2 }))
	require.NoError(t, db.MigratePlatform(ctx))
	clock := eusaas.NewFakeClock(time.Date(2026, 3, 5, 9, 0, 0, 0, time.UTC))
	svc, err := billing.NewService(billing.Deps{Usage: postgres.NewBillingUsageStore(db), Invoices: postgres.NewBillingInvoiceStore(db),
		Prices: postgres.NewBillingPriceStore(db), Profiles: postgres.NewBillingProfileStore(db), CreditNotes: postgres.NewBillingCreditNoteStore(db), Tx: db},
		billing.Options{Clock: clock})
	require.NoError(t, err)
	_, err = svc.SetSeller(ctx, billing.Seller{LegalName: "EU SaaS GmbH", Address: billing.Address{Line1: "Hauptstr. 1", City: "Berlin", Country: "DE"},
		VATID: "DE136695976", Email: "billing@eusaas.example"})
	require.NoError(t, err)

	type draft struct {
		tenant eusaas.TenantID
		inv    billing.Invoice
		ok     bool // has a billing profile, so its issue succeeds
	}
	drafts := make([]draft, issuers+failing)
	for i := range drafts {
		tn := billingTenant(t, db)
		ok := i < issuers
		if ok {
			_, err := svc.SetBillingProfile(ctx, billing.BillingProfile{TenantID: tn, LegalName: fmt.Sprintf("Kunde %d", i), Email: "ap@kunde.example",
				CustomerType: vat.Consumer, Address: billing.Address{Line1: "Weg 1", City: "Köln", Country: "DE"}})
			require.NoError(t, err)
		}
		_, err := svc.Ingest(ctx, tn, []billing.UsageEvent{{ID: "e", ResourceType: billing.CPU, Quantity: billing.MustQuantity("100"),
			Timestamp: time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC)}})
		require.NoError(t, err)
		d, err := svc.DraftInvoice(ctx, tn, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
		require.NoError(t, err)
		drafts[i] = draft{tn, d, ok}
	}

	// All issuers start together.
	issued := make([]billing.Invoice, len(drafts))
	errs := make([]error, len(drafts))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, d := range drafts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			issued[i], errs[i] = svc.Issue(ctx, d.tenant, d.inv.ID)
		}()
	}
	close(start)
	wg.Wait()
	var numbers []string
	for i, d := range drafts {
		if !d.ok {
			require.ErrorIs(t, errs[i], billing.ErrIssueWithoutProfile)
			continue
		}
		require.NoError(t, errs[i])
		numbers = append(numbers, issued[i].Number)
	}
	requireSeries(t, numbers, "INV-2026-%06d", issuers)

	// Twenty credit notes at once, one per issued invoice.
	credits := make([]string, issuers)
	start = make(chan struct{})
	for i := 0; i < issuers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			cn, err := svc.CreditInvoice(ctx, drafts[i].tenant, issued[i].ID, "goodwill", nil)
			errs[i] = err
			credits[i] = cn.Number
		}()
	}
	close(start)
	wg.Wait()
	for i := 0; i < issuers; i++ {
		require.NoError(t, errs[i])
	}
	requireSeries(t, credits, "CN-2026-%06d", issuers)

	// The stored invoices say the same as the answers.
	for i := 0; i < issuers; i++ {
		got, err := svc.Invoice(ctx, drafts[i].tenant, issued[i].ID)
		require.NoError(t, err)
		require.Equal(t, issued[i].Number, got.Number)
		require.Equal(t, billing.StatusCredited, got.Status)
	}
}

// requireSeries checks that numbers are exactly format(1) .. format(n), each once.
func requireSeries(t *testing.T, numbers []string, format string, n int) {
	t.Helper()
	sort.Strings(numbers)
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprintf(format, i+1)
	}
	require.Equal(t, want, numbers)
}
