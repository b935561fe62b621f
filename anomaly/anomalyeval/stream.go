package anomalyeval

import (
	"math"
	"sort"
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

// GaussianZStream is NAB's windowed Gaussian model (NABGaussian) scoring |z| instead of
// 1 - Q(|z|): a control showing what the saturation of 1 - Q at 1.0 costs.
type GaussianZStream struct{ g *NABGaussian }

// NewGaussianZStream uses NAB's window (6400, step 100).
func NewGaussianZStream() *GaussianZStream { return &GaussianZStream{g: NewNABGaussian()} }

// Name implements StreamDetector.
func (s *GaussianZStream) Name() string { return "windowedGaussian, unsaturated |z| (control)" }

// Reset implements StreamDetector.
func (s *GaussianZStream) Reset(p int) { s.g.Reset(p) }

// Next implements StreamDetector.
func (s *GaussianZStream) Next(t time.Time, v float64) float64 {
	score := 0.0
	if len(s.g.window) > 0 {
		score = math.Abs(v-s.g.mean) / s.g.std
	}
	s.g.Next(t, v)
	return score
}

// ZScoreStream runs anomaly.ZScore's scoring core point by point: |z| against the points
// of the WindowDays days before (WindowDays x the series' points per day), the production
// rule's time semantics: on daily costs its 7-point window is 7 days, so on a 5-minute NAB
// series it is 2016 points, not 7 (7 points there are a 35-minute baseline whose std says
// nothing about the series' spread). MinPoints stays a number of points: it is the smallest
// sample a standard deviation is taken from, not a span of time, and 3 days of points would
// outlast NAB's probationary period on two-week series. Score 0 until MinPoints exist.
//
// Our detectors report |z| itself, not NAB's 1 - Q(|z|): in float64 that saturates at 1.0
// for every |z| above about 8.3, so all large deviations tie and NAB's single threshold
// cannot separate them. The windowed Gaussian baseline keeps NAB's saturating score, as NAB
// defines it; GaussianZStream is the same model with the unsaturated |z|, as a control.
type ZScoreStream struct {
	Z          anomaly.ZScore // Window is set from WindowDays by Reset
	WindowDays int            // 7; 0 means Z.Window points whatever the sampling
	label      string
	hist       []float64
	level      levelTracker
}

// NewZScoreStream uses the production rule (7 days before, at least 3 points). On NAB there
// is no money, so the sigma floor is relative only (2% of the mean) with a tiny absolute
// part.
func NewZScoreStream() *ZScoreStream {
	z := anomaly.NewZScore()
	z.Floor = anomaly.SigmaFloor{Abs: 1e-9, Rel: z.Floor.Rel}
	return &ZScoreStream{Z: z, WindowDays: z.Window, label: "zscore (ours, 7 days before)"}
}

// NewZScorePointsStream is the previous NAB adaptation, kept as a control: a window of 7
// points whatever the sampling interval.
func NewZScorePointsStream() *ZScoreStream {
	s := NewZScoreStream()
	s.WindowDays, s.label = 0, "zscore, 7 points before (previous adaptation)"
	return s
}

// Name implements StreamDetector.
func (s *ZScoreStream) Name() string { return s.label }

// Reset implements StreamDetector.
func (s *ZScoreStream) Reset(period int) {
	s.hist, s.level = s.hist[:0], levelTracker{}
	if s.WindowDays > 0 {
		s.Z.Window = s.WindowDays * max(period, 1)
	}
}

// Next implements StreamDetector.
func (s *ZScoreStream) Next(_ time.Time, v float64) float64 {
	score := 0.0
	s.Z.Floor.Abs = s.level.floor()
	s.level.add(v)
	if len(s.hist) >= s.Z.MinPoints {
		z, _ := s.Z.ScoreFloat(s.hist, v)
		score = math.Abs(z)
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
//
// Scale: with TailScale (the NAB adaptation) sigma is the larger of the production scale
// (1.4826 x MAD of the residuals, its fallback and floor) and 1.2533 x the mean absolute
// deviation of the same residuals from their median (both estimate sigma for Gaussian
// residuals). NAB sweeps ONE threshold over all series, so |z| has to mean the same on each
// of them. The MAD alone ignores the tails: on a series that is flat most of the time with
// recurring bursts (more than half of the residuals 0) it is 0, sigma falls to the 2% floor
// and every ordinary burst scores in the thousands; NAB's best single threshold then has to
// sit above those, which silences the detector on every other series. The mean absolute
// deviation sees the bursts. On daily costs the production detector keeps the MAD (its
// threshold of 5 was calibrated with it, and the dual gate handles small series).
type SeasonalStream struct {
	S         anomaly.Seasonal
	TailScale bool
	label     string
	base      anomaly.Seasonal
	hist      []float64
	res       []float64
	scratch   []float64
	buf       []float64
	level     levelTracker
}

// NewSeasonalStream: 3 references at most, 1 at least (NAB series are often two weeks
// long), relative sigma floor only, tail-aware scale.
func NewSeasonalStream() *SeasonalStream {
	s := anomaly.NewSeasonal()
	s.Refs, s.MinRefs, s.MonthStart = 3, 1, false
	s.Floor = anomaly.SigmaFloor{Abs: 1e-9, Rel: s.Floor.Rel}
	return &SeasonalStream{base: s, TailScale: true, label: "seasonal (ours, robust)"}
}

// NewSeasonalMADStream is the previous NAB adaptation, kept as a control: the production
// MAD scale only.
func NewSeasonalMADStream() *SeasonalStream {
	s := NewSeasonalStream()
	s.TailScale, s.label = false, "seasonal, MAD scale only (previous adaptation)"
	return s
}

// Name implements StreamDetector.
func (s *SeasonalStream) Name() string { return s.label }

// Reset implements StreamDetector.
func (s *SeasonalStream) Reset(period int) {
	s.S = s.base
	s.S.Period = max(period, 1)
	s.hist, s.res, s.level = s.hist[:0], s.res[:0], levelTracker{}
}

// Next implements StreamDetector.
func (s *SeasonalStream) Next(_ time.Time, v float64) float64 {
	p := s.S.Period
	keep := (s.S.Refs + 1) * p
	score := 0.0
	s.S.Floor.Abs = s.level.floor()
	s.level.add(v)
	if e, ok := s.S.ExpectedFloat(s.hist, s.scratch); ok {
		res := s.res[max(0, len(s.res)-4*p):]
		sigma := s.S.SigmaFromResiduals(res, s.hist, e)
		if s.TailScale && len(res) >= p {
			sigma = max(sigma, meanAbsScale(res, &s.buf))
		}
		score = math.Abs(v-e) / sigma
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

// meanAbsScale is 1.2533 (sqrt(pi/2)) x the mean absolute deviation of r from its median:
// sigma for Gaussian r, like 1.4826 x MAD, but moved by the tails. buf is scratch space.
func meanAbsScale(r []float64, buf *[]float64) float64 {
	if len(r) == 0 {
		return 0
	}
	c := append((*buf)[:0], r...)
	*buf = c
	sort.Float64s(c)
	n := len(c)
	med := c[n/2]
	if n%2 == 0 {
		med = (c[n/2-1] + c[n/2]) / 2
	}
	var sum float64
	for _, x := range r {
		sum += math.Abs(x - med)
	}
	return math.Sqrt(math.Pi/2) * sum / float64(n)
}

// levelTracker is the mean absolute value of a series so far. NAB series have no currency,
// so the detectors' absolute sigma floor (1 cent on costs) becomes 2% of the series' mean
// absolute level up to the previous point (streaming, no look-ahead): without it a flat
// stretch at 0 gives sigma ~0 and scores of 1e10 that swamp every other series under NAB's
// single threshold.
type levelTracker struct {
	sum float64
	n   int
}

func (l *levelTracker) add(v float64) { l.sum += math.Abs(v); l.n++ }

func (l levelTracker) floor() float64 {
	if l.n == 0 {
		return 1e-9
	}
	return max(1e-9, 0.02*l.sum/float64(l.n))
}
