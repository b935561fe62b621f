package einvoice_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/membilling"
	"github.com/eusaas/eusaas/billing/vies"
	"github.com/eusaas/eusaas/memtx"
)

// TestPlanAndCustomMetricDocumentsValidate: the lines plans and custom metrics add (prorated
// fees, included quantities at 0.00, usage beyond the plan, a custom metric's line) keep the
// UBL and CII documents valid under the official EN 16931 artefacts, for a domestic and a
// reverse-charge buyer, and for a credit note of such an invoice.
func TestPlanAndCustomMetricDocumentsValidate(t *testing.T) {
	clock := eusaas.NewFakeClock(time.Date(2026, 10, 20, 9, 0, 0, 0, time.UTC))
	v := vies.New(fakeVIES(t).URL)
	v.Clock = clock
	svc, err := billing.NewService(billing.Deps{
		Usage: membilling.NewUsageStore(), Invoices: membilling.NewInvoiceStore(), Prices: membilling.NewPriceStore(),
		Tx: memtx.NewTxRunner(), Profiles: membilling.NewProfileStore(), VIES: v, CreditNotes: membilling.NewCreditNoteStore(),
		Metrics: membilling.NewMetricStore(), Plans: membilling.NewPlanStore(), Renderers: renderers,
	}, billing.Options{Clock: clock})
	require.NoError(t, err)
	ctx := context.Background()
	_, err = svc.SetSeller(ctx, seller)
	require.NoError(t, err)
	d := decimal.RequireFromString
	gpuPrice := billing.PerUnit(d("1.20"))
	_, err = svc.CreateMetric(ctx, billing.Metric{Code: "GPU_HOURS", Name: "GPU time", Unit: "GPU-hour", Aggregation: billing.AggSum, Price: &gpuPrice})
	require.NoError(t, err)
	for _, p := range []billing.Plan{
		{Code: "starter", Name: "Starter", MonthlyFee: d("30"), Included: map[billing.ResourceType]decimal.Decimal{billing.CPU: d("100")}},
		{Code: "pro", Name: "Pro", MonthlyFee: d("90"), Included: map[billing.ResourceType]decimal.Decimal{billing.CPU: d("500"), "GPU_HOURS": d("2")},
			Prices: map[billing.ResourceType]billing.PriceModel{billing.CPU: billing.PerUnit(d("0.04"))}},
	} {
		_, err := svc.CreatePlan(ctx, p)
		require.NoError(t, err)
	}
	dir := t.TempDir()
	var files []string
	for _, c := range []taxCase{cases[0], cases[1]} {
		clock.Set(time.Date(2026, 10, 20, 9, 0, 0, 0, time.UTC))
		p := c.profile
		p.TenantID = eusaas.NewTenantID()
		_, err := svc.SetBillingProfile(ctx, p)
		require.NoError(t, err)
		require.NoError(t, svc.ChangePlan(ctx, p.TenantID, "starter"))
		clock.Set(time.Date(2026, 11, 11, 9, 0, 0, 0, time.UTC))
		require.NoError(t, svc.ChangePlan(ctx, p.TenantID, "pro"))
		clock.Set(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
		ts := time.Date(2026, 11, 19, 9, 0, 0, 0, time.UTC)
		r, err := svc.Ingest(ctx, p.TenantID, []billing.UsageEvent{
			{ID: "c", ResourceType: billing.CPU, Quantity: d("1000"), Timestamp: ts},
			{ID: "g", ResourceType: "GPU_HOURS", Quantity: d("10.5"), Timestamp: ts},
			{ID: "m", ResourceType: billing.Memory, Quantity: d("333"), Timestamp: ts},
		})
		require.NoError(t, err)
		require.Equal(t, 3, r.Accepted)
		clock.Set(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))
		draft, err := svc.DraftInvoice(ctx, p.TenantID, ts)
		require.NoError(t, err)
		inv, err := svc.Issue(ctx, p.TenantID, draft.ID)
		require.NoError(t, err, c.name)
		// 10.00 + 60.00 fees; CPU beyond 366.666667 at 0.04 = 25.33; GPU 2 x 20/30 =
		// 1.333333 included, 9.166667 x 1.20 = 11.00; MEMORY 333 x 0.005 = 1.67.
		require.Equal(t, "108.00", inv.Subtotal.StringFixed(2), c.name)
		for _, f := range formats {
			doc, ok := inv.Document(f)
			require.True(t, ok)
			files = append(files, write(t, dir, c.name+"-plan-invoice-"+f+".xml", doc.Content))
		}
		cn, err := svc.CreditInvoice(ctx, p.TenantID, inv.ID, "plan downgrade", nil)
		require.NoError(t, err)
		for _, f := range formats {
			doc, ok := cn.Document(f)
			require.True(t, ok)
			files = append(files, write(t, dir, c.name+"-plan-"+cn.Number+"-"+f+".xml", doc.Content))
		}
	}
	validate(t, files)
}
