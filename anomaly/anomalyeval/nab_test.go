package anomalyeval

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestScaledSigmoidAndProbation(t *testing.T) {
	require.InDelta(t, 0.98661, scaledSigmoid(-1), 1e-5)
	require.InDelta(t, 0.84828, scaledSigmoid(-0.5), 1e-5)
	require.InDelta(t, 0, scaledSigmoid(0), 1e-12)
	require.InDelta(t, -0.98661, scaledSigmoid(1), 1e-5)
	require.Equal(t, -1.0, scaledSigmoid(3))
	require.Equal(t, 150, ProbationaryLength(1000))
	require.Equal(t, 750, ProbationaryLength(40000), "capped at 0.15 x 5000")
}

// series of n points, one window [a, b].
func oneWindow(n, a, b int) Corpus {
	s := Series{Name: "x/test.csv", Windows: [][2]int{{a, b}}}
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		s.Times = append(s.Times, t0.Add(time.Duration(i)*5*time.Minute))
		s.Values = append(s.Values, 1)
	}
	return Corpus{Series: []Series{s}, Profiles: DefaultProfiles}
}

func flagAt(n int, idx ...int) [][]float64 {
	sc := make([]float64, n)
	for _, i := range idx {
		sc[i] = 1
	}
	return [][]float64{sc}
}

// Hand computation on 100 points (probation 15) with one window [50, 59]:
//   - detecting point 50 (the window's left edge): sigmoid(-1)/maxTP = 1 -> raw 1, null -1,
//     perfect 1 -> 100;
//   - detecting only 59: position -(59-59+1)/10 = -0.1 -> (2/(1+e^-0.5) - 1)/0.98661 =
//     0.24825 -> 100 * (0.24825 + 1) / 2 = 62.41;
//   - first detection per window: 50 and 55 score like 50 alone;
//   - a false positive at 60 costs 0.11 * scaledSigmoid(1/9) = 0.11 * -0.27087 (standard).
func TestNABScoreHandComputed(t *testing.T) {
	c := oneWindow(100, 50, 59)
	r := Score(c, "d", flagAt(100, 50))
	std := r.Profiles[0]
	require.InDelta(t, 1.0, std.Raw, 1e-9)
	require.InDelta(t, -1.0, std.Null, 1e-9)
	require.InDelta(t, 1.0, std.Perfect, 1e-9)
	require.InDelta(t, 100, std.Score, 1e-9)
	require.Equal(t, 1.0, std.Threshold)
	require.Equal(t, EventCounts{Windows: 1, Detected: 1}, r.Events)

	late := (2/(1+math.Exp(-0.5)) - 1) / scaledSigmoid(-1)
	r = Score(c, "d", flagAt(100, 59))
	require.InDelta(t, late, r.Profiles[0].Raw, 1e-9)
	require.InDelta(t, 100*(late+1)/2, r.Profiles[0].Score, 1e-9)
	require.InDelta(t, 62.41, r.Profiles[0].Score, 0.01)
	// reward_low_FN_rate: null is -2, perfect 1.
	require.InDelta(t, 100*(late+2)/3, r.Profiles[2].Score, 1e-9)

	r = Score(c, "d", flagAt(100, 50, 55))
	require.InDelta(t, 1.0, r.Profiles[0].Raw, 1e-9)

	fp := 0.11 * (2/(1+math.Exp(5.0/9)) - 1)
	r = Score(c, "d", flagAt(100, 50, 60))
	require.InDelta(t, 1+fp, r.Profiles[0].Raw, 1e-9)
	require.Equal(t, EventCounts{Windows: 1, Detected: 1, FalseAlarms: 1}, r.Events)
	p, rc, f1 := r.Events.PRF()
	require.InDelta(t, 0.5, p, 1e-12)
	require.InDelta(t, 1.0, rc, 1e-12)
	require.InDelta(t, 2.0/3, f1, 1e-12)

	// Detections in the probationary period are ignored; before any window an FP costs the
	// full FP weight (position 3.0 -> -1).
	// (Scored at threshold 1; the optimiser itself would prefer detecting nothing.)
	rows := sweep(sweepPoints(c.Series[0], flagAt(100, 5, 20)[0], DefaultProfiles[0], 0), 1, DefaultProfiles[0])
	require.Equal(t, 1.0, rows[1].Threshold)
	require.InDelta(t, -1-0.11, rows[1].Score, 1e-9)
	require.Equal(t, 1, rows[1].FP)
	r = Score(c, "d", flagAt(100, 5, 20))
	require.InDelta(t, -1, r.Profiles[0].Raw, 1e-9)
}

// The threshold is chosen to maximise the score: with scores 0.9 at the window start and
// 0.5 on 30 points outside, the best threshold is 0.9 (the 0.5 points only add FPs).
func TestNABThresholdMaximisesScore(t *testing.T) {
	c := oneWindow(100, 50, 59)
	sc := make([]float64, 100)
	sc[50] = 0.9
	for i := 60; i < 90; i++ {
		sc[i] = 0.5
	}
	r := Score(c, "d", [][]float64{sc})
	require.Equal(t, 0.9, r.Profiles[0].Threshold)
	require.InDelta(t, 100, r.Profiles[0].Score, 1e-9)
	// A detector that never fires scores like the null detector: 0.
	r = Score(c, "d", [][]float64{make([]float64, 100)})
	require.InDelta(t, 0, r.Profiles[0].Score, 1e-9)
}

func TestLoadNABAndWindowedGaussian(t *testing.T) {
	var csv strings.Builder
	csv.WriteString("timestamp,value\n")
	t0 := time.Date(2014, 4, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 900; i++ {
		v := 10 + rng.Float64()
		if i == 800 {
			v = 200
		}
		fmt.Fprintf(&csv, "%s,%g\n", t0.Add(time.Duration(i)*5*time.Minute).Format(nabTime), v)
	}
	w0 := t0.Add(790 * 5 * time.Minute).Format(nabTime)
	w1 := t0.Add(810 * 5 * time.Minute).Format(nabTime)
	fsys := fstest.MapFS{
		"data/cat/s.csv":               {Data: []byte(csv.String())},
		"labels/combined_windows.json": {Data: []byte(`{"cat/s.csv": [["` + w0 + `.000000", "` + w1 + `.000000"]], "cat/missing.csv": []}`)},
		"config/profiles.json":         {Data: []byte(`{"standard": {"CostMatrix": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.11, "tnWeight": 1.0}}}`)},
	}
	c, err := LoadNAB(fsys)
	require.NoError(t, err)
	require.Len(t, c.Series, 1)
	require.Equal(t, [][2]int{{790, 810}}, c.Series[0].Windows)
	require.Len(t, c.Profiles, 1)
	require.Equal(t, 288, c.Series[0].PointsPerDay())

	for _, det := range NABDetectors() {
		scores := Run(c, det)
		r := Score(c, det.Name(), scores)
		require.Equal(t, 1, r.Events.Detected, det.Name())
		require.Zero(t, r.Events.FalseAlarms, det.Name())
		require.Greater(t, r.Profiles[0].Score, 50.0, det.Name())
	}
}

// NAB's windowed Gaussian: 0 for the first point, then 1 - Q(|x - mean| / std) over the
// previous values (population std); std 0 becomes 1e-6.
func TestWindowedGaussianHandComputed(t *testing.T) {
	g := NewNABGaussian()
	g.Reset(1)
	require.Equal(t, 0.0, g.Next(time.Time{}, 10))
	// window {10}: std 0 -> 1e-6; 10 again: z 0 -> 1 - Q(0) = 0.5.
	require.InDelta(t, 0.5, g.Next(time.Time{}, 10), 1e-12)
	// window {10, 10, 12}? No: {10, 10} then 12 -> z = 2e6 -> 1.
	require.Equal(t, 1.0, g.Next(time.Time{}, 12))
	// window {10, 10, 12}: mean 32/3, std sqrt(8/9); 8 -> z = (32/3 - 8) / 0.9428 = 2.8284.
	want := 1 - 0.5*math.Erfc(2.828427/math.Sqrt2)
	require.InDelta(t, want, g.Next(time.Time{}, 8), 1e-6)
	require.InDelta(t, 2.5, GaussianZ(1-0.5*math.Erfc(2.5/math.Sqrt2)), 1e-9)
}
