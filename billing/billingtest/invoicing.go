package billingtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/vat"
)

func testProfiles(t *testing.T, h Harness) {
	st := h.New(t)
	if st.Profiles == nil {
		t.Skip("adapter has no ProfileStore")
	}
	ctx := context.Background()
	ps := st.Profiles
	_, ok, err := ps.Seller(ctx)
	require.NoError(t, err)
	require.False(t, ok)
	sl := billing.Seller{LegalName: "EU SaaS GmbH", Address: billing.Address{Line1: "Hauptstr. 1", PostalCode: "10115", City: "Berlin", Country: "DE"},
		VATID: "DE136695976", Email: "b@eusaas.example", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"}
	require.NoError(t, ps.SetSeller(ctx, sl))
	sl.LegalName = "EU SaaS SE"
	require.NoError(t, ps.SetSeller(ctx, sl))
	got, ok, err := ps.Seller(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, sl, got)

	a, b := st.NewTenant(t), st.NewTenant(t)
	checked := Now.Truncate(time.Second)
	pa := billing.BillingProfile{TenantID: a, LegalName: "ACME SA", Address: billing.Address{Line1: "1 rue", City: "Paris", Country: "FR"},
		Email: "ap@acme.example", CustomerType: vat.Business, VATID: "FR40303265045", Verification: vat.Verified, UpdatedAt: checked,
		Evidence: &billing.VIESEvidence{Valid: true, Name: "ACME", Address: "PARIS", RequestDate: checked, RequestIdentifier: "WAPI1", CheckedAt: checked, Raw: `{"valid":true}`}}
	require.NoError(t, ps.SetProfile(ctx, pa))
	gp, ok, err := ps.Profile(ctx, a)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, pa.VATID, gp.VATID)
	require.Equal(t, pa.Evidence.RequestIdentifier, gp.Evidence.RequestIdentifier)
	require.True(t, pa.Evidence.RequestDate.Equal(gp.Evidence.RequestDate))
	require.Equal(t, pa.Address, gp.Address)
	require.Equal(t, vat.Verified, gp.Verification)
	_, ok, err = ps.Profile(ctx, b)
	require.NoError(t, err)
	require.False(t, ok, "another tenant's profile is not visible")

	r := billing.VATRate{Country: "DE", Percent: d("21"), From: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	require.NoError(t, ps.SetRateOverride(ctx, r))
	r.Percent = d("20.5")
	require.NoError(t, ps.SetRateOverride(ctx, r))
	rs, err := ps.RateOverrides(ctx)
	require.NoError(t, err)
	require.Len(t, rs, 1, "same country and date replaces")
	require.True(t, rs[0].Percent.Equal(d("20.5")))
	require.True(t, rs[0].From.Equal(r.From))
}

func creditNote(tn eusaas.TenantID, inv billing.Invoice, number, amount string) billing.Invoice {
	now := Now
	return billing.Invoice{ID: uuid.New(), TenantID: tn, Kind: billing.KindCreditNote, Number: number, Status: billing.StatusIssued,
		PeriodStart: inv.PeriodStart, PeriodEnd: inv.PeriodEnd, Currency: billing.Currency, CreatedAt: now, IssuedAt: &now,
		Subtotal: d(amount), Total: d(amount), TaxAmount: d("0"), RoundingRule: billing.RoundingRuleEN16931,
		Lines:           []billing.InvoiceLine{{ID: 1, CreditedLine: 1, Resource: billing.CPU, Description: "Credit", Unit: "vCPU-hour", Quantity: d("1"), Amount: d(amount), UsageMonth: inv.PeriodStart}},
		CreditedInvoice: &billing.CreditRef{ID: inv.ID, Number: inv.Number, IssuedAt: now},
		Documents:       []billing.Document{billing.NewDocument(billing.FormatUBL, "application/xml", []byte("<CreditNote/>"))},
		Reason:          "outage",
	}
}

func testCreditNotes(t *testing.T, h Harness) {
	st := h.New(t)
	if st.CreditNotes == nil {
		t.Skip("adapter has no CreditNoteStore")
	}
	ctx := context.Background()
	cs := st.CreditNotes
	tn, other := st.NewTenant(t), st.NewTenant(t)
	inv := billing.Invoice{ID: uuid.New(), Number: "INV-2026-000001", PeriodStart: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), PeriodEnd: time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)}

	c1 := creditNote(tn, inv, "CN-2026-000001", "3.00")
	require.NoError(t, cs.Create(ctx, c1, d("5.00")))
	require.ErrorIs(t, cs.Create(ctx, creditNote(tn, inv, "CN-2026-000002", "2.01"), d("5.00")), billing.ErrOverCredit)
	require.NoError(t, cs.Create(ctx, creditNote(tn, inv, "CN-2026-000002", "2.00"), d("5.00")))
	cr, err := cs.Credited(ctx, tn, inv.ID)
	require.NoError(t, err)
	require.True(t, cr[0].Equal(d("5.00")), "%v", cr)
	require.True(t, cr[1].Equal(d("5.00")))

	got, err := cs.Get(ctx, tn, c1.ID)
	require.NoError(t, err)
	require.Equal(t, c1.Number, got.Number)
	require.Equal(t, billing.KindCreditNote, got.Kind)
	require.Equal(t, inv.Number, got.CreditedInvoice.Number)
	require.Equal(t, c1.Documents[0].Content, got.Documents[0].Content)
	require.Equal(t, c1.Documents[0].SHA256, got.Documents[0].SHA256)
	require.Equal(t, "outage", got.Reason)
	require.Len(t, got.Lines, 1)
	require.Equal(t, 1, got.Lines[0].CreditedLine)
	_, err = cs.Get(ctx, other, c1.ID)
	require.ErrorIs(t, err, billing.ErrCreditNoteNotFound)
	l, err := cs.List(ctx, tn, eusaas.Page{Page: 1, Size: 1})
	require.NoError(t, err)
	require.Equal(t, 2, l.Total)
	require.Len(t, l.Items, 1)
	l, err = cs.List(ctx, other, eusaas.Page{})
	require.NoError(t, err)
	require.Zero(t, l.Total)

	// Concurrent credits of one invoice never exceed its limit.
	inv2 := inv
	inv2.ID = uuid.New()
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := cs.Create(ctx, creditNote(tn, inv2, fmt.Sprintf("CN-2030-%06d", i+1), "1.00"), d("5.00"))
			if err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			} else if !errors.Is(err, billing.ErrOverCredit) && eusaas.KindOf(err) != eusaas.Aborted {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 5, ok, "exactly the limit is credited")
	cr, err = cs.Credited(ctx, tn, inv2.ID)
	require.NoError(t, err)
	require.True(t, cr[0].LessThanOrEqual(d("5.00")))

	// Numbers: consecutive per year, gap-free under concurrency.
	seen := map[int64]bool{}
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := cs.NextNumber(ctx, 2031)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			seen[n] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	for n := int64(1); n <= 20; n++ {
		require.True(t, seen[n], "number %d missing", n)
	}
}
