package anomaly_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/anomaly"
)

// Hand-checked tail values: the cold-start Student t4 (critical values 2.776 at 5% and
// 4.604 at 1%, two-sided), the empirical region, the fitted exponential tail.
func TestTailHandComputed(t *testing.T) {
	tl := anomaly.NewTail(0)
	require.InDelta(t, 0.05, tl.P(2.776), 1e-4, "t4 two-sided 5% point")
	require.InDelta(t, 0.01, tl.P(4.604), 1e-4, "t4 two-sided 1% point")
	require.InDelta(t, -math.Log10(6/math.Pow(1e4, 4)), tl.Surprise(1e4), 1e-9, "the asymptote far out")

	for i := 1; i <= 99; i++ {
		tl.Add(float64(i))
	}
	// n = 99; empirical below u = sorted[floor(0.9 x 99)] = sorted[89] = 90:
	// P(50) = (1 + #{>= 50}) / 100 = 51/100.
	require.InDelta(t, 0.51, tl.P(50), 1e-12)
	require.InDelta(t, 0.51, tl.P(-50), 1e-12, "magnitudes: the sign does not matter")
	// Above u the 9 exceedances 91..99; up to the smallest the empirical rank:
	// P(91) = (1 + 9) / 100.
	require.InDelta(t, 0.1, tl.P(91), 1e-12)
	// Beyond it the exponential from 91: excesses 0..8, median 4 -> 4/ln 2 = 5.771; mean
	// without the largest 3.5. beta = 5.771; P(100) = 10/100 x exp(-9/5.771).
	beta := 4 / math.Ln2
	require.InDelta(t, 0.1*math.Exp(-9/beta), tl.P(100), 1e-12)
	// Far out the surprise stays finite and grows linearly.
	require.InDelta(t, 1+(1e6-91)/(beta*math.Ln10), tl.Surprise(1e6), 1e-6)

	// Keep drops the oldest.
	k := anomaly.NewTail(3)
	for _, v := range []float64{100, 1, 2, 3} {
		k.Add(v)
	}
	require.Equal(t, 3, k.Len())
}

// A series the expectation predicts exactly (residuals 0) but for one earlier three-day
// surge of about 70 sigmas: a deviation of the same size is what the past has seen (one in
// about 20 days), one twice as large is news. An exponential anchored at u = 0 and scaled by
// those three excesses (beta about 100) made it 1.8, under any threshold.
func TestTailTiesAtU(t *testing.T) {
	tl := anomaly.NewTail(0)
	for range 57 {
		tl.Add(0)
	}
	for _, z := range []float64{66.3, 70.1, 70.4} {
		tl.Add(z)
	}
	require.Less(t, tl.Surprise(70), 2.0, "as large as before")
	// From the smallest exceedance 66.3: excesses 0, 3.8, 4.1, beta = 3.8/ln 2 = 5.48;
	// -log10(4/61) + (138 - 66.3)/(5.48 ln 10) = 1.18 + 5.68, past the default threshold
	// (3.75 after Bonferroni's log10 2).
	require.InDelta(t, -math.Log10(4.0/61)+(138-66.3)/(3.8/math.Ln2*math.Ln10), tl.Surprise(138), 1e-9, "twice the largest")
	require.Greater(t, tl.Surprise(138)-math.Log10(2), anomaly.NewCalibrated().Threshold())
}

// The point of calibration: the same surprise threshold flags the same share of ordinary
// points on a Gaussian series and on a heavy-tailed one (Student t2, whose 10-sigma days are
// routine). A |z| threshold cannot: at |z| >= 3 the heavy series alerts many times more.
func TestTailCalibratedAcrossNoiseShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	gauss := func() float64 { return rng.NormFloat64() }
	heavy := func() float64 { // Student t with 2 degrees of freedom
		return rng.NormFloat64() / math.Sqrt((rng.ExpFloat64()*2)/2)
	}
	share := func(gen func() float64, surprise bool) float64 {
		tl := anomaly.NewTail(0)
		n, hits := 0, 0
		for i := 0; i < 40000; i++ {
			z := gen()
			if i >= 2000 {
				n++
				if (surprise && tl.Surprise(z) >= 2) || (!surprise && math.Abs(z) >= 3) {
					hits++
				}
			}
			tl.Add(z)
		}
		return float64(hits) / float64(n)
	}
	g, h := share(gauss, true), share(heavy, true)
	t.Logf("surprise >= 2: gaussian %.4f, heavy %.4f", g, h)
	// The fitted tail errs on the safe side (beta is the larger of two estimates and the +1
	// prior counts the scored value): between 0.4% and 1% on both, and within a factor 2.
	for _, v := range []float64{g, h} {
		require.Greater(t, v, 0.004)
		require.Less(t, v, 0.011)
	}
	require.Less(t, max(g, h)/min(g, h), 2.0)
	gz, hz := share(gauss, false), share(heavy, false)
	t.Logf("|z| >= 3: gaussian %.4f, heavy %.4f", gz, hz)
	require.Greater(t, hz, 10*gz)
}

// The default detector on daily costs: a quiet weekday series, a spike is flagged, ordinary
// days are not; a slow drift (+4% a day for three weeks) is flagged by the drift view while
// no single day stands out much against the weekday expectation.
func TestCalibratedSpikeAndDrift(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	base := func(i int) float64 {
		v := 100.0
		if wd := monday.AddDate(0, 0, i).Weekday(); wd == 0 || wd == 6 {
			v = 60
		}
		return v * math.Exp(0.03*rng.NormFloat64())
	}
	c := anomaly.NewCalibrated()
	require.Equal(t, "calibrated", c.Name())
	require.Equal(t, c.Name(), anomaly.DefaultDetector().Name())
	var h []float64
	for i := 0; i < 56; i++ {
		h = append(h, base(i))
	}
	// Ordinary days: none reaches the threshold (over 14 days of ordinary values).
	for i := 56; i < 70; i++ {
		x := base(i)
		ev := c.Evaluate(ds(h...), monday.AddDate(0, 0, i), ds(x)[0])
		require.True(t, ev.Ready)
		require.Less(t, math.Abs(ev.Score), c.Threshold(), "day %d", i)
		h = append(h, x)
	}
	spike := 3 * base(70)
	ev := c.Evaluate(ds(h...), monday.AddDate(0, 0, 70), ds(spike)[0])
	require.GreaterOrEqual(t, ev.Score, c.Threshold())
	require.Greater(t, ev.Sigma, 0.0)

	// Drift: from day 70 on, +4% a day compounded.
	drift := append([]float64(nil), h...)
	first := -1
	for i := 70; i < 91; i++ {
		x := base(i) * math.Pow(1.04, float64(i-69))
		ev := c.Evaluate(ds(drift...), monday.AddDate(0, 0, i), ds(x)[0])
		if first < 0 && ev.Score >= c.Threshold() {
			first = i
		}
		drift = append(drift, x)
	}
	require.GreaterOrEqual(t, first, 70, "the drift is flagged")
	require.Less(t, first, 91)

	// Cold start: under 21 days of history the detector is not ready.
	ev = c.Evaluate(ds(h[:20]...), monday.AddDate(0, 0, 20), ds(500)[0])
	require.False(t, ev.Ready)
}

// The streaming state and Evaluate agree: Evaluate replays the history through a state.
func TestCalibratedStateMatchesEvaluate(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	c := anomaly.NewCalibrated()
	c.Seasonal.MonthStart = false
	st := c.NewState(7)
	var h []float64
	for i := 0; i < 80; i++ {
		x := 50 + 5*rng.NormFloat64()
		r := st.Score(x)
		ev := c.Evaluate(ds(h...), monday.AddDate(0, 0, i), ds(x)[0])
		require.Equal(t, ev.Ready, r.Ready, i)
		if r.Ready {
			require.InDelta(t, r.Score, ev.Score, 1e-6, i)
		}
		st.PushScored(x, r)
		h = append(h, x)
	}
}

// A level shift (x2, for good) is one episode: the point view flags every day of its first
// week, whose values are held out of the expectation until a week of alerts declares the new
// level; the drift view then speaks once (day 77) and is muted for the four weeks its
// reference period needs to move past the change. Days 70-77, consecutive: one episode.
func TestCalibratedLevelShiftIsOneEpisode(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	alerts := alertDays(anomaly.NewCalibrated(), noisy(rng, 70), 110, func(int) float64 { return 200 * math.Exp(0.03*rng.NormFloat64()) })
	t.Logf("alert days: %v", alerts)
	require.NotEmpty(t, alerts)
	require.Equal(t, 70, alerts[0], "the first day of the shift")
	require.LessOrEqual(t, len(alerts), 8)
	for i, a := range alerts {
		require.Equal(t, 70+i, a, "consecutive days, one episode: %v", alerts)
	}
}

// A surge of constant size over three days is anomalous on each of them (issue 17): the
// tails learn an alerted day only up to the alert level, so the first day's z does not make
// the second one ordinary. Noise-free weekday costs as in the platform's root-cause walk.
func TestCalibratedConstantSurgeEveryDay(t *testing.T) {
	val := func(i int) float64 { return 14 + 0.1*float64(monday.AddDate(0, 0, i).Weekday()) }
	var h []float64
	for i := 0; i < 50; i++ {
		h = append(h, val(i))
	}
	alerts := alertDays(anomaly.NewCalibrated(), h, 60, func(i int) float64 {
		if i < 53 {
			return val(i) + 18
		}
		return val(i)
	})
	require.Equal(t, []int{50, 51, 52}, alerts)
}

// A lasting step (a new resource seen in a tenant's total) is a new level after three days
// of alerts (AdoptAfter): the history before it is moved to the new level, so the fourth
// day is ordinary (before, alerts went on for a week).
func TestCalibratedStepAdoptedAfterThreeDays(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	alerts := alertDays(anomaly.NewCalibrated(), noisy(rng, 70), 110, func(int) float64 { return 130 * math.Exp(0.03*rng.NormFloat64()) })
	require.Equal(t, []int{70, 71, 72}, alerts)
}

// A surge of five days: adopted as a new level after three days of alerts (its fourth and
// fifth days are that level, not news: the episode is days 70-72), and its end, the return
// to the level before it, is not a drop (the old level is kept in view for a period after
// the adoption).
func TestCalibratedSurgeEndIsNotADrop(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	alerts := alertDays(anomaly.NewCalibrated(), noisy(rng, 70), 110, func(i int) float64 {
		x := 100 * math.Exp(0.03*rng.NormFloat64())
		if i < 75 {
			x *= 2
		}
		return x
	})
	require.Equal(t, []int{70, 71, 72}, alerts)
}

// A monthly fee that is small against the series' noise (a STORAGE fee in a tenant's total)
// is recognised once two months showed it, at half the single month's margin: with the fee
// from February on, March (one month of evidence) alerts, April (two) is ordinary; with the
// fee from January on, March and April are ordinary.
func TestCalibratedSmallFeeOverTwoMonths(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	run := func(firstFee time.Month) map[time.Month]float64 {
		rng := rand.New(rand.NewPCG(21, 22))
		c := anomaly.NewCalibrated()
		var h []float64
		score := map[time.Month]float64{}
		for i := 0; i < 100; i++ {
			day := start.AddDate(0, 0, i)
			x := 100 + 3*rng.NormFloat64()
			if day.Day() == 1 && day.Month() >= firstFee {
				x += 20
			}
			if day.Day() == 1 && i > 0 {
				score[day.Month()] = c.Evaluate(ds(h...), day, ds(x)[0]).Score
			}
			h = append(h, x)
		}
		t.Logf("fee from month %d, scores on the first of the month: %v", firstFee, score)
		return score
	}
	thr := anomaly.NewCalibrated().Threshold()
	late := run(time.February)
	require.GreaterOrEqual(t, late[time.March], thr, "one month of evidence")
	// Expected: an ordinary day (without the two-month rule these score 2-3.3).
	require.Less(t, math.Abs(late[time.April]), 1.0, "two months of evidence")
	early := run(time.January)
	require.Less(t, math.Abs(early[time.March]), 1.0)
	require.Less(t, math.Abs(early[time.April]), 1.0)
}

// alertDays scores day i = len(h), ..., to-1 with value(i), each against the days before it
// (h, then every scored value), and returns the days that alert.
func alertDays(c anomaly.Calibrated, h []float64, to int, value func(i int) float64) []int {
	var alerts []int
	for i := len(h); i < to; i++ {
		x := value(i)
		ev := c.Evaluate(ds(h...), monday.AddDate(0, 0, i), ds(x)[0])
		if math.Abs(ev.Score) >= c.Threshold() {
			alerts = append(alerts, i)
		}
		h = append(h, x)
	}
	return alerts
}

// noisy is n days of 100 EUR with 3% log-normal noise.
func noisy(rng *rand.Rand, n int) []float64 {
	var h []float64
	for range n {
		h = append(h, 100*math.Exp(0.03*rng.NormFloat64()))
	}
	return h
}
