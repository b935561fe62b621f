package membilling_test

import (
	"context"
	"fmt"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/membilling"
	"github.com/eusaas/eusaas/memtx"
)

// Example embeds billing alone on its memory adapter. The README's embedding snippet is
// copied from the lines between the markers (TestReadmeEmbeddingSnippet keeps them equal).
func Example() {
	ctx := context.Background()
	clock := eusaas.NewFakeClock(time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC))
	// snippet:start
	svc, err := billing.NewService(billing.Deps{
		Usage:    membilling.NewUsageStore(),
		Invoices: membilling.NewInvoiceStore(),
		Prices:   membilling.NewPriceStore(),
		Tx:       memtx.NewTxRunner(), // the stores commit together
	}, billing.Options{Clock: clock})
	if err != nil {
		panic(err) // a missing port is an error, never a panic inside the module
	}
	tenant := eusaas.NewTenantID()
	res, err := svc.Ingest(ctx, tenant, []billing.UsageEvent{
		{ID: "evt-1", ResourceType: billing.CPU, Quantity: billing.MustQuantity("12.5"), Timestamp: clock.Now()},
		{ID: "evt-1", ResourceType: billing.CPU, Quantity: billing.MustQuantity("12.5"), Timestamp: clock.Now()}, // retried: a duplicate
	})
	if err != nil {
		panic(err)
	}
	day := billing.Day(clock.Now())
	costs, err := svc.Costs(ctx, tenant, day, day, billing.ByResource)
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Accepted, res.Duplicates, costs.Total, costs.Currency)
	// snippet:end

	// Output: 1 1 0.25 EUR
}
