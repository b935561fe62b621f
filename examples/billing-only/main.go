// Command billing-only embeds the billing module alone on the in-memory stores: it ingests
// a small batch of usage events (one a duplicate, one rejected), prints the month's cost
// breakdown and a month-end projection.
//
//	go run ./examples/billing-only
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/membilling"
	"github.com/eusaas/eusaas/memtx"
)

func main() {
	if err := run(context.Background(), os.Stdout, time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)); err != nil {
		fmt.Fprintln(os.Stderr, "billing-only:", err)
		os.Exit(1)
	}
}

// run wires billing with a fixed clock at now (so the output is reproducible) and writes
// what it does to w.
func run(ctx context.Context, w io.Writer, now time.Time) error {
	clock := eusaas.NewFakeClock(now)
	svc, err := billing.NewService(billing.Deps{Usage: membilling.NewUsageStore(), Invoices: membilling.NewInvoiceStore(),
		Prices: membilling.NewPriceStore(), Tx: memtx.NewTxRunner()}, billing.Options{Clock: clock})
	if err != nil {
		return err
	}
	tenant := eusaas.NewTenantID()

	// Two weeks of CPU use (varying by day) and API calls, then a batch with a retried event and a bad
	// one. Event ids are the idempotency keys: resending an id never counts it twice.
	var events []billing.UsageEvent
	for d := 1; d <= 14; d++ {
		day := time.Date(now.Year(), now.Month(), d, 10, 0, 0, 0, time.UTC)
		events = append(events,
			billing.UsageEvent{ID: fmt.Sprintf("node-1/%02d", d), ResourceType: billing.CPU, Quantity: decimal.NewFromInt(int64(40 + d%3*8)), Timestamp: day},
			billing.UsageEvent{ID: fmt.Sprintf("gateway/%02d", d), ResourceType: billing.APICalls, Quantity: billing.MustQuantity("20000"), Timestamp: day},
		)
	}
	res, err := svc.Ingest(ctx, tenant, events)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "batch 1: accepted %d, duplicates %d, rejected %d\n", res.Accepted, res.Duplicates, res.Rejected)

	res, err = svc.Ingest(ctx, tenant, []billing.UsageEvent{
		{ID: "bucket-a/15", ResourceType: billing.Storage, Quantity: billing.MustQuantity("250"), Timestamp: now.Add(-time.Hour)},
		{ID: "node-1/14", ResourceType: billing.CPU, Quantity: billing.MustQuantity("48"), Timestamp: time.Date(now.Year(), now.Month(), 14, 10, 0, 0, 0, time.UTC)},
		{ID: "gpu-1/15", ResourceType: "GPU", Quantity: billing.MustQuantity("1"), Timestamp: now.Add(-time.Hour)},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "batch 2: accepted %d, duplicates %d, rejected %d\n", res.Accepted, res.Duplicates, res.Rejected)
	for _, r := range res.Results {
		if r.Reason != "" {
			fmt.Fprintf(w, "  %s: %s (%s)\n", r.ID, r.Status, r.Reason)
		} else {
			fmt.Fprintf(w, "  %s: %s\n", r.ID, r.Status)
		}
	}

	b, err := svc.Costs(ctx, tenant, billing.MonthStart(now), billing.Day(now), billing.ByResource)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "costs %s..%s:\n", b.PeriodStart.Format(time.DateOnly), b.PeriodEnd.Format(time.DateOnly))
	for _, l := range b.Lines {
		fmt.Fprintf(w, "  %-9s %10s %-10s %8s %s\n", l.Service, l.Quantity, l.Unit, l.Amount, b.Currency)
	}
	fmt.Fprintf(w, "  total %s %s\n", b.Total, b.Currency)

	p, err := svc.Projection(ctx, tenant, now)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "projection to %s (%s, %d days of history): %s %s, 95%% interval %s..%s\n",
		p.PeriodEnd.Format(time.DateOnly), p.Method, p.HistoryDays, p.ProjectedTotal.StringFixed(2), p.Currency,
		p.IntervalLow.StringFixed(2), p.IntervalHigh.StringFixed(2))
	return nil
}
