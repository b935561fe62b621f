package anomaly

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
)

// The cache changes the cost, never the result: scored day by day through a ReplayCache, a
// series with spikes, a surge, month-start fees and a past day changed late (a late usage
// event) gets exactly Evaluate's scores; a history starting on another day is replayed.
func TestReplayCacheMatchesEvaluate(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var vals []decimal.Decimal
	for i := range 120 {
		v := 100 * math.Exp(0.05*rng.NormFloat64())
		if start.AddDate(0, 0, i).Day() == 1 {
			v += 400
		}
		if i == 60 || (i >= 80 && i < 83) {
			v *= 4
		}
		vals = append(vals, decimal.NewFromFloat(v).Round(2))
	}
	det := NewCalibrated()
	cache := NewReplayCache()
	tn := eusaas.NewTenantID()
	// The scanner's form of the same amounts: exact micro-units, decimals made on demand.
	micros := func(v []decimal.Decimal) amounts {
		m := make([]int64, len(v))
		for i, d := range v {
			m[i] = d.Shift(6).IntPart()
		}
		return amounts{n: len(v), micros: m, dec: func() []decimal.Decimal { return v }}
	}
	for i := 1; i < len(vals); i++ {
		if i == 90 {
			vals[70] = vals[70].Add(decimal.NewFromInt(50)) // a late event on a past day
		}
		day := start.AddDate(0, 0, i)
		want := det.Evaluate(vals[:i], day, vals[i])
		got := cache.evaluate(det, tn, "CPU", decimalAmounts(vals[:i]), day, vals[i])
		require.Equal(t, want, got, "day %d", i)
		// A re-scan of the same day gives the same answer again.
		require.Equal(t, want, cache.evaluate(det, tn, "CPU", decimalAmounts(vals[:i]), day, vals[i]), "re-scan of day %d", i)
		// In micro-units, as the scanner holds them: the same floats, the same answer.
		require.Equal(t, want, cache.evaluate(det, tn, "NET", micros(vals[:i]), day, vals[i]), "micro-units, day %d", i)
		// A window that moved (the history starts later) is replayed, not resumed.
		if i > 40 {
			w := det.Evaluate(vals[i-40:i], day, vals[i])
			require.Equal(t, w, cache.evaluate(det, tn, "MEM", decimalAmounts(vals[i-40:i]), day, vals[i]), "moved window, day %d", i)
		}
	}
	resumed, replayed := cache.Stats()
	require.Greater(t, resumed, 3*replayed, "resumed %d, replayed %d", resumed, replayed)
	require.Equal(t, 3, cache.Len())
	c2 := cache.Clone()
	cache.Forget(tn)
	require.Zero(t, cache.Len())
	require.Equal(t, 3, c2.Len())
}
