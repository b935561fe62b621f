package billingtest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
)

var numberRE = regexp.MustCompile(`^INV-\d{4}-\d{6}$`)

func febEvents(n int, seed uint64) []billing.UsageEvent {
	rng := rand.New(rand.NewPCG(seed, 11))
	out := make([]billing.UsageEvent, n)
	for i := range out {
		out[i] = billing.UsageEvent{
			ID:           fmt.Sprintf("feb-%d-%d", seed, i),
			ResourceType: billing.ResourceTypes[rng.IntN(len(billing.ResourceTypes))],
			Quantity:     decimal.New(int64(rng.IntN(10_000_000)), -int32(rng.IntN(6))),
			Timestamp:    time.Date(2026, 2, 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), 0, 0, time.UTC),
		}
	}
	return out
}

func testInvoiceLifecycle(t *testing.T, h Harness) {
	e := setup(t, h)
	tn := e.NewTenant(t)
	_, err := e.svc.Ingest(e.ctx, tn, febEvents(50, 1))
	require.NoError(t, err)
	require.NoError(t, e.svc.SetTaxRate(e.ctx, tn, d("0.21")))

	_, err = e.svc.DraftInvoice(e.ctx, tn, Now)
	require.ErrorIs(t, err, billing.ErrPeriodNotClosed)

	feb := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	dr, err := e.svc.DraftInvoice(e.ctx, tn, feb)
	require.NoError(t, err)
	require.Equal(t, billing.StatusDraft, dr.Status)
	require.Empty(t, dr.Number)
	require.Equal(t, billing.RoundingRule, dr.RoundingRule)
	// Re-drafting a DRAFT recomputes it in place.
	dr2, err := e.svc.DraftInvoice(e.ctx, tn, feb)
	require.NoError(t, err)
	require.Equal(t, dr.ID, dr2.ID)

	got, err := e.svc.Invoice(e.ctx, tn, dr.ID)
	require.NoError(t, err)
	requireDecEqual(t, dr.Total, got.Total)
	require.Len(t, got.Lines, len(dr.Lines))
	require.True(t, got.PeriodStart.Equal(feb))
	require.True(t, got.PeriodEnd.Equal(time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)))
	requireDecEqual(t, d("0.21"), got.TaxRate)

	_, err = e.svc.MarkPaid(e.ctx, tn, dr.ID)
	require.ErrorIs(t, err, billing.ErrInvalidTransition)

	iss, err := e.svc.Issue(e.ctx, tn, dr.ID)
	require.NoError(t, err)
	require.Regexp(t, numberRE, iss.Number)
	require.Equal(t, "INV-2026-000001", iss.Number)
	require.NotNil(t, iss.IssuedAt)
	require.NotNil(t, iss.DueDate)
	_, err = e.svc.Issue(e.ctx, tn, dr.ID)
	require.ErrorIs(t, err, billing.ErrInvalidTransition)
	_, err = e.svc.DraftInvoice(e.ctx, tn, feb)
	require.ErrorIs(t, err, billing.ErrAlreadyInvoiced)

	// Issued content cannot change, even through the store.
	tampered := iss
	tampered.Total = d("1")
	tampered.Lines = nil
	tampered.Status = billing.StatusPaid
	require.NoError(t, e.Invoices.Update(e.ctx, tampered, billing.StatusIssued))
	got, err = e.svc.Invoice(e.ctx, tn, dr.ID)
	require.NoError(t, err)
	requireDecEqual(t, iss.Total, got.Total)
	require.Len(t, got.Lines, len(iss.Lines))
	require.Equal(t, iss.Number, got.Number)
	require.Equal(t, billing.StatusPaid, got.Status)
	require.ErrorIs(t, e.Invoices.Update(e.ctx, tampered, billing.StatusIssued), billing.ErrStatusConflict)

	// overdue sweep on a second invoice
	_, err = e.svc.Ingest(e.ctx, tn, []billing.UsageEvent{ev("m1", billing.CPU, "10", Now)})
	require.NoError(t, err)
	e.clock.Set(time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC))
	mar, err := e.svc.DraftInvoice(e.ctx, tn, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	mar, err = e.svc.Issue(e.ctx, tn, mar.ID)
	require.NoError(t, err)
	require.Equal(t, "INV-2026-000002", mar.Number)
	n, err := e.svc.MarkOverdue(e.ctx, tn)
	require.NoError(t, err)
	require.Zero(t, n)
	e.clock.Set(time.Date(2026, 5, 10, 0, 0, 0, 0, time.UTC))
	n, err = e.svc.MarkOverdue(e.ctx, tn)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	got, err = e.svc.Invoice(e.ctx, tn, mar.ID)
	require.NoError(t, err)
	require.Equal(t, billing.StatusOverdue, got.Status)
	v, err := e.svc.Void(e.ctx, tn, mar.ID)
	require.NoError(t, err)
	require.Equal(t, billing.StatusVoid, v.Status)
	_, err = e.svc.MarkPaid(e.ctx, tn, mar.ID)
	require.ErrorIs(t, err, billing.ErrInvalidTransition)

	_, err = e.svc.Invoice(e.ctx, tn, uuid.New())
	require.Equal(t, eusaas.NotFound, eusaas.KindOf(err))
}

func testGapFree(t *testing.T, h Harness) {
	e := setup(t, h)
	const tenants = 6
	var ids []eusaas.TenantID
	var invs []uuid.UUID
	for i := 0; i < tenants; i++ {
		tn := e.NewTenant(t)
		_, err := e.svc.Ingest(e.ctx, tn, febEvents(5, uint64(i)))
		require.NoError(t, err)
		inv, err := e.svc.DraftInvoice(e.ctx, tn, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
		require.NoError(t, err)
		ids, invs = append(ids, tn), append(invs, inv.ID)
	}
	// Each invoice is issued by three racing callers: exactly one wins per invoice.
	var wg sync.WaitGroup
	var mu sync.Mutex
	numbers := map[string]bool{}
	for i := range ids {
		for k := 0; k < 3; k++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				inv, err := e.svc.Issue(e.ctx, ids[i], invs[i])
				if err != nil {
					if !errors.Is(err, billing.ErrInvalidTransition) && !errors.Is(err, billing.ErrStatusConflict) &&
						eusaas.KindOf(err) != eusaas.Aborted {
						t.Errorf("issue: %v", err)
					}
					return
				}
				mu.Lock()
				numbers[inv.Number] = true
				mu.Unlock()
			}(i)
		}
	}
	wg.Wait()
	for i := range ids {
		inv, err := e.svc.Invoice(e.ctx, ids[i], invs[i])
		require.NoError(t, err)
		if inv.Status != billing.StatusIssued {
			// Every loser may have aborted too; issue once more serially.
			inv, err = e.svc.Issue(e.ctx, ids[i], invs[i])
			require.NoError(t, err)
			numbers[inv.Number] = true
		}
	}
	require.Len(t, numbers, tenants)
	for n := 1; n <= tenants; n++ {
		require.True(t, numbers[billing.InvoiceNumber(2026, int64(n))], "number %d missing: %v", n, numbers)
	}
}

// testReconcile is a property test: for random usage, an invoice's lines equal the rounded
// sums of the month's buckets, lines add up to the subtotal, and subtotal + tax = total.
func testReconcile(t *testing.T, h Harness) {
	for seed := uint64(1); seed <= 5; seed++ {
		e := setup(t, h)
		tn := e.NewTenant(t)
		rng := rand.New(rand.NewPCG(seed, 99))
		require.NoError(t, e.svc.SetTaxRate(e.ctx, tn, decimal.New(int64(rng.IntN(30)), -2)))
		all := febEvents(100+rng.IntN(300), seed)
		for len(all) > 0 {
			n := min(len(all), 1+rng.IntN(200))
			_, err := e.svc.Ingest(e.ctx, tn, all[:n])
			require.NoError(t, err)
			all = all[n:]
		}
		feb := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
		inv, err := e.svc.DraftInvoice(e.ctx, tn, feb)
		require.NoError(t, err)
		bs, err := e.Usage.Buckets(e.ctx, tn, feb, billing.MonthEnd(feb))
		require.NoError(t, err)
		exact := map[billing.ResourceType]decimal.Decimal{}
		for _, b := range bs {
			exact[b.Resource] = exact[b.Resource].Add(b.Amount)
		}
		var sum decimal.Decimal
		for _, l := range inv.Lines {
			requireDecEqual(t, exact[l.Resource].Round(2), l.Amount, l.Resource)
			sum = sum.Add(l.Amount)
		}
		require.Len(t, inv.Lines, len(exact))
		requireDecEqual(t, sum, inv.Subtotal, "lines sum to subtotal")
		requireDecEqual(t, inv.Subtotal.Add(inv.TaxAmount), inv.Total, "subtotal + tax = total")
		requireDecEqual(t, inv.Subtotal.Mul(inv.TaxRate).Round(2), inv.TaxAmount, "tax")
		stored, err := e.svc.Invoice(e.ctx, tn, inv.ID)
		require.NoError(t, err)
		requireDecEqual(t, inv.Total, stored.Total)
		requireDecEqual(t, inv.Subtotal, stored.Subtotal)
		for i, l := range stored.Lines {
			requireDecEqual(t, inv.Lines[i].Amount, l.Amount)
			requireDecEqual(t, inv.Lines[i].Quantity, l.Quantity)
		}
	}
}

func testAdjustments(t *testing.T, h Harness) {
	e := setup(t, h)
	tn := e.NewTenant(t)
	feb := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	_, err := e.svc.Ingest(e.ctx, tn, []billing.UsageEvent{ev("f1", billing.CPU, "100", feb.Add(time.Hour))})
	require.NoError(t, err)
	inv, err := e.svc.DraftInvoice(e.ctx, tn, feb)
	require.NoError(t, err)
	_, err = e.svc.Issue(e.ctx, tn, inv.ID)
	require.NoError(t, err)
	requireDecEqual(t, d("2"), inv.Subtotal)
	// Late February usage arrives after February was invoiced, then March usage.
	_, err = e.svc.Ingest(e.ctx, tn, []billing.UsageEvent{
		ev("late", billing.CPU, "50", time.Date(2026, 2, 27, 0, 0, 0, 0, time.UTC)),
		ev("late-api", billing.APICalls, "10000", time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)),
		ev("m1", billing.CPU, "10", Now),
	})
	require.NoError(t, err)
	e.clock.Set(time.Date(2026, 4, 1, 1, 0, 0, 0, time.UTC))
	mar, err := e.svc.DraftInvoice(e.ctx, tn, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	var adj []billing.InvoiceLine
	for _, l := range mar.Lines {
		if l.Adjustment {
			adj = append(adj, l)
			require.True(t, l.UsageMonth.Equal(feb))
		}
	}
	require.Len(t, adj, 2)
	requireDecEqual(t, d("1"), adj[0].Amount)
	requireDecEqual(t, d("50"), adj[0].Quantity)
	requireDecEqual(t, d("1"), adj[1].Amount)
	requireDecEqual(t, d("2.2"), mar.Subtotal)
	// The February invoice itself did not change.
	got, err := e.svc.Invoice(e.ctx, tn, inv.ID)
	require.NoError(t, err)
	requireDecEqual(t, d("2"), got.Subtotal)
	// Adjustments are billed once: issuing March and drafting April adds none for February.
	_, err = e.svc.Issue(e.ctx, tn, mar.ID)
	require.NoError(t, err)
	e.clock.Set(time.Date(2026, 5, 1, 1, 0, 0, 0, time.UTC))
	apr, err := e.svc.DraftInvoice(e.ctx, tn, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Empty(t, apr.Lines)
	require.True(t, apr.Total.IsZero())
}

func testListing(t *testing.T, h Harness) {
	e := setup(t, h)
	tn := e.NewTenant(t)
	var ids []uuid.UUID
	for m := 0; m < 5; m++ {
		month := time.Date(2025, time.Month(8+m), 1, 0, 0, 0, 0, time.UTC)
		inv, err := e.svc.DraftInvoice(e.ctx, tn, month)
		require.NoError(t, err)
		ids = append(ids, inv.ID)
	}
	_, err := e.svc.Issue(e.ctx, tn, ids[1])
	require.NoError(t, err)
	_, err = e.svc.Issue(e.ctx, tn, ids[3])
	require.NoError(t, err)
	l, err := e.svc.Invoices(e.ctx, tn, billing.InvoiceFilter{}, eusaas.Page{Page: 1, Size: 2})
	require.NoError(t, err)
	require.Equal(t, 5, l.Total)
	require.Len(t, l.Items, 2)
	require.Equal(t, ids[4], l.Items[0].ID, "newest period first")
	l, err = e.svc.Invoices(e.ctx, tn, billing.InvoiceFilter{}, eusaas.Page{Page: 3, Size: 2})
	require.NoError(t, err)
	require.Len(t, l.Items, 1)
	require.Equal(t, ids[0], l.Items[0].ID)
	l, err = e.svc.Invoices(e.ctx, tn, billing.InvoiceFilter{Status: billing.StatusIssued}, eusaas.Page{})
	require.NoError(t, err)
	require.Equal(t, 2, l.Total)
	require.Equal(t, ids[3], l.Items[0].ID)
	_, err = e.svc.Invoices(e.ctx, tn, billing.InvoiceFilter{Status: "NOPE"}, eusaas.Page{})
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
}
