package anomalyeval

import (
	"math"
	"time"

	"github.com/eusaas/eusaas/anomaly"
)

// CalibratedStream runs anomaly.Calibrated (the scanner's default) point by point. The
// adaptation to minute-level series is like SeasonalStream's: the season is the
// series' day (points per day) instead of the week, 1 to 5 seasonal references, the drift
// view's reference one period (day) back, and the
// absolute sigma floor is 2% of the mean absolute level so far. The score is the unsigned
// surprise -log10(p).
//
// Episodes: the scanner reports consecutive anomalous days of a series as one anomaly (one
// episode, one alert). On minute-level data the same episode spans many points, so the
// stream reports a point only when its surprise exceeds every surprise of the MergeFrac-th of
// a day before it (a quarter of a day); the other points of the episode score 0. Without it
// every point of a burst that stays above NAB's threshold counts as one more false positive
// outside the labelled windows, and the single threshold has to rise over every series to
// pay for the burstiest ones (see docs/anomaly-evaluation.md, "Episodes on NAB").
type CalibratedStream struct {
	C anomaly.Calibrated
	// MergeFrac: a point is reported only when it beats the surprises of the last
	// period/MergeFrac points (4: a quarter of a day); 0 reports every point.
	MergeFrac int
	label     string
	control   bool
	st        *anomaly.CalibratedState
	level     levelTracker
	recent    []float64 // the last period/MergeFrac surprises, oldest first
	merge     int
}

// NewCalibratedStream is the default detector with the NAB adaptation.
func NewCalibratedStream() *CalibratedStream {
	c := anomaly.NewCalibrated()
	c.Seasonal.Refs, c.Seasonal.MinRefs, c.Seasonal.MonthStart = 5, 1, false
	// The drift view's reference: the day before (the production lag of four weeks is four
	// periods, four days on NAB, where the series are often two weeks long).
	c.DriftLag = 1
	c.Seasonal.Floor = anomaly.SigmaFloor{Abs: 1e-9, Rel: c.Seasonal.Floor.Rel}
	return &CalibratedStream{C: c, MergeFrac: 4, label: "calibrated (ours)"}
}

// NewCalibratedEveryPointStream is the previous NAB adaptation, kept as a control: every
// point reported with its own surprise (no episode merge), 1 to 3 seasonal references, the
// drift reference four periods back.
func NewCalibratedEveryPointStream() *CalibratedStream {
	s := NewCalibratedStream()
	s.MergeFrac, s.label, s.control = 0, "calibrated, previous NAB adaptation (control)", true
	s.C.Seasonal.Refs, s.C.DriftLag = 3, anomaly.NewCalibrated().DriftLag
	return s
}

// NewCalibratedLevelStream adds the level view (z against the last 7 periods' mean and std),
// a control: the development NAB categories preferred it, the development synthetic set did
// not, and the default is one detector for both.
func NewCalibratedLevelStream() *CalibratedStream {
	s := NewCalibratedStream()
	s.C.LevelPeriods, s.label, s.control = 7, "calibrated + level view (control)", true
	return s
}

// Name implements StreamDetector; the scanner's default detector is marked "(default)".
func (s *CalibratedStream) Name() string {
	if !s.control && s.C.Name() == anomaly.DefaultDetector().Name() {
		return s.label + " (default)"
	}
	return s.label
}

// Reset implements StreamDetector.
func (s *CalibratedStream) Reset(period int) {
	s.level = levelTracker{}
	c := s.C
	if c.AdoptAfter > 0 {
		// The production rule adopts a run of AdoptAfter days of a 7-day period as a new
		// level: the same fraction of the series' day here.
		c.AdoptAfter = max(1, int(math.Round(float64(c.AdoptAfter*period)/float64(anomaly.NewSeasonal().Period))))
	}
	s.st = c.NewState(period)
	s.recent, s.merge = s.recent[:0], 0
	if s.MergeFrac > 0 {
		s.merge = max(1, period/s.MergeFrac)
	}
}

// Next implements StreamDetector.
func (s *CalibratedStream) Next(_ time.Time, v float64) float64 {
	s.st.SetAbsFloor(s.level.floor())
	s.level.add(v)
	r := s.st.Score(v)
	s.st.PushScored(v, r)
	score := math.Abs(r.Score)
	if s.merge == 0 {
		return score
	}
	prev := 0.0
	for _, x := range s.recent {
		prev = max(prev, x)
	}
	if len(s.recent) == s.merge {
		s.recent = append(s.recent[:0], s.recent[1:]...)
	}
	s.recent = append(s.recent, score)
	if score > prev {
		return score
	}
	return 0 // the same episode as a stronger point in the last period/MergeFrac points
}
