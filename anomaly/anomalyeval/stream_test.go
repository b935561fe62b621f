package anomalyeval

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"
)

func feed(d StreamDetector, period int, vs []float64) []float64 {
	d.Reset(period)
	out := make([]float64, len(vs))
	for i, v := range vs {
		out[i] = d.Next(time.Time{}, v)
	}
	return out
}

// The zscore's window is 7 days of points, as on daily costs. Two points a day: the window
// is 14 points. History 20 x7 then 10 x7, then 15:
//   - 14-point window: mean 15, std 5 -> z = 0;
//   - the previous 7-point adaptation: mean 10, std 0 -> sigma is the floor, max(2% of the
//     mean absolute level so far = 0.02 x 15 = 0.3, 2% of 10) = 0.3 -> z = 5 / 0.3.
func TestZScoreStreamWindowIsSevenDays(t *testing.T) {
	vs := append(slices.Repeat([]float64{20}, 7), slices.Repeat([]float64{10}, 7)...)
	vs = append(vs, 15)
	days := feed(NewZScoreStream(), 2, vs)
	points := feed(NewZScorePointsStream(), 2, vs)
	require.Equal(t, 14, NewZScoreStream().WindowDays*2)
	require.InDelta(t, 0, days[14], 1e-12)
	require.InDelta(t, 5/0.3, points[14], 1e-9)
	// At least 3 points before a score: the first three are 0 whatever the value.
	require.Equal(t, []float64{0, 0, 0}, feed(NewZScoreStream(), 2, []float64{1, 100, 1000, 1})[:3])
	// The window is reset per series: a new period gives a new window.
	z := NewZScoreStream()
	z.Reset(288)
	require.Equal(t, 2016, z.Z.Window)
	z.Reset(24)
	require.Equal(t, 168, z.Z.Window)
}

// 1.2533 x mean absolute deviation from the median, by hand:
// {0,0,0,0,10}: median 0, mean |r| = 2 -> 2.5066; {1,2,3,4}: median 2.5, mean 1 -> 1.2533.
func TestMeanAbsScale(t *testing.T) {
	var buf []float64
	require.InDelta(t, math.Sqrt(math.Pi/2)*2, meanAbsScale([]float64{0, 10, 0, 0, 0}, &buf), 1e-12)
	require.InDelta(t, math.Sqrt(math.Pi/2), meanAbsScale([]float64{4, 1, 3, 2}, &buf), 1e-12)
	require.Zero(t, meanAbsScale(nil, &buf))
	r := []float64{3, 1, 2}
	meanAbsScale(r, &buf)
	require.Equal(t, []float64{3, 1, 2}, r, "the residuals are not reordered")
}

// A series at 1 with a burst of 11 every 5th point, 4 points a "day" (bursts out of phase
// with the day, so the seasonal expectation does not predict them): most residuals are 0, so
// the MAD is 0 and the MAD-only scale falls to the 2% floor: every ordinary burst scores
// above 100. The tail-aware scale sees the bursts (mean |residual| about 2): ordinary bursts
// score about 4, while a novel spike of 1000 still scores in the hundreds.
func TestSeasonalStreamTailScale(t *testing.T) {
	var vs []float64
	for i := 0; i < 200; i++ {
		v := 1.0
		if i%5 == 0 {
			v = 11
		}
		vs = append(vs, v)
	}
	vs = append(vs, 1000)
	tail := feed(NewSeasonalStream(), 4, vs)
	mad := feed(NewSeasonalMADStream(), 4, vs)
	for i := 60; i < 200; i++ {
		require.Less(t, tail[i], 10.0, "point %d", i)
		if i%5 == 0 {
			require.Greater(t, mad[i], 100.0, "point %d", i)
		}
		require.LessOrEqual(t, tail[i], mad[i]+1e-12, "the tail scale is never below the production scale")
	}
	require.Greater(t, tail[200], 100.0)
	// Cold start is unchanged: nothing before two days of points.
	require.Equal(t, make([]float64, 8), tail[:8])
}

// The split scores each half of the corpus on its own; the halves partition the series.
func TestSplitCorpus(t *testing.T) {
	c := Corpus{Profiles: DefaultProfiles}
	for _, n := range []string{"a/x.csv", "b/y.csv", "c/z.csv", "ab/w.csv"} {
		c.Series = append(c.Series, Series{Name: n, Values: []float64{float64(len(c.Series))}})
	}
	in, out := SplitCorpus(c, []string{"a", "c"})
	names := func(k Corpus) (s []string) {
		for _, x := range k.Series {
			s = append(s, x.Name)
		}
		return s
	}
	require.Equal(t, []string{"a/x.csv", "c/z.csv"}, names(in))
	require.Equal(t, []string{"b/y.csv", "ab/w.csv"}, names(out))
	scores := [][]float64{{0}, {1}, {2}, {3}}
	require.Equal(t, [][]float64{{0}, {2}}, subScores(c, in, scores))
	require.Equal(t, [][]float64{{1}, {3}}, subScores(c, out, scores))
}

// Evaluate reports every NAB detector (the previous adaptations as controls) and, when both
// halves exist, the development/held-out split.
func TestEvaluateReportsSplit(t *testing.T) {
	t0 := time.Date(2014, 4, 1, 0, 0, 0, 0, time.UTC)
	mk := func(spike int) []byte {
		var b strings.Builder
		b.WriteString("timestamp,value\n")
		rng := rand.New(rand.NewPCG(uint64(spike), 2))
		for i := 0; i < 900; i++ {
			v := 10 + rng.Float64()
			if i == spike {
				v = 200
			}
			fmt.Fprintf(&b, "%s,%g\n", t0.Add(time.Duration(i)*5*time.Minute).Format(nabTime), v)
		}
		return []byte(b.String())
	}
	win := func(i int) string {
		return `[["` + t0.Add(time.Duration(i-10)*5*time.Minute).Format(nabTime) + `", "` + t0.Add(time.Duration(i+10)*5*time.Minute).Format(nabTime) + `"]]`
	}
	fsys := fstest.MapFS{
		"data/realTraffic/s.csv":       {Data: mk(800)},
		"data/realTweets/t.csv":        {Data: mk(850)},
		"labels/combined_windows.json": {Data: []byte(`{"realTraffic/s.csv": ` + win(800) + `, "realTweets/t.csv": ` + win(850) + `}`)},
	}
	rep, err := Evaluate(context.Background(), Options{NAB: fsys, NABLabel: "tiny", Synth: SynthConfig{Seed: 3, Tenants: 2, Days: 40}})
	require.NoError(t, err)
	require.Len(t, rep.NAB.Split, len(NABDetectors()))
	for _, sp := range rep.NAB.Split {
		require.Equal(t, 1, sp.DevWindows)
		require.Equal(t, 1, sp.HoldWindows)
		require.Equal(t, 1, sp.Dev.Events.Detected, sp.Detector)
		require.Equal(t, 1, sp.Holdout.Events.Detected, sp.Detector)
	}
	md := rep.Markdown()
	require.Contains(t, md, "Development categories (artificialNoAnomaly, realAdExchange, realTraffic; 1 windows)")
	require.Contains(t, md, "| zscore (ours, 7 days before) |")
	require.Contains(t, md, "| calibrated (ours) (default) |", "the scanner's default is marked")
	require.Contains(t, md, "| windowedGaussian, 1000-point sliding window (control) |")
	require.Equal(t, strings.Count(md, "(default)"), strings.Count(md, "| calibrated (ours) (default) |"), "no other row is marked (default)")
}

// TestCalibratedStreamMergesEpisodes: the default's NAB stream reports a point's surprise
// only when it beats every surprise of the last period/4 points, and 0 otherwise (against
// the same stream with the merge off).
func TestCalibratedStreamMergesEpisodes(t *testing.T) {
	const period = 24 // merge window: 6 points
	merged, every := NewCalibratedStream(), NewCalibratedStream()
	every.MergeFrac = 0
	merged.Reset(period)
	every.Reset(period)
	var raw []float64
	reported, zeroed := 0, 0
	for i := range 30 * period {
		v := 100 + 10*math.Sin(2*math.Pi*float64(i)/period) + float64((i*7919)%13)
		if i >= 20*period && i < 20*period+10 {
			v += 80 // a burst: one episode
		}
		r, m := every.Next(time.Time{}, v), merged.Next(time.Time{}, v)
		prev := 0.0
		for _, x := range raw[max(0, len(raw)-6):] {
			prev = max(prev, x)
		}
		if r > prev {
			require.Equal(t, r, m, "point %d", i)
			reported++
		} else {
			require.Zero(t, m, "point %d", i)
			zeroed++
		}
		raw = append(raw, r)
	}
	require.Positive(t, reported)
	require.Positive(t, zeroed)
	require.Contains(t, NewCalibratedEveryPointStream().Name(), "(control)")
	require.Contains(t, NewCalibratedStream().Name(), "(default)")
}
