package billing

import (
	"context"
	"math"
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
// A level that wanders (a trend, a step, a drift) makes the days' errors move together, which
// independent residuals do not cover: from three complete weeks on, the interval adds a random
// walk of the level started at the centre of the history, its variance per day estimated from
// the changes between consecutive weeks' mean daily costs (levelDrift, levelSpread).
// Month start: the first days of months stay out of the weekday profile (a monthly charge is
// no weekday's pattern), and at the first of a month the day itself is expected to cost what
// the previous month's first day cost.
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
	// Month start: at the first of the month the day still to come may carry a monthly
	// charge (a fee, a commitment) that is no weekday's pattern; the previous month's first
	// day says what it was. It is read even when it lies before the 28-day history.
	prevStart := ps.AddDate(0, -1, 0)
	monthStartRef := today.Equal(ps) && !first.After(prevStart)
	if monthStartRef && prevStart.Before(from) {
		from = prevStart
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
	var levelQ decimal.Decimal // the level's random-walk variance per day (0: a steady level)
	df := 0                    // the degrees of freedom of sd
	spreadKnown := n >= 2
	if n >= profileMinDays {
		p.Method = "weekday_profile"
		// First days of months stay out of the weekday profile and its spread: a monthly
		// charge on one of them would otherwise be spread over four weeks of that weekday.
		used := 0
		var sum, cnt [7]decimal.Decimal
		for _, d := range hist {
			if d.Day() == 1 {
				continue
			}
			used++
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
		expected = func(d time.Time) decimal.Decimal {
			if monthStartRef && d.Equal(ps) {
				return daily[prevStart]
			}
			return mean[d.Weekday()]
		}
		var ss decimal.Decimal
		for _, d := range hist {
			if d.Day() == 1 {
				continue
			}
			r := daily[d].Sub(expected(d))
			ss = ss.Add(r.Mul(r))
		}
		df = used - 7
		if df < 1 {
			// One observation per weekday: no residual left; use the spread of the days.
			sd = stddev(hist, daily)
			df = n - 1
		} else {
			sd = sqrt(ss.DivRound(decimal.NewFromInt(int64(df)), 16))
		}
		nEff = decimal.NewFromInt(int64(n)).DivRound(decimal.NewFromInt(7), 16)
		levelQ = levelDrift(hist, daily, sd)
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
			df = n - 1
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
		if levelQ.IsPositive() {
			v = v.Add(levelQ.Mul(levelSpread(n, restOfToday, today, pe)))
		}
		half = t95(df).Mul(sqrt(v))
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

// t95 is the two-sided 95% quantile of Student's t with df degrees of freedom: sd is
// estimated from few days (21 degrees of freedom from four weeks, fewer early on), and a
// prediction interval with an estimated spread is wider than the normal one (2.08 instead of
// 1.96 at 21). Cornish-Fisher expansion around the normal quantile (within 0.5% of the exact
// value from 5 degrees of freedom on; 1 to 4 from the table). A statistic, not money: float64.
func t95(df int) decimal.Decimal {
	switch {
	case df <= 0:
		return z95
	case df == 1:
		return decimal.RequireFromString("12.706")
	case df == 2:
		return decimal.RequireFromString("4.303")
	case df == 3:
		return decimal.RequireFromString("3.182")
	case df == 4:
		return decimal.RequireFromString("2.776")
	}
	z, v := 1.959964, float64(df)
	t := z + (z*z*z+z)/(4*v) + (5*z*z*z*z*z+16*z*z*z+3*z)/(96*v*v) +
		(3*math.Pow(z, 7)+19*math.Pow(z, 5)+17*z*z*z-15*z)/(384*v*v*v)
	return decimal.NewFromFloat(t).Round(4)
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

// levelDrift estimates how fast the daily level wanders, as the variance per day q of a
// random walk: from the complete weeks of the history (counted back from the last day),
// the mean squared change between consecutive weeks' mean daily costs is 7q plus the
// noise's share 2 sd^2 / 7 (a trend or a level shift shows up the same way). Fewer than
// three weeks: 0. Weekly means, not days, so the weekday pattern cancels.
func levelDrift(hist []time.Time, daily map[time.Time]decimal.Decimal, sd decimal.Decimal) decimal.Decimal {
	weeks := len(hist) / 7
	if weeks < 3 {
		return decimal.Zero
	}
	seven := decimal.NewFromInt(7)
	means := weekMeans(hist, daily, weeks)
	var ss decimal.Decimal
	for w := 1; w < weeks; w++ {
		d := means[w].Sub(means[w-1])
		ss = ss.Add(d.Mul(d))
	}
	msd := ss.DivRound(decimal.NewFromInt(int64(weeks-1)), 16)
	q := msd.Sub(sd.Mul(sd).Mul(decimal.NewFromInt(2)).DivRound(seven, 16)).DivRound(seven, 16)
	if q.IsNegative() {
		return decimal.Zero
	}
	return q
}

// levelSpread is the variance factor of the remaining days' summed level under a random
// walk of unit variance per day started at the centre of the n-day history (where the
// weekday means are centred): sum over pairs of remaining days i, j of w_i w_j min(t_i, t_j),
// t the distance in days from the centre and w the part of the day still to come (the rest
// of today, then 1).
func levelSpread(n int, restOfToday decimal.Decimal, today, pe time.Time) decimal.Decimal {
	c := (n + 1) / 2
	var ts []int64
	var ws []decimal.Decimal
	for d, t := today, c; !d.After(pe); d, t = d.AddDate(0, 0, 1), t+1 {
		ts = append(ts, int64(t))
		if d.Equal(today) {
			ws = append(ws, restOfToday)
		} else {
			ws = append(ws, decimal.NewFromInt(1))
		}
	}
	var f decimal.Decimal
	for i := range ts {
		for j := range ts {
			f = f.Add(ws[i].Mul(ws[j]).Mul(decimal.NewFromInt(min(ts[i], ts[j]))))
		}
	}
	return f
}

// weekMeans are the mean daily costs of the last weeks complete weeks of hist, oldest first.
func weekMeans(hist []time.Time, daily map[time.Time]decimal.Decimal, weeks int) []decimal.Decimal {
	seven := decimal.NewFromInt(7)
	means := make([]decimal.Decimal, weeks)
	for w := range weeks {
		var sum decimal.Decimal
		for _, d := range hist[len(hist)-7*(weeks-w) : len(hist)-7*(weeks-w-1)] {
			sum = sum.Add(daily[d])
		}
		means[w] = sum.DivRound(seven, 16)
	}
	return means
}
