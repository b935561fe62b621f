package anomalyeval

import (
	"math"
	"time"

	"github.com/eusaas/eusaas/anomaly"
)

// StreamDetector scores a series point by point in streaming order: Next sees each value
// once, after every earlier one, and never a later one (no look-ahead). Higher scores are
// more anomalous; NAB chooses the threshold.
type StreamDetector interface {
	Name() string
	// Reset starts a new series; period is the number of points per day of that series.
	Reset(period int)
	Next(t time.Time, v float64) float64
}

// WindowedGaussian is NAB's windowed Gaussian baseline (nab/detectors/gaussian): the score
// of a value is 1 - Q(|x - mean| / std) over a sliding window of the previous WindowSize
// values (mean and population std, std 0 replaced by 1e-6), 0 for the first value; the
// window slides by one value per step.
type WindowedGaussian struct {
	WindowSize int // 1000 in NAB
	window     []float64
	mean, std  float64
}

// NewWindowedGaussian returns NAB's configuration.
func NewWindowedGaussian() *WindowedGaussian { return &WindowedGaussian{WindowSize: 1000} }

// Name implements StreamDetector.
func (g *WindowedGaussian) Name() string { return "windowedGaussian (NAB baseline)" }

// Reset implements StreamDetector.
func (g *WindowedGaussian) Reset(int) { g.window, g.mean, g.std = g.window[:0], 0, 1 }

// Next implements StreamDetector.
func (g *WindowedGaussian) Next(_ time.Time, v float64) float64 {
	score := 0.0
	if len(g.window) > 0 {
		score = 1 - normalTail(v, g.mean, g.std)
	}
	if len(g.window) < g.WindowSize {
		g.window = append(g.window, v)
	} else {
		copy(g.window, g.window[1:])
		g.window[len(g.window)-1] = v
	}
	g.mean, g.std = meanStd(g.window)
	if g.std == 0 {
		g.std = 0.000001
	}
	return score
}

// nabScore maps a z score to the scale NAB's windowed Gaussian uses, 1 - Q(|z|), so that the
// detectors' scores (and thresholds) are on one scale. It is monotone in |z|.
func nabScore(z float64) float64 { return 1 - 0.5*math.Erfc(math.Abs(z)/math.Sqrt2) }

// normalTail is nupic's normalProbability: the probability of a sample further from the
// mean than x on its side, Q(|x - mean| / std).
func normalTail(x, mean, std float64) float64 {
	if x < mean {
		x = 2*mean - x
	}
	z := (x - mean) / std
	return 0.5 * math.Erfc(z/math.Sqrt2)
}

func meanStd(v []float64) (mean, std float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(v)))
}

// ZScoreStream runs anomaly.ZScore's scoring core point by point: z against the Window
// points before, reported as 1 - Q(|z|); 0 until MinPoints exist.
type ZScoreStream struct {
	Z    anomaly.ZScore
	hist []float64
}

// NewZScoreStream uses the production rule (7 points before, at least 3). On NAB there is no
// money, so the sigma floor is relative only (2% of the mean) with a tiny absolute part.
func NewZScoreStream() *ZScoreStream {
	z := anomaly.NewZScore()
	z.Floor = anomaly.SigmaFloor{Abs: 1e-9, Rel: z.Floor.Rel}
	return &ZScoreStream{Z: z}
}

// Name implements StreamDetector.
func (s *ZScoreStream) Name() string { return "zscore (ours, 7 before)" }

// Reset implements StreamDetector.
func (s *ZScoreStream) Reset(int) { s.hist = s.hist[:0] }

// Next implements StreamDetector.
func (s *ZScoreStream) Next(_ time.Time, v float64) float64 {
	score := 0.0
	if len(s.hist) >= s.Z.MinPoints {
		z, _ := s.Z.ScoreFloat(s.hist, v)
		score = nabScore(z)
	}
	s.hist = append(s.hist, v)
	if len(s.hist) > 4*s.Z.Window {
		s.hist = append(s.hist[:0], s.hist[len(s.hist)-s.Z.Window:]...)
	}
	return score
}

// SeasonalStream runs anomaly.Seasonal's core point by point with the series' daily period
// (points per day) in place of the 7-day week: on daily cost data the season is the week,
// on NAB's minute-level data it is the day. The residuals the scale is computed from are
// kept as the stream goes (each point's residual is computed once, when it is scored, from
// the points before it), which is what Seasonal.Evaluate recomputes from scratch.
type SeasonalStream struct {
	S       anomaly.Seasonal
	base    anomaly.Seasonal
	hist    []float64
	res     []float64
	scratch []float64
}

// NewSeasonalStream: 3 references at most, 1 at least (NAB series are often two weeks
// long), relative sigma floor only.
func NewSeasonalStream() *SeasonalStream {
	s := anomaly.NewSeasonal()
	s.Refs, s.MinRefs, s.MonthStart = 3, 1, false
	s.Floor = anomaly.SigmaFloor{Abs: 1e-9, Rel: s.Floor.Rel}
	return &SeasonalStream{base: s}
}

// Name implements StreamDetector.
func (s *SeasonalStream) Name() string { return "seasonal (ours, robust)" }

// Reset implements StreamDetector.
func (s *SeasonalStream) Reset(period int) {
	s.S = s.base
	s.S.Period = max(period, 1)
	s.hist, s.res = s.hist[:0], s.res[:0]
}

// Next implements StreamDetector.
func (s *SeasonalStream) Next(_ time.Time, v float64) float64 {
	p := s.S.Period
	keep := (s.S.Refs + 1) * p
	score := 0.0
	if e, ok := s.S.ExpectedFloat(s.hist, s.scratch); ok {
		sigma := s.S.SigmaFromResiduals(s.res[max(0, len(s.res)-4*p):], s.hist, e)
		score = nabScore((v - e) / sigma)
		s.res = append(s.res, v-e)
		if len(s.res) > 8*p {
			s.res = append(s.res[:0], s.res[len(s.res)-4*p:]...)
		}
	}
	s.hist = append(s.hist, v)
	if len(s.hist) > 2*keep {
		s.hist = append(s.hist[:0], s.hist[len(s.hist)-keep:]...)
	}
	return score
}
