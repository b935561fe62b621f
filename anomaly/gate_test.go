package anomaly_test

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/anomaly"
)

func gate5() anomaly.Gate { return anomaly.Gate{MinImpact: d("5")} }

func TestDualGate(t *testing.T) {
	z := anomaly.NewZScore()
	flat := ds(10, 10, 10, 10, 10, 10, 10)
	// Score 3.0 (sigma floor 0.2) but impact 0.60 < 5 EUR: statistically odd, economically
	// irrelevant -> nothing.
	_, _, ok := gate5().Judge(z, flat, monday, d("10.60"))
	require.False(t, ok)
	// The same day with a tenant minimum of 0.50 EUR passes.
	f, _, ok := anomaly.Gate{MinImpact: d("0.50")}.Judge(z, flat, monday, d("10.60"))
	require.True(t, ok)
	require.Equal(t, anomaly.KindSpike, f.Kind)
	requireDec(t, "0.60", f.Impact)

	// Impact 30 EUR but a noisy baseline: history 100,160,100,160,100,160,100 -> mean
	// 125.714..., expected 125.71, sd 29.69; actual 160 -> z = 1.155 < 2.5 -> nothing.
	noisy := ds(100, 160, 100, 160, 100, 160, 100)
	_, ev, ok := gate5().Judge(z, noisy, monday, d("160"))
	require.False(t, ok)
	require.InDelta(t, 1.1547, ev.Score, 1e-4)

	// Both halves pass: actual 230 -> z = 3.5287, impact 104.29.
	f, _, ok = gate5().Judge(z, noisy, monday, d("230"))
	require.True(t, ok)
	requireDec(t, "125.71", f.Expected)
	requireDec(t, "104.29", f.Impact)
	requireDec(t, "82.96", *f.DeviationPct) // 104.29 / 125.71 * 100 = 82.9608...
	require.Equal(t, "zscore", f.Rule)
}

func TestDropIsReported(t *testing.T) {
	f, _, ok := gate5().Judge(anomaly.NewZScore(), ds(100, 100, 100, 100, 100, 100, 100), monday, d("40"))
	require.True(t, ok)
	require.Equal(t, anomaly.KindDrop, f.Kind)
	requireDec(t, "60", f.Impact)
	requireDec(t, "-60", *f.DeviationPct)
	require.Equal(t, anomaly.Down, f.Kind.Direction())
}

func TestNewSpendRule(t *testing.T) {
	for _, det := range []anomaly.Detector{anomaly.NewZScore(), anomaly.NewSeasonal()} {
		// No history at all: the resource's first day.
		f, _, ok := gate5().Judge(det, nil, monday, d("12"))
		require.True(t, ok)
		require.Equal(t, anomaly.KindNewSpend, f.Kind)
		require.Equal(t, "new_spend", f.Rule)
		require.True(t, f.Expected.IsZero())
		requireDec(t, "12", f.Impact)
		require.Nil(t, f.DeviationPct, "undefined when expected is 0")
		require.Zero(t, f.Score)
		// 30 days of zero spend, then 12: still new spend (also for a ready detector).
		f, _, ok = gate5().Judge(det, ds(repeat(0, 30)...), monday, d("12"))
		require.True(t, ok)
		require.Equal(t, anomaly.KindNewSpend, f.Kind)
		// Below the minimum impact: nothing.
		_, _, ok = gate5().Judge(det, nil, monday, d("4.99"))
		require.False(t, ok)
		// Zero actual on a zero history is not spend.
		_, _, ok = gate5().Judge(det, ds(0, 0, 0), monday, decimal.Zero)
		require.False(t, ok)
	}
}

// Cold start: with less history than the detector needs, only the rules apply. A 3x day is
// not flagged; a day above 10x the largest so far is.
func TestColdStartGuards(t *testing.T) {
	s := anomaly.NewSeasonal()
	h := ds(10, 12, 11) // 3 days: not ready
	_, ev, ok := gate5().Judge(s, h, monday, d("36"))
	require.False(t, ev.Ready)
	require.False(t, ok)
	_, _, ok = gate5().Judge(s, h, monday, d("120")) // 10x 12 exactly: not above
	require.False(t, ok)
	f, _, ok := gate5().Judge(s, h, monday, d("120.01"))
	require.True(t, ok)
	require.Equal(t, "cold_start_spike", f.Rule)
	require.Equal(t, anomaly.KindSpike, f.Kind)
	requireDec(t, "11", f.Expected) // the last observed day
	requireDec(t, "109.01", f.Impact)
	requireDec(t, "991", *f.DeviationPct)
}

func TestSeverity(t *testing.T) {
	// Minimum impact 5: tiers at 15, 50, 150 EUR. Rule-based findings (new spend) have no
	// score and take the impact tier.
	cases := []struct {
		actual string
		want   anomaly.Severity
	}{{"14.99", anomaly.SeverityLow}, {"15", anomaly.SeverityMedium}, {"49.99", anomaly.SeverityMedium}, {"50", anomaly.SeverityHigh}, {"150", anomaly.SeverityCritical}}
	for _, c := range cases {
		f, _, ok := gate5().Judge(anomaly.NewZScore(), nil, monday, d(c.actual))
		require.True(t, ok)
		require.Equal(t, c.want, f.Severity, c.actual)
	}
	// Statistical: flat 100 history (sigma floor 2). Actual 150: z = 25 (>= 1.5 x 2.5),
	// impact 50 -> HIGH. A noisy baseline where the same impact is marginal drops a tier.
	f, _, ok := gate5().Judge(anomaly.NewZScore(), ds(repeat(100, 7)...), monday, d("150"))
	require.True(t, ok)
	require.Equal(t, anomaly.SeverityHigh, f.Severity)
	// History 80,120 x3 + 100: mean 100, sd 18.52; actual 160: z = 3.24 < 3.75 -> HIGH-1.
	f, _, ok = gate5().Judge(anomaly.NewZScore(), ds(80, 120, 80, 120, 80, 120, 100), monday, d("160"))
	require.True(t, ok)
	require.InDelta(t, 3.24, f.Score, 0.01)
	require.Equal(t, anomaly.SeverityMedium, f.Severity)
	// Minimum impact below 1 EUR is treated as 1 for the tiers: impact 2.99 -> LOW, 3 -> MEDIUM.
	g := anomaly.Gate{MinImpact: d("0.10")}
	f, _, _ = g.Judge(anomaly.NewZScore(), nil, monday, d("2.99"))
	require.Equal(t, anomaly.SeverityLow, f.Severity)
	f, _, _ = g.Judge(anomaly.NewZScore(), nil, monday, d("3"))
	require.Equal(t, anomaly.SeverityMedium, f.Severity)
}

func TestDeviationPct(t *testing.T) {
	require.Nil(t, anomaly.DeviationPct(decimal.Zero, d("5")))
	requireDec(t, "212.5", *anomaly.DeviationPct(d("40"), d("125")))
	requireDec(t, "33.33", *anomaly.DeviationPct(d("3"), d("4")))
	requireDec(t, "-66.67", *anomaly.DeviationPct(d("3"), d("1")))
}

func TestBudgetAlert(t *testing.T) {
	tn := newTenant()
	now := monday.Add(13 * 3600e9)
	_, ok := anomaly.BudgetAlert(tn, now, d("1000"), d("1000"))
	require.False(t, ok, "at the threshold is not above it")
	_, ok = anomaly.BudgetAlert(tn, now, d("5000"), decimal.Zero)
	require.False(t, ok, "no threshold, no alert")
	a, ok := anomaly.BudgetAlert(tn, now, d("1100.50"), d("1000"))
	require.True(t, ok)
	require.Equal(t, anomaly.KindBudget, a.Kind)
	require.Equal(t, anomaly.ServiceBudget, a.Service)
	require.True(t, a.Day.Equal(monday.AddDate(0, 0, -15)), "first day of the month")
	requireDec(t, "100.50", a.Impact)
	requireDec(t, "10.05", *a.DeviationPct)
	require.Equal(t, anomaly.SeverityMedium, a.Severity)
	require.NoError(t, a.Validate())
	for proj, sev := range map[string]anomaly.Severity{"1099.99": anomaly.SeverityLow, "1249.99": anomaly.SeverityMedium, "1250": anomaly.SeverityHigh, "1500": anomaly.SeverityCritical} {
		a, _ := anomaly.BudgetAlert(tn, now, d(proj), d("1000"))
		require.Equal(t, sev, a.Severity, proj)
	}
}
