package billing

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The interval's quantile against Student's t table (two-sided 95%).
func TestT95AgainstTable(t *testing.T) {
	for df, want := range map[int]float64{1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 10: 2.228, 21: 2.080, 30: 2.042, 120: 1.980} {
		got := t95(df).InexactFloat64()
		require.InEpsilon(t, want, got, 0.005, "df %d", df)
	}
	require.True(t, t95(0).Equal(z95), "no spread estimate: the normal quantile")
}
