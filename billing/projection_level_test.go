package billing

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// TestLevelDrift: four weeks at 10, 17, 24, 31 a day move 7 a week, so with no noise the
// random walk's variance per day is 7^2 / 7 = 7; a steady level gives 0, and noise of the
// size that explains the weekly changes on its own gives 0 too.
func TestLevelDrift(t *testing.T) {
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	var hist []time.Time
	rising, steady := map[time.Time]decimal.Decimal{}, map[time.Time]decimal.Decimal{}
	for i := range 28 {
		d := start.AddDate(0, 0, i)
		hist = append(hist, d)
		rising[d] = decimal.NewFromInt(int64(10 + 7*(i/7)))
		steady[d] = decimal.NewFromInt(10)
	}
	require.Equal(t, "7", levelDrift(hist, rising, decimal.Zero).String())
	require.True(t, levelDrift(hist, steady, decimal.Zero).IsZero())
	// 2 sd^2 / 7 >= 49 when sd^2 >= 171.5: the weekly changes are all noise.
	require.True(t, levelDrift(hist, rising, sqrt(decimal.RequireFromString("171.6"))).IsZero())
	require.True(t, levelDrift(hist[:20], rising, decimal.Zero).IsZero(), "fewer than three weeks")
}

// TestLevelSpread: two remaining days at distances 14 and 15 from the history's centre:
// min(14,14) + min(14,15) + min(15,14) + min(15,15) = 57; half of today left weighs the first
// day by 0.5: 0.25 x 14 + 2 x 0.5 x 14 + 15 = 32.5.
func TestLevelSpread(t *testing.T) {
	today := time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC)
	pe := time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
	require.Equal(t, "57", levelSpread(28, decimal.NewFromInt(1), today, pe).String())
	require.Equal(t, "32.5", levelSpread(28, decimal.RequireFromString("0.5"), today, pe).String())
}
