package billingtest

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
)

// totals sums the tenant's buckets over all time the suite uses.
func totals(t *testing.T, e env, tenant eusaas.TenantID) (qty map[billing.ResourceType]decimal.Decimal, amount decimal.Decimal) {
	t.Helper()
	bs, err := e.Usage.Buckets(e.ctx, tenant, Now.AddDate(0, -3, 0), Now.AddDate(0, 1, 0))
	require.NoError(t, err)
	qty = map[billing.ResourceType]decimal.Decimal{}
	for _, b := range bs {
		qty[b.Resource] = qty[b.Resource].Add(b.Quantity)
		amount = amount.Add(b.Amount)
	}
	return qty, amount
}

func testRecordAndBuckets(t *testing.T, h Harness) {
	e := setup(t, h)
	tn := e.NewTenant(t)
	day1 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	day2 := day1.AddDate(0, 0, 1)
	events := []billing.UsageEvent{
		ev("a", billing.CPU, "1.5", day1),
		ev("b", billing.CPU, "2.25", day1.Add(time.Hour)),
		ev("c", billing.APICalls, "1000", day1),
		ev("d", billing.CPU, "4", day2),
	}
	ins, err := e.Usage.Record(e.ctx, tn, events, billing.PriceBook(billing.DefaultPrices()).Rate)
	require.NoError(t, err)
	require.Equal(t, []bool{true, true, true, true}, ins)
	bs, err := e.Usage.Buckets(e.ctx, tn, billing.Day(day1), billing.Day(day2))
	require.NoError(t, err)
	require.Len(t, bs, 3)
	// ordered by day then resource
	require.Equal(t, billing.APICalls, bs[0].Resource)
	require.True(t, bs[0].Day.Equal(billing.Day(day1)))
	requireDecEqual(t, d("1000"), bs[0].Quantity)
	requireDecEqual(t, d("0.1"), bs[0].Amount)
	require.Equal(t, billing.CPU, bs[1].Resource)
	requireDecEqual(t, d("3.75"), bs[1].Quantity)
	requireDecEqual(t, d("0.075"), bs[1].Amount)
	require.True(t, bs[2].Day.Equal(billing.Day(day2)))
	requireDecEqual(t, d("0.08"), bs[2].Amount)

	only2, err := e.Usage.Buckets(e.ctx, tn, billing.Day(day2), billing.Day(day2))
	require.NoError(t, err)
	require.Len(t, only2, 1)

	b, err := e.svc.Costs(e.ctx, tn, billing.Day(day1), billing.Day(day2), billing.ByResource)
	require.NoError(t, err)
	requireDecEqual(t, d("0.255"), b.Total)
	require.Len(t, b.Lines, 2)
	require.Equal(t, billing.CPU, b.Lines[0].Service)
	requireDecEqual(t, d("7.75"), b.Lines[0].Quantity)
	byDay, err := e.svc.Costs(e.ctx, tn, billing.Day(day1), billing.Day(day2), billing.ByDay)
	require.NoError(t, err)
	// One line per day and service, ordered by day then service, each with its unit and
	// quantity.
	require.Len(t, byDay.Lines, 3)
	require.Equal(t, []billing.ResourceType{billing.CPU, billing.APICalls, billing.CPU},
		[]billing.ResourceType{byDay.Lines[0].Service, byDay.Lines[1].Service, byDay.Lines[2].Service})
	require.True(t, byDay.Lines[0].Day.Equal(billing.Day(day1)) && byDay.Lines[1].Day.Equal(billing.Day(day1)))
	require.True(t, byDay.Lines[2].Day.Equal(billing.Day(day2)))
	requireDecEqual(t, d("0.175"), byDay.Lines[0].Amount.Add(byDay.Lines[1].Amount))
	requireDecEqual(t, d("3.75"), byDay.Lines[0].Quantity)
	require.Equal(t, "vCPU-hour", byDay.Lines[0].Unit)
	requireDecEqual(t, d("1000"), byDay.Lines[1].Quantity)
	requireDecEqual(t, b.Total, byDay.Total)

	dc, err := e.svc.DailyCosts(e.ctx, tn, day1, day2)
	require.NoError(t, err)
	require.Len(t, dc, 3)
	require.Equal(t, "API_CALLS", dc[0].Resource)
}
