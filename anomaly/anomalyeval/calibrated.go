package anomalyeval

import (
	"math"
	"time"

	"github.com/eusaas/eusaas/anomaly"
)

// CalibratedStream runs anomaly.Calibrated (the scanner's default) point by point. The
// adaptation to minute-level series is the same as SeasonalStream's: the season is the
// series' day (points per day) instead of the week, 1 to 3 seasonal references, and the
// absolute sigma floor is 2% of the mean absolute level so far. The score is the unsigned
// surprise -log10(p).
type CalibratedStream struct {
	C       anomaly.Calibrated
	label   string
	control bool
	st      *anomaly.CalibratedState
	level   levelTracker
}

// NewCalibratedStream is the default detector with the NAB adaptation.
func NewCalibratedStream() *CalibratedStream {
	c := anomaly.NewCalibrated()
	c.Seasonal.Refs, c.Seasonal.MinRefs, c.Seasonal.MonthStart = 3, 1, false
	c.Seasonal.Floor = anomaly.SigmaFloor{Abs: 1e-9, Rel: c.Seasonal.Floor.Rel}
	return &CalibratedStream{C: c, label: "calibrated (ours)"}
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
	s.st = s.C.NewState(period)
}

// Next implements StreamDetector.
func (s *CalibratedStream) Next(_ time.Time, v float64) float64 {
	s.st.SetAbsFloor(s.level.floor())
	s.level.add(v)
	r := s.st.Score(v)
	s.st.PushScored(v, r)
	return math.Abs(r.Score)
}
