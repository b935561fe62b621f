package billing_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/membilling"
)

type fixedThreshold struct{ v decimal.Decimal }

func (f fixedThreshold) CostAlertThreshold(context.Context, eusaas.TenantID) (decimal.Decimal, bool, error) {
	return f.v, true, nil
}

func newSvc(t *testing.T, now time.Time, th billing.ThresholdSource) (*billing.Service, *eusaas.FakeClock) {
	t.Helper()
	clock := eusaas.NewFakeClock(now)
	svc, err := billing.NewService(billing.Deps{Usage: membilling.NewUsageStore(), Invoices: membilling.NewInvoiceStore(),
		Prices: membilling.NewPriceStore(), Thresholds: th}, billing.Options{Clock: clock})
	require.NoError(t, err)
	return svc, clock
}

// feed ingests one CPU event per day from first to last (inclusive) costing cost(day) EUR.
func feed(t *testing.T, svc *billing.Service, tn eusaas.TenantID, first, last time.Time, cost func(time.Time) string) {
	t.Helper()
	var evs []billing.UsageEvent
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		// CPU costs 0.02 per unit: quantity = cost * 50.
		evs = append(evs, billing.UsageEvent{ID: d.Format("2006-01-02"), ResourceType: billing.CPU,
			Quantity: q(cost(d)).Mul(decimal.NewFromInt(50)), Timestamp: d.Add(time.Hour)})
	}
	r, err := svc.Ingest(context.Background(), tn, evs)
	require.NoError(t, err)
	require.Equal(t, len(evs), r.Accepted, "%+v", r.Results)
}

func TestProjectionLinearWhileFewDays(t *testing.T) {
	now := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC) // start of day 5: days 1-4 complete
	svc, _ := newSvc(t, now, nil)
	tn := eusaas.NewTenantID()
	feed(t, svc, tn, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC),
		func(time.Time) string { return "10" })
	p, err := svc.Projection(context.Background(), tn, now)
	require.NoError(t, err)
	require.Equal(t, "linear", p.Method)
	require.Equal(t, 4, p.HistoryDays)
	require.Equal(t, "40", p.ActualToDate.String())
	require.Equal(t, "310", p.ProjectedTotal.String()) // 40 + 27 days x 10
	// Constant days: no spread, so the interval collapses onto the projection.
	require.Equal(t, "310", p.IntervalLow.String())
	require.Equal(t, "310", p.IntervalHigh.String())
}

func TestProjectionWeekdayProfile(t *testing.T) {
	// Weekdays cost 10, weekends 2; four weeks of history before 2026-03-16 (a Monday).
	now := time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC)
	svc, _ := newSvc(t, now, fixedThreshold{q("200")})
	tn := eusaas.NewTenantID()
	cost := func(d time.Time) string {
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			return "2"
		}
		return "10"
	}
	feed(t, svc, tn, time.Date(2026, 2, 16, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC), cost)
	p, err := svc.Projection(context.Background(), tn, now)
	require.NoError(t, err)
	require.Equal(t, "weekday_profile", p.Method)
	require.Equal(t, 28, p.HistoryDays)
	// March 1-15: 10 weekdays, 5 weekend days = 110. March 16-31: 12 weekdays, 4 weekend = 128.
	require.Equal(t, "110", p.ActualToDate.String())
	require.Equal(t, "238", p.ProjectedTotal.String())
	require.True(t, p.IntervalLow.LessThanOrEqual(p.ProjectedTotal) && p.IntervalHigh.GreaterThanOrEqual(p.ProjectedTotal))
	require.NotNil(t, p.BudgetThreshold)
	require.True(t, p.BudgetExceeded)
	// Linear extrapolation at the mean (7.714...) would say 110 + 16 x 7.71 = 233.43: the
	// profile sees that the rest of March has more weekdays.
}

func TestProjectionIntervalWidensWithNoise(t *testing.T) {
	now := time.Date(2026, 3, 16, 12, 0, 0, 0, time.UTC)
	svc, _ := newSvc(t, now, fixedThreshold{q("1000")})
	tn := eusaas.NewTenantID()
	i := 0
	feed(t, svc, tn, time.Date(2026, 2, 16, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC), func(time.Time) string {
		i++
		return fmt.Sprint(8 + (i*7)%5)
	})
	p, err := svc.Projection(context.Background(), tn, now)
	require.NoError(t, err)
	require.True(t, p.IntervalHigh.GreaterThan(p.ProjectedTotal), "%s > %s", p.IntervalHigh, p.ProjectedTotal)
	require.True(t, p.IntervalLow.LessThan(p.ProjectedTotal))
	require.True(t, p.IntervalLow.GreaterThanOrEqual(p.ActualToDate))
	require.False(t, p.BudgetExceeded)
	require.False(t, p.BudgetLikelyBreach)
}

func TestProjectionNoData(t *testing.T) {
	now := time.Date(2026, 3, 16, 12, 0, 0, 0, time.UTC)
	svc, _ := newSvc(t, now, nil)
	p, err := svc.Projection(context.Background(), eusaas.NewTenantID(), now)
	require.NoError(t, err)
	require.True(t, p.ProjectedTotal.IsZero())
	require.True(t, p.IntervalHigh.IsZero())
	require.Nil(t, p.BudgetThreshold)
}

// TestProjectionMonthStartCharge: 10 a day plus a charge of 100 on every first of the month.
// At 00:00 of April 1 the projection expects March 1's 110 for April 1 (March 1 lies before
// the 28-day history, it is read for this); in mid-March the charge of March 1 stays out of
// the Sunday mean (March 1, 2026 is a Sunday), so the rest of March is 16 x 10.
func TestProjectionMonthStartCharge(t *testing.T) {
	cost := func(d time.Time) string {
		if d.Day() == 1 {
			return "110"
		}
		return "10"
	}
	first, last := time.Date(2026, 2, 25, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)

	apr := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	svc, _ := newSvc(t, apr, nil)
	tn := eusaas.NewTenantID()
	feed(t, svc, tn, first, last, cost)
	p, err := svc.Projection(context.Background(), tn, apr)
	require.NoError(t, err)
	require.Equal(t, "weekday_profile", p.Method)
	require.Equal(t, "400", p.ProjectedTotal.String()) // 110 + 29 x 10
	require.Equal(t, "400", p.IntervalLow.String())    // constant days: no spread, no drift
	require.Equal(t, "400", p.IntervalHigh.String())

	mid := time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC)
	tn2 := eusaas.NewTenantID()
	feed(t, svc, tn2, first, mid.AddDate(0, 0, -1), cost)
	p, err = svc.Projection(context.Background(), tn2, mid)
	require.NoError(t, err)
	require.Equal(t, "250", p.ActualToDate.String())   // 110 + 14 x 10
	require.Equal(t, "410", p.ProjectedTotal.String()) // + 16 x 10
}

// TestProjectionIntervalWidensWithLevelDrift: the same day-to-day noise on a level that
// steps up every week gives a wider interval than on a steady level.
func TestProjectionIntervalWidensWithLevelDrift(t *testing.T) {
	now := time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC)
	svc, _ := newSvc(t, now, nil)
	steady, rising := eusaas.NewTenantID(), eusaas.NewTenantID()
	first := time.Date(2026, 2, 16, 0, 0, 0, 0, time.UTC)
	noise := func(d time.Time) int { return int(d.Sub(first).Hours()/24) * 7 % 5 }
	feed(t, svc, steady, first, now.AddDate(0, 0, -1), func(d time.Time) string { return fmt.Sprint(100 + noise(d)) })
	feed(t, svc, rising, first, now.AddDate(0, 0, -1), func(d time.Time) string {
		return fmt.Sprint(100 + noise(d) + 6*int(d.Sub(first).Hours()/24/7))
	})
	ps, err := svc.Projection(context.Background(), steady, now)
	require.NoError(t, err)
	pr, err := svc.Projection(context.Background(), rising, now)
	require.NoError(t, err)
	ws, wr := ps.IntervalHigh.Sub(ps.ProjectedTotal), pr.IntervalHigh.Sub(pr.ProjectedTotal)
	require.True(t, wr.GreaterThan(ws.Mul(decimal.NewFromInt(2))), "rising %s, steady %s", wr, ws)
}
