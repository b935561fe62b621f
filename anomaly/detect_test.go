package anomaly_test

import (
	"math"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/anomaly"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func ds(vs ...float64) []decimal.Decimal {
	out := make([]decimal.Decimal, len(vs))
	for i, v := range vs {
		out[i] = decimal.NewFromFloat(v)
	}
	return out
}

func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

var monday = time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC)

func requireDec(t *testing.T, want string, got decimal.Decimal) {
	t.Helper()
	require.Truef(t, d(want).Equal(got), "want %s, got %s", want, got)
}

// The seed rule taken literally (the scored value inside its own 7-point window) can never
// reach 2.5: Samuelson's inequality bounds |z| by sqrt(n-1) = 2.449. A spike from 0 to 1000
// is the extreme case.
func TestLiteralSeedRuleCannotFire(t *testing.T) {
	window := []float64{0, 0, 0, 0, 0, 0, 1000}
	mean, sd := 0.0, 0.0
	for _, v := range window {
		mean += v
	}
	mean /= 7
	for _, v := range window {
		sd += (v - mean) * (v - mean)
	}
	sd = math.Sqrt(sd / 7)
	z := (1000 - mean) / sd
	require.InDelta(t, math.Sqrt(6), z, 1e-9)
	require.Less(t, z, 2.5)

	// Our rule scores against the 7 days BEFORE: a flat 0 baseline with the sigma floor of 1
	// cent gives z = 1000 / 0.01.
	ev := anomaly.NewZScore().Evaluate(ds(0, 0, 0, 0, 0, 0, 0), monday, d("1000"))
	require.True(t, ev.Ready)
	require.InDelta(t, 100000, ev.Score, 1e-6)
}

// Hand computation, history 10,12,10,12,10,12,10 (the 7 days before), actual 14:
// mean = 76/7 = 10.857142..., expected rounded to cents = 10.86; population variance =
// (4*(6/7)^2 + 3*(8/7)^2)/7 = 48/49, sd = 0.989743; z = (14 - 76/7)/sd = 3.17543.
// Had the scored day been part of its baseline (12,10,12,10,12,10,14): mean 80/7, sd
// 1.399708, z = 1.83712 — no alarm. The detector receives only the days before.
func TestZScoreBaselineExcludesScoredDay(t *testing.T) {
	z := anomaly.NewZScore()
	ev := z.Evaluate(ds(10, 12, 10, 12, 10, 12, 10), monday, d("14"))
	require.True(t, ev.Ready)
	requireDec(t, "10.86", ev.Expected)
	require.InDelta(t, math.Sqrt(48.0/49), ev.Sigma, 1e-12)
	require.InDelta(t, 3.17543, ev.Score, 1e-5)

	// Only the last 7 days count: an older huge value changes nothing.
	ev2 := z.Evaluate(ds(5000, 10, 12, 10, 12, 10, 12, 10), monday, d("14"))
	require.Equal(t, ev.Score, ev2.Score)
	requireDec(t, "10.86", ev2.Expected)

	// The in-window variant for comparison.
	inWin := []float64{12, 10, 12, 10, 12, 10, 14}
	s, _ := anomaly.ZScore{Window: 7, MinPoints: 3, Thresh: 2.5}.ScoreFloat(inWin, 14)
	require.InDelta(t, 1.83712, s, 1e-5)
	require.Less(t, s, 2.5)
}

func TestZScoreMinPoints(t *testing.T) {
	z := anomaly.NewZScore()
	ev := z.Evaluate(ds(10, 10), monday, d("100"))
	require.False(t, ev.Ready, "2 points are not enough")
	requireDec(t, "10", ev.Expected)
	ev = z.Evaluate(ds(10, 11, 12), monday, d("100"))
	require.True(t, ev.Ready, "3 points are")
	requireDec(t, "11", ev.Expected)
	// mean 11, sd sqrt(2/3) = 0.816497; z = 89 / 0.816497 = 109.0026
	require.InDelta(t, 89/math.Sqrt(2.0/3), ev.Score, 1e-9)
}

// A flat series has sd 0; the floor max(0.01, 2% of 10 = 0.20) keeps scores finite:
// 10.40 -> z 2.0 (no), 10.60 -> z 3.0 (yes).
func TestZScoreSigmaFloor(t *testing.T) {
	z := anomaly.NewZScore()
	flat := ds(10, 10, 10, 10, 10, 10, 10)
	ev := z.Evaluate(flat, monday, d("10.40"))
	require.InDelta(t, 0.2, ev.Sigma, 1e-12)
	require.InDelta(t, 2.0, ev.Score, 1e-9)
	ev = z.Evaluate(flat, monday, d("10.60"))
	require.InDelta(t, 3.0, ev.Score, 1e-9)
}

// Weekday pattern: Mon-Fri 100, Sat-Sun 20, three weeks of history.
func weekly(weeks int) []float64 {
	var h []float64
	for range weeks {
		h = append(h, 100, 100, 100, 100, 100, 20, 20)
	}
	return h
}

func TestSeasonalWeekdayBaseline(t *testing.T) {
	s := anomaly.NewSeasonal()
	h := ds(weekly(3)...) // 21 days, starts on a Monday; the scored day is a Monday
	ev := s.Evaluate(h, monday, d("100"))
	require.True(t, ev.Ready)
	// L0 = median(100 x5, 20 x2) = 100; Monday effects 100 - 100 = 0 (two references).
	requireDec(t, "100", ev.Expected)
	// Seasonal differences are all 0: MAD 0, floor max(0.01, 2% of 100) = 2.
	require.InDelta(t, 2.0, ev.Sigma, 1e-12)
	require.InDelta(t, 0, ev.Score, 1e-12)
	ev = s.Evaluate(h, monday, d("110"))
	require.InDelta(t, 5.0, ev.Score, 1e-9)

	// A Saturday: history of 26 days ending on Friday. L0 = median of the last 7 = 100;
	// Saturday effects 20 - median(previous 7) = 20 - 100 = -80 -> expected 20.
	h26 := ds(append(weekly(3), 100, 100, 100, 100, 100)...)
	ev = s.Evaluate(h26, monday.AddDate(0, 0, 26), d("20"))
	requireDec(t, "20", ev.Expected)
	require.InDelta(t, 0, ev.Score, 1e-12)
	// The same Saturday through the mean of the last 7 days expects (2*20 + 5*100)/7.
	zev := anomaly.NewZScore().Evaluate(h26, monday.AddDate(0, 0, 26), d("20"))
	requireDec(t, "77.14", zev.Expected)
}

// Exact decimal medians: an even number of references averages the two middle effects.
func TestSeasonalExactDecimalExpected(t *testing.T) {
	s := anomaly.NewSeasonal()
	// 28 days of 10.01 with the Mondays (indexes 0, 7, 14, 21) at 10.02, 10.05, 10.03, 10.04.
	var h []decimal.Decimal
	for i := 0; i < 28; i++ {
		h = append(h, d("10.01"))
	}
	h[0], h[7], h[14], h[21] = d("10.02"), d("10.05"), d("10.03"), d("10.04")
	ev := s.Evaluate(h, monday, d("10.01"))
	// Refs k=1..3 (k=4 would need 35 days): r = 21, 14, 7. Each level window holds one
	// Monday and six 10.01, so its median is 10.01: effects 0.03, 0.02, 0.04 -> median 0.03.
	// L0 = median(10.04, 10.01 x6) = 10.01. expected = 10.04 exactly.
	requireDec(t, "10.04", ev.Expected)
	// With 2 refs (an even count) the median is the mean of the two: a 0.5 multiple.
	ev = s.Evaluate(h[:21], monday, d("10.01"))
	// r = 14, 7: effects 0.02 and 0.04 -> 0.03; L0 = median(h[14:21]) = 10.01 -> 10.04.
	requireDec(t, "10.04", ev.Expected)
}

// One spike in the baseline inflates mean and sigma (the mean/sigma rule then misses the
// next spike) but moves neither the median nor the MAD.
func TestSeasonalSpikeDoesNotHideNextSpike(t *testing.T) {
	h := repeat(100, 21)
	h[18] = 300 // three days before the scored day
	zev := anomaly.NewZScore().Evaluate(ds(h...), monday, d("300"))
	// Last 7: six 100 and one 300: mean 128.571, sd 69.985 -> z = sqrt(6) = 2.449 < 2.5.
	require.InDelta(t, math.Sqrt(6), zev.Score, 1e-9)
	require.Less(t, zev.Score, 2.5)

	sev := anomaly.NewSeasonal().Evaluate(ds(h...), monday, d("300"))
	requireDec(t, "100", sev.Expected)
	// Differences: one of 14 is 200, the rest 0 -> MAD 0 -> floor 2 -> score 100.
	require.InDelta(t, 100, sev.Score, 1e-9)
}

// The month-start rule: a 500 EUR fee on every first day is the previous month's
// month-start effect, so it is expected and not an anomaly.
func TestSeasonalMonthStartFee(t *testing.T) {
	day := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	// History 2026-02-22 .. 2026-03-31 (38 days), 100 a day, 600 on 2026-03-01.
	start := time.Date(2026, 2, 22, 0, 0, 0, 0, time.UTC)
	var h []decimal.Decimal
	for t0 := start; t0.Before(day); t0 = t0.AddDate(0, 0, 1) {
		if t0.Day() == 1 {
			h = append(h, d("600"))
		} else {
			h = append(h, d("100"))
		}
	}
	s := anomaly.NewSeasonal()
	ev := s.Evaluate(h, day, d("600"))
	// L0 = 100; the 2026-03-01 effect = 600 - median(the 7 days after it) = 500 -> 600.
	requireDec(t, "600", ev.Expected)
	require.InDelta(t, 0, ev.Score, 1e-9)

	s.MonthStart = false
	ev = s.Evaluate(h, day, d("600"))
	requireDec(t, "100", ev.Expected)
	require.Greater(t, ev.Score, s.Thresh)
}

func TestSeasonalColdStart(t *testing.T) {
	s := anomaly.NewSeasonal()
	require.Equal(t, 21, s.MinHistory())
	ev := s.Evaluate(ds(repeat(100, 20)...), monday, d("1000"))
	require.False(t, ev.Ready, "20 days are too few")
	ev = s.Evaluate(ds(repeat(100, 21)...), monday, d("1000"))
	require.True(t, ev.Ready)
}

func TestScoreFloatMatchesEvaluate(t *testing.T) {
	h := []float64{12, 15, 11, 19, 14, 13, 16, 18, 12, 11, 17, 14, 20, 13, 15, 12, 19, 11, 16, 14, 13, 18, 15}
	s := anomaly.NewSeasonal()
	s.MonthStart = false
	ev := s.Evaluate(ds(h...), monday, d("30"))
	sc, sig, ok := s.ScoreFloat(h, 30)
	require.True(t, ok)
	require.InDelta(t, ev.Score, sc, 1e-9)
	require.InDelta(t, ev.Sigma, sig, 1e-9)
	require.InDelta(t, ev.Expected.InexactFloat64(), 30-sc*sig, 1e-9)
}

// The scale is the MAD of the detector's own one-step-ahead residuals. Hand computation:
// 28 days at 1000, then 1100, 900, 1100, 900, 1100, 900, 1100 (days 28..34). Every
// expected value for days 21..34 is 1000 (each level median is still 1000 and every weekday
// effect 0), so the residuals are 0 x7 then +100, -100, +100, -100, +100, -100, +100:
// median 0, absolute deviations 0 x7 and 100 x7, MAD 50, sigma = 1.4826 * 50 = 74.13.
// Day 35: L0 = median(1100, 900, 1100, 900, 1100, 900, 1100) = 1100, weekday effects
// (1100-1000, 0, 0, 0) -> median 0, expected 1100; actual 1500 -> score 400 / 74.13 = 5.396.
func TestSeasonalScaleFromResiduals(t *testing.T) {
	h := repeat(1000, 28)
	h = append(h, 1100, 900, 1100, 900, 1100, 900, 1100)
	s := anomaly.NewSeasonal()
	res := s.Residuals(h)
	require.Equal(t, []float64{0, 0, 0, 0, 0, 0, 0, 100, -100, 100, -100, 100, -100, 100}, res)
	ev := s.Evaluate(ds(h...), monday, d("1500"))
	requireDec(t, "1100", ev.Expected)
	require.InDelta(t, 1.4826*50, ev.Sigma, 1e-9)
	require.InDelta(t, 400/(1.4826*50), ev.Score, 1e-9)
}

// A level shift between the previous month's first day and the week after it is not a fee:
// the first day must stand out from both neighbours.
func TestSeasonalMonthStartIgnoresLevelShift(t *testing.T) {
	day := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	start := time.Date(2026, 2, 15, 0, 0, 0, 0, time.UTC)
	var h []decimal.Decimal
	for t0 := start; t0.Before(day); t0 = t0.AddDate(0, 0, 1) {
		if t0.Before(time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)) {
			h = append(h, d("100"))
		} else {
			h = append(h, d("300"))
		}
	}
	ev := anomaly.NewSeasonal().Evaluate(h, day, d("300"))
	requireDec(t, "300", ev.Expected)
	require.InDelta(t, 0, ev.Score, 1e-9)
}

func TestFloat(t *testing.T) {
	for _, s := range []string{"0", "12.34", "-0.01", "1234567.891", "0.1", "99999999999.9999"} {
		require.Equal(t, d(s).InexactFloat64(), anomaly.Float(d(s)), s)
	}
	big := d("123456789012345678901234.5")
	require.Equal(t, big.InexactFloat64(), anomaly.Float(big))
	require.Equal(t, 1.5e30, anomaly.Float(d("1.5e30")))
}
