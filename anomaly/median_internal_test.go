package anomaly

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// medianF (insertion sort up to 8 values, quickselect above) and madF agree with the
// definition on a sorted copy, ties and duplicates included.
func TestMedianMatchesSorted(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 5000 {
		n := 1 + trial%40
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(rng.IntN(1 + trial%7*10)) // many ties when the range is small
		}
		s := slices.Sorted(slices.Values(v))
		want := s[n/2]
		if n%2 == 0 {
			want = (s[n/2-1] + s[n/2]) / 2
		}
		dev := make([]float64, n)
		for i, x := range s {
			dev[i] = max(x-want, want-x)
		}
		slices.Sort(dev)
		wantMAD := dev[n/2]
		if n%2 == 0 {
			wantMAD = (dev[n/2-1] + dev[n/2]) / 2
		}
		if got := medianF(slices.Clone(v)); got != want {
			t.Fatalf("median of %v: %v, want %v", v, got, want)
		}
		if got := madF(slices.Clone(v)); got != wantMAD {
			t.Fatalf("MAD of %v: %v, want %v", v, got, wantMAD)
		}
	}
}
