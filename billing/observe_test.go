package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/membilling"
	"github.com/eusaas/eusaas/memtx"
)

// ObserveIssued sees each document whose issue committed, once, and never a refused issue.
func TestObserveIssued(t *testing.T) {
	ctx := context.Background()
	var seen []billing.Invoice
	svc, err := billing.NewService(billing.Deps{Usage: membilling.NewUsageStore(), Invoices: membilling.NewInvoiceStore(),
		Prices: membilling.NewPriceStore(), Tx: memtx.NewTxRunner()},
		billing.Options{Clock: eusaas.NewFakeClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)),
			ObserveIssued: func(inv billing.Invoice) { seen = append(seen, inv) }})
	require.NoError(t, err)
	tenant := eusaas.NewTenantID()
	_, err = svc.Ingest(ctx, tenant, []billing.UsageEvent{{ID: "e1", ResourceType: billing.CPU,
		Quantity: billing.MustQuantity("100"), Timestamp: time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC)}})
	require.NoError(t, err)
	inv, err := svc.DraftInvoice(ctx, tenant, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Empty(t, seen, "a draft is not issued")
	issued, err := svc.Issue(ctx, tenant, inv.ID)
	require.NoError(t, err)
	_, err = svc.Issue(ctx, tenant, inv.ID)
	require.Error(t, err, "issuing twice is refused")
	require.Len(t, seen, 1)
	require.Equal(t, issued.Number, seen[0].Number)
	require.True(t, seen[0].Total.Equal(issued.Total))
}
