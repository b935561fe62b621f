package billing

import (
	"context"
	"time"

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
)

// Projection model constants.
var (
	z95        = decimal.RequireFromString("1.96") // two-sided 95% normal quantile
	confidence = decimal.RequireFromString("0.95")
	dayNanos   = decimal.NewFromInt(int64(24 * time.Hour))
)

const (
	profileMinDays = 7  // below this the model is linear
	historyDays    = 28 // four weeks: four observations per weekday
)

// Projection estimates the current month's total at now.
//
// Model: the daily run rate is learned from up to the last 28 complete days (crossing into
// the previous month when there is data there). With at least 7 such days it uses a weekday
// profile: the expected cost of a future day is the mean of past days on the same weekday;
// with fewer it extrapolates linearly at the mean daily cost (or, with no complete day yet,
// at today's partial rate). The remainder of today counts as the fraction of the day left.
//
// The interval is a 95% normal prediction interval for the sum of the k remaining days:
// variance sd^2 * (k + k^2/n_eff), the first term for day-to-day noise, the second for the
// uncertainty of the estimated means (n_eff = days per weekday for the profile, n days for
// linear). sd is the residual standard deviation (around weekday means for the profile).
// With fewer than two days the spread cannot be estimated and the interval is the projection
// plus or minus the whole remaining estimate. The low end never goes below actual_to_date.
// Projected figures are rounded to cents; actual_to_date is exact.
func (s *Service) Projection(ctx context.Context, tenant eusaas.TenantID, now time.Time) (Projection, error) {
	now = now.UTC()
	ps, pe, today := MonthStart(now), MonthEnd(now), Day(now)
	p := Projection{TenantID: tenant, PeriodStart: ps, PeriodEnd: pe, Currency: Currency, Confidence: confidence}

	histFrom := today.AddDate(0, 0, -historyDays)
	first, ok, err := s.usage.FirstDay(ctx, tenant)
	if err != nil {
		return Projection{}, err
	}
	if !ok || first.After(today) {
		first = today
	}
	if first.After(histFrom) {
		histFrom = first
	}
	from := histFrom
	if ps.Before(from) {
		from = ps
	}
	buckets, err := s.usage.Buckets(ctx, tenant, from, today)
	if err != nil {
		return Projection{}, err
	}
	daily := map[time.Time]decimal.Decimal{}
	for _, b := range buckets {
		daily[b.Day] = daily[b.Day].Add(b.Amount)
		if !b.Day.Before(ps) {
			p.ActualToDate = p.ActualToDate.Add(b.Amount)
		}
	}

	// History: complete days [histFrom, today).
	var hist []time.Time
	for d := histFrom; d.Before(today); d = d.AddDate(0, 0, 1) {
		hist = append(hist, d)
	}
	n := len(hist)
	elapsed := decimal.NewFromInt(int64(now.Sub(today))).Div(dayNanos)
	restOfToday := decimal.NewFromInt(1).Sub(elapsed)

	// expected(d) is the model's cost for a whole day d; sd its residual spread.
	var expected func(time.Time) decimal.Decimal
	var sd decimal.Decimal
	var nEff decimal.Decimal
	spreadKnown := n >= 2
	if n >= profileMinDays {
		p.Method = "weekday_profile"
		var sum, cnt [7]decimal.Decimal
		for _, d := range hist {
			w := d.Weekday()
			sum[w] = sum[w].Add(daily[d])
			cnt[w] = cnt[w].Add(decimal.NewFromInt(1))
		}
		var mean [7]decimal.Decimal
		for w := range mean {
			if cnt[w].IsPositive() {
				mean[w] = sum[w].DivRound(cnt[w], 16)
			}
		}
		expected = func(d time.Time) decimal.Decimal { return mean[d.Weekday()] }
		var ss decimal.Decimal
		for _, d := range hist {
			r := daily[d].Sub(mean[d.Weekday()])
			ss = ss.Add(r.Mul(r))
		}
		df := n - 7
		if df < 1 {
			// One observation per weekday: no residual left; use the spread of the days.
			sd = stddev(hist, daily)
		} else {
			sd = sqrt(ss.DivRound(decimal.NewFromInt(int64(df)), 16))
		}
		nEff = decimal.NewFromInt(int64(n)).DivRound(decimal.NewFromInt(7), 16)
	} else {
		p.Method = "linear"
		var mean decimal.Decimal
		switch {
		case n > 0:
			var sum decimal.Decimal
			for _, d := range hist {
				sum = sum.Add(daily[d])
			}
			mean = sum.DivRound(decimal.NewFromInt(int64(n)), 16)
		case elapsed.IsPositive():
			mean = daily[today].DivRound(elapsed, 16) // today's rate so far
		}
		expected = func(time.Time) decimal.Decimal { return mean }
		if spreadKnown {
			sd = stddev(hist, daily)
			nEff = decimal.NewFromInt(int64(n))
		}
	}
	p.HistoryDays = n

	// Remaining: the rest of today, then every later day of the month.
	rest := expected(today).Mul(restOfToday)
	todaySoFar := daily[today]
	if todaySoFar.GreaterThan(expected(today)) {
		rest = decimal.Zero // today already ran past a typical day
	} else if r := expected(today).Sub(todaySoFar); r.LessThan(rest) {
		rest = r
	}
	k := restOfToday
	for d := today.AddDate(0, 0, 1); !d.After(pe); d = d.AddDate(0, 0, 1) {
		rest = rest.Add(expected(d))
		k = k.Add(decimal.NewFromInt(1))
	}
	projected := p.ActualToDate.Add(rest)
	var half decimal.Decimal
	if spreadKnown {
		v := sd.Mul(sd).Mul(k.Add(k.Mul(k).DivRound(nEff, 16)))
		half = z95.Mul(sqrt(v))
	} else {
		half = rest
	}
	p.ProjectedTotal = roundMoney(projected)
	p.IntervalHigh = roundMoney(projected.Add(half))
	low := projected.Sub(half)
	if low.LessThan(p.ActualToDate) {
		low = p.ActualToDate
	}
	p.IntervalLow = roundMoney(low)

	if s.thresholds != nil {
		thr, ok, err := s.thresholds.CostAlertThreshold(ctx, tenant)
		if err != nil {
			return Projection{}, err
		}
		if ok {
			p.BudgetThreshold = &thr
			p.BudgetExceeded = p.ProjectedTotal.GreaterThan(thr)
			p.BudgetLikelyBreach = p.IntervalHigh.GreaterThan(thr)
		}
	}
	return p, nil
}

// ProjectionNow is Projection at the service clock's time.
func (s *Service) ProjectionNow(ctx context.Context, tenant eusaas.TenantID) (Projection, error) {
	return s.Projection(ctx, tenant, s.o.Clock.Now())
}

// stddev is the sample standard deviation of the daily totals of days.
func stddev(days []time.Time, daily map[time.Time]decimal.Decimal) decimal.Decimal {
	n := int64(len(days))
	if n < 2 {
		return decimal.Zero
	}
	var sum decimal.Decimal
	for _, d := range days {
		sum = sum.Add(daily[d])
	}
	mean := sum.DivRound(decimal.NewFromInt(n), 16)
	var ss decimal.Decimal
	for _, d := range days {
		r := daily[d].Sub(mean)
		ss = ss.Add(r.Mul(r))
	}
	return sqrt(ss.DivRound(decimal.NewFromInt(n-1), 16))
}

// sqrt is Newton's method on decimals to 16 fractional digits (no binary floats on money).
func sqrt(x decimal.Decimal) decimal.Decimal {
	if !x.IsPositive() {
		return decimal.Zero
	}
	two := decimal.NewFromInt(2)
	g := x
	if g.LessThan(decimal.NewFromInt(1)) {
		g = decimal.NewFromInt(1)
	}
	for i := 0; i < 200; i++ {
		next := g.Add(x.DivRound(g, 20)).DivRound(two, 20)
		if next.Sub(g).Abs().LessThan(decimal.New(1, -16)) {
			return next.Round(16)
		}
		g = next
	}
	return g.Round(16)
}
