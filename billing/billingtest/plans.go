package billingtest

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
)

func planEnv(t *testing.T, h Harness) env {
	t.Helper()
	st := h.New(t)
	if st.Plans == nil {
		t.Skip("the adapter has no plan store")
	}
	clock := eusaas.NewFakeClock(time.Date(2026, 10, 20, 9, 0, 0, 0, time.UTC))
	tx := st.Tx
	if tx == nil {
		tx = eusaas.NoTx
	}
	svc, err := billing.NewService(billing.Deps{Usage: st.Usage, Invoices: st.Invoices, Prices: st.Prices, Tx: tx, Metrics: st.Metrics, Plans: st.Plans},
		billing.Options{Clock: clock})
	require.NoError(t, err)
	return env{Stores: st, svc: svc, clock: clock, ctx: context.Background()}
}

func starterAndPro(t *testing.T, e env) {
	t.Helper()
	_, err := e.svc.CreatePlan(e.ctx, billing.Plan{Code: "starter", Name: "Starter", MonthlyFee: d("30.00"),
		Included: map[billing.ResourceType]decimal.Decimal{billing.CPU: d("100")}, Prices: map[billing.ResourceType]billing.PriceModel{billing.CPU: billing.PerUnit(d("0.05"))},
		Entitlements: billing.Entitlements{MaxUsers: 5, StorageLimitGB: 10, APIRateLimit: 600}})
	require.NoError(t, err)
	_, err = e.svc.CreatePlan(e.ctx, billing.Plan{Code: "pro", Name: "Pro", MonthlyFee: d("90.00"),
		Included:     map[billing.ResourceType]decimal.Decimal{billing.CPU: d("500"), billing.Storage: d("100")},
		Prices:       map[billing.ResourceType]billing.PriceModel{billing.CPU: billing.PerUnit(d("0.04"))},
		Entitlements: billing.Entitlements{MaxUsers: 50, StorageLimitGB: 100, APIRateLimit: 6000}, HardLimits: true})
	require.NoError(t, err)
}

// testPlanInvoice: a tenant on Starter since October moves to Pro on 11 November (a 30-day
// month). November's invoice shows both fee parts, the prorated inclusion and the overage at
// Pro's price, to the cent:
//
//	Starter fee 1-10 Nov:  30.00 x 10/30                                 = 10.00
//	Pro fee 11-30 Nov:     90.00 x 20/30                                 = 60.00
//	CPU included:          100 x 10/30 + 500 x 20/30 = 366.666667        =  0.00
//	CPU beyond the plan:   1000 - 366.666667 = 633.333333 x 0.04 = 25.33333 → 25.33
//	STORAGE included:      100 x 20/30 = 66.666667 of 50 used            =  0.00
//	MEMORY (no plan price, no inclusion): 200 GB-hours x 0.005           =  1.00
//	net                                                                  = 96.33
func testPlanInvoice(t *testing.T, h Harness) {
	e := planEnv(t, h)
	starterAndPro(t, e)
	tn := e.NewTenant(t)
	require.NoError(t, e.svc.ChangePlan(e.ctx, tn, "starter")) // 20 October
	err := e.svc.ChangePlan(e.ctx, tn, "no-such-plan")
	require.ErrorIs(t, err, billing.ErrUnknownPlan)
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))

	e.clock.Set(time.Date(2026, 11, 11, 15, 30, 0, 0, time.UTC))
	require.NoError(t, e.svc.ChangePlan(e.ctx, tn, "pro"))
	cur, err := e.svc.CurrentPlan(e.ctx, tn)
	require.NoError(t, err)
	require.Equal(t, "pro", cur)
	ts := time.Date(2026, 11, 12, 8, 0, 0, 0, time.UTC)
	e.clock.Set(ts.Add(time.Hour))
	r, err := e.svc.Ingest(e.ctx, tn, []billing.UsageEvent{
		{ID: "c1", ResourceType: billing.CPU, Quantity: d("400"), Timestamp: ts.AddDate(0, 0, -9)},
		{ID: "c2", ResourceType: billing.CPU, Quantity: d("600"), Timestamp: ts},
		{ID: "s1", ResourceType: billing.Storage, Quantity: d("50"), Timestamp: ts},
		{ID: "m1", ResourceType: billing.Memory, Quantity: d("200"), Timestamp: ts},
	})
	require.NoError(t, err)
	require.Equal(t, 4, r.Accepted)

	e.clock.Set(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))
	inv, err := e.svc.DraftInvoice(e.ctx, tn, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	type line struct{ desc, qty, amount string }
	var got []line
	for _, l := range inv.Lines {
		got = append(got, line{l.Description, l.Quantity.String(), l.Amount.StringFixed(2)})
	}
	require.Equal(t, []line{
		{"Plan Starter (starter) monthly fee, 2026-11-01 to 2026-11-10 (10 of 30 days)", "10", "10.00"},
		{"Plan Pro (pro) monthly fee, 2026-11-11 to 2026-11-30 (20 of 30 days)", "20", "60.00"},
		{"CPU included in plan pro, 2026-11", "366.666667", "0.00"},
		{"CPU usage beyond the plan 2026-11", "633.333333", "25.33"},
		{"MEMORY usage 2026-11", "200", "1.00"},
		{"STORAGE included in plan pro, 2026-11", "50", "0.00"},
	}, got)
	require.Equal(t, "96.33", inv.Subtotal.StringFixed(2))
	issued, err := e.svc.Issue(e.ctx, tn, inv.ID)
	require.NoError(t, err)
	require.Equal(t, "96.33", issued.Total.StringFixed(2))

	// A month entirely on Pro: the whole fee, one line.
	e.clock.Set(time.Date(2027, 1, 3, 9, 0, 0, 0, time.UTC))
	dec, err := e.svc.DraftInvoice(e.ctx, tn, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Len(t, dec.Lines, 1)
	require.Equal(t, "Plan Pro (pro) monthly fee", dec.Lines[0].Description)
	require.Equal(t, "90.00", dec.Subtotal.StringFixed(2))
}

// testPlanStore: plans round-trip with their maps, updates replace, codes are unique, bad
// plans are refused, and plan histories are per tenant.
func testPlanStore(t *testing.T, h Harness) {
	e := planEnv(t, h)
	starterAndPro(t, e)
	_, err := e.svc.CreatePlan(e.ctx, billing.Plan{Code: "pro", Name: "again"})
	require.ErrorIs(t, err, billing.ErrPlanExists)
	for _, bad := range []billing.Plan{
		{Code: "Bad Code", Name: "x"},
		{Code: "neg", Name: "x", MonthlyFee: d("-1")},
		{Code: "cents", Name: "x", MonthlyFee: d("1.001")},
		{Code: "unknown-metric", Name: "x", Included: map[billing.ResourceType]decimal.Decimal{"NOPE": d("1")}},
		{Code: "bad-price", Name: "x", Prices: map[billing.ResourceType]billing.PriceModel{billing.CPU: billing.PerUnit(d("-1"))}},
	} {
		_, err := e.svc.CreatePlan(e.ctx, bad)
		require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err), bad.Code)
	}
	ps, err := e.svc.Plans(e.ctx)
	require.NoError(t, err)
	require.Len(t, ps, 2)
	require.Equal(t, "pro", ps[0].Code)
	require.Equal(t, "500", ps[0].Included[billing.CPU].String())
	require.Equal(t, "0.04", ps[0].Prices[billing.CPU].UnitPrice.String())
	require.Equal(t, 100, ps[0].Entitlements.StorageLimitGB)
	require.True(t, ps[0].HardLimits)

	up, err := e.svc.UpdatePlan(e.ctx, "starter", func(p *billing.Plan) error {
		p.MonthlyFee = d("35.00")
		p.Included[billing.APICalls] = d("10000")
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, "35", up.MonthlyFee.String())
	got, err := e.svc.Plan(e.ctx, "starter")
	require.NoError(t, err)
	require.Equal(t, "35", got.MonthlyFee.String())
	require.Equal(t, "10000", got.Included[billing.APICalls].String())
	_, err = e.svc.UpdatePlan(e.ctx, "starter", func(p *billing.Plan) error { p.MonthlyFee = d("-5"); return nil })
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	got, err = e.svc.Plan(e.ctx, "starter")
	require.NoError(t, err)
	require.Equal(t, "35", got.MonthlyFee.String(), "a refused update changes nothing")
	_, err = e.svc.Plan(e.ctx, "nope")
	require.ErrorIs(t, err, billing.ErrPlanNotFound)

	a, b := e.NewTenant(t), e.NewTenant(t)
	require.NoError(t, e.svc.ChangePlan(e.ctx, a, "starter"))
	cur, err := e.svc.CurrentPlan(e.ctx, b)
	require.NoError(t, err)
	require.Empty(t, cur, "another tenant's plan is not b's")
}
