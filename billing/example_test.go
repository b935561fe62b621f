package billing_test

import (
	"context"
	"fmt"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/membilling"
	"github.com/eusaas/eusaas/memtx"
)

// Embedding billing alone, on the in-memory stores: ingest usage (twice: the second post is
// all duplicates), read the month's costs, then invoice the closed month.
func Example() {
	ctx := context.Background()
	clock := eusaas.NewFakeClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	svc, err := billing.NewService(billing.Deps{Usage: membilling.NewUsageStore(), Invoices: membilling.NewInvoiceStore(),
		Prices: membilling.NewPriceStore(), Tx: memtx.NewTxRunner()}, billing.Options{Clock: clock})
	if err != nil {
		panic(err)
	}
	tenant := eusaas.NewTenantID()

	events := []billing.UsageEvent{
		{ID: "node-1/2026-02-27T10", ResourceType: billing.CPU, Quantity: billing.MustQuantity("120.5"), Timestamp: time.Date(2026, 2, 27, 10, 0, 0, 0, time.UTC)},
		{ID: "gw/2026-02-27", ResourceType: billing.APICalls, Quantity: billing.MustQuantity("15000"), Timestamp: time.Date(2026, 2, 27, 23, 0, 0, 0, time.UTC)},
	}
	for range 2 {
		r, _ := svc.Ingest(ctx, tenant, events)
		fmt.Println("accepted", r.Accepted, "duplicates", r.Duplicates)
	}
	b, _ := svc.Costs(ctx, tenant, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC), billing.ByResource)
	for _, l := range b.Lines {
		fmt.Println(l.Service, l.Quantity, l.Unit, l.Amount, b.Currency)
	}
	inv, _ := svc.DraftInvoice(ctx, tenant, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	inv, _ = svc.Issue(ctx, tenant, inv.ID)
	fmt.Println(inv.Number, inv.Status, inv.Subtotal.StringFixed(2), inv.Total.StringFixed(2))
	// Output:
	// accepted 2 duplicates 0
	// accepted 0 duplicates 2
	// CPU 120.5 vCPU-hour 2.41 EUR
	// API_CALLS 15000 call 1.5 EUR
	// INV-2026-000001 ISSUED 3.91 3.91
}
