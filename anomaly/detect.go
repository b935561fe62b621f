package anomaly

import (
	"math"
	"slices"
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// Evaluation is a detector's verdict on one day of one series, before the dual gate.
// Scores are float64 (statistics); Expected is an exact decimal (money).
type Evaluation struct {
	Detector string
	// Ready is false when the series has too little history for a statistical score (cold
	// start); Score and Sigma are then 0 and only the rule-based guards apply.
	Ready    bool
	Score    float64 // signed: (actual - expected) / sigma
	Sigma    float64
	Expected decimal.Decimal
}

// Detector scores one day of a daily series against the days before it.
//
// history holds the series from its first observed day up to and including the day before
// day (history[len-1] is day-1); the scored day's own value is actual and is never part of
// the baseline. Missing days inside the history are zeros. Detectors are pure and safe for
// concurrent use.
type Detector interface {
	Name() string
	// Threshold is the |score| at or above which the statistical half of the gate passes.
	Threshold() float64
	Evaluate(history []decimal.Decimal, day time.Time, actual decimal.Decimal) Evaluation
}

// SigmaFloor keeps a flat (or nearly flat) baseline from turning every cent of change into
// an infinite score: sigma is raised to at least max(Abs, Rel*|expected|).
type SigmaFloor struct {
	Abs float64 // EUR
	Rel float64 // fraction of expected
}

// DefaultSigmaFloor: 1 cent, or 2% of the expected amount.
var DefaultSigmaFloor = SigmaFloor{Abs: 0.01, Rel: 0.02}

func (f SigmaFloor) apply(sigma, expected float64) float64 {
	return max(sigma, f.Abs, f.Rel*math.Abs(expected))
}

// ZScore is the seed rule made able to fire: the baseline is the Window days BEFORE the
// scored day (mean and population standard deviation), at least MinPoints of them, with a
// sigma floor. Inside its own 7-point window a value's |z| can never exceed sqrt(6) = 2.449
// (Samuelson's inequality), so the literal rule with threshold 2.5 never fires.
type ZScore struct {
	Window    int     // 7
	MinPoints int     // 3
	Thresh    float64 // 2.5
	Floor     SigmaFloor
}

// NewZScore returns the seed rule: 2.5 sigma over the 7 days before, at least 3 points.
func NewZScore() ZScore {
	return ZScore{Window: 7, MinPoints: 3, Thresh: 2.5, Floor: DefaultSigmaFloor}
}

// Name implements Detector.
func (z ZScore) Name() string { return "zscore" }

// Threshold implements Detector.
func (z ZScore) Threshold() float64 { return z.Thresh }

// Evaluate implements Detector. Expected is the baseline mean rounded to cents (half away
// from zero).
func (z ZScore) Evaluate(history []decimal.Decimal, _ time.Time, actual decimal.Decimal) Evaluation {
	ev := Evaluation{Detector: z.Name()}
	w := min(z.Window, len(history))
	if w < z.MinPoints || w == 0 {
		ev.Expected = coldExpected(history)
		return ev
	}
	base := history[len(history)-w:]
	sum := decimal.Zero
	fs := make([]float64, w)
	for i, d := range base {
		sum = sum.Add(d)
		fs[i] = d.InexactFloat64()
	}
	ev.Expected = sum.Div(decimal.NewFromInt(int64(w))).Round(2)
	ev.Score, ev.Sigma = z.ScoreFloat(fs, actual.InexactFloat64())
	ev.Ready = true
	return ev
}

// ScoreFloat is the statistical core of Evaluate on float64 values, shared with the
// evaluation harness: it scores x against the last Window values of history.
func (z ZScore) ScoreFloat(history []float64, x float64) (score, sigma float64) {
	w := min(z.Window, len(history))
	if w == 0 {
		return 0, 0
	}
	base := history[len(history)-w:]
	mean, sd := meanStd(base)
	sigma = z.Floor.apply(sd, mean)
	return (x - mean) / sigma, sigma
}

// Seasonal is the robust, weekday-aware detector.
//
// Baseline (Period = 7 days, h = the history, n = len(h)):
//
//	level L0     = median of the Period days before the scored day (h[n-7:n])
//	weekday      e_k = h[n-7k] - median(h[n-7k-7 : n-7k])  for k = 1..Refs, where it exists
//	expected     = L0 + median(e_k)
//
// so the expected value is today's level plus the typical weekday effect of the same weekday
// in recent weeks. On the first day of a month, when the previous month's first day and the
// 7 days after it are in the history, that day's month-start effect (its value minus the
// median of the 7 days after it) replaces the weekday effect: monthly fees are not anomalies. Scale: sigma = 1.4826 * MAD(d) / sqrt(2) over the seasonal
// differences d_j = h[j] - h[j-7] of the last 4 weeks, floored. Medians and MADs are robust:
// one spike in the history moves neither the baseline nor the scale, so it cannot hide the
// next spike (a mean/sigma baseline is inflated by it).
//
// Cold start: with fewer than MinRefs weekday references (history shorter than
// (MinRefs+1)*Period = 21 days) the detector is not Ready and only the rule-based guards of
// the scanner apply.
type Seasonal struct {
	Period     int // 7
	Refs       int // 4 weeks of weekday references at most
	MinRefs    int // 2
	Thresh     float64
	Floor      SigmaFloor
	MonthStart bool // use the previous month's first day on month starts
}

// NewSeasonal returns the default robust seasonal detector (threshold 3.5 robust sigmas).
func NewSeasonal() Seasonal {
	return Seasonal{Period: 7, Refs: 4, MinRefs: 2, Thresh: 3.5, Floor: DefaultSigmaFloor, MonthStart: true}
}

// Name implements Detector.
func (s Seasonal) Name() string { return "seasonal" }

// Threshold implements Detector.
func (s Seasonal) Threshold() float64 { return s.Thresh }

// MinHistory is the number of days of history the detector needs to be Ready.
func (s Seasonal) MinHistory() int { return (s.MinRefs + 1) * s.Period }

// refs returns the reference indices (into history) whose effects form the expected value:
// the same weekday in previous weeks, or the previous month's first day.
func (s Seasonal) refs(n int, day time.Time) []int {
	p := s.Period
	if s.MonthStart && !day.IsZero() && day.Day() == 1 {
		prev := day.AddDate(0, -1, 0)
		back := int(day.Sub(prev).Hours()/24 + 0.5)
		if m := n - back; m >= 0 && m+p < n {
			return []int{-1 - m} // encoded: a month-start reference, level after it
		}
	}
	var out []int
	for k := 1; k <= s.Refs; k++ {
		r := n - k*p
		if r-p < 0 {
			break
		}
		out = append(out, r)
	}
	return out
}

// Evaluate implements Detector.
func (s Seasonal) Evaluate(history []decimal.Decimal, day time.Time, actual decimal.Decimal) Evaluation {
	ev := Evaluation{Detector: s.Name()}
	n := len(history)
	if n < s.MinHistory() {
		ev.Expected = coldExpected(history)
		return ev
	}
	refs := s.refs(n, day)
	p := s.Period
	l0 := medianDec(history[n-p : n])
	effects := make([]decimal.Decimal, len(refs))
	for i, r := range refs {
		r, lo, hi := refWindow(r, p)
		effects[i] = history[r].Sub(medianDec(history[lo:hi]))
	}
	ev.Expected = l0.Add(medianDec(effects))
	fs := make([]float64, n)
	for i, d := range history {
		fs[i] = d.InexactFloat64()
	}
	ev.Score, ev.Sigma = s.scoreWithRefs(fs, actual.InexactFloat64(), refs)
	ev.Ready = true
	return ev
}

// ScoreFloat is the statistical core of Evaluate on float64 values, shared with the
// evaluation harness (which has no calendar, so no month-start rule). ready is false during
// cold start.
func (s Seasonal) ScoreFloat(history []float64, x float64) (score, sigma float64, ready bool) {
	n := len(history)
	if n < s.MinHistory() {
		return 0, 0, false
	}
	score, sigma = s.scoreWithRefs(history, x, s.refs(n, time.Time{}))
	return score, sigma, true
}

func (s Seasonal) scoreWithRefs(h []float64, x float64, refs []int) (score, sigma float64) {
	n, p := len(h), s.Period
	scratch := make([]float64, 0, 4*p)
	l0 := medianF(append(scratch[:0], h[n-p:n]...))
	effects := make([]float64, len(refs))
	for i, r := range refs {
		r, lo, hi := refWindow(r, p)
		effects[i] = h[r] - medianF(append(scratch[:0], h[lo:hi]...))
	}
	expected := l0 + medianF(effects)
	diffs := scratch[:0]
	for j := max(p, n-4*p); j < n; j++ {
		diffs = append(diffs, h[j]-h[j-p])
	}
	sd := 1.4826 * madF(diffs) / math.Sqrt2
	sigma = s.Floor.apply(sd, expected)
	return (x - expected) / sigma, sigma
}

// refWindow decodes a reference from refs: a weekday reference r has its level in the
// Period days before it; a month-start reference (encoded -1-m) has its level in the Period
// days after it, so that it is usable as soon as the previous month's first day is in the
// history.
func refWindow(r, p int) (idx, lo, hi int) {
	if r < 0 {
		m := -1 - r
		return m, m + 1, m + 1 + p
	}
	return r, r - p, r
}

// coldExpected is the expected value reported when no statistical baseline exists: the
// last observed day (0 for a resource with no history).
func coldExpected(h []decimal.Decimal) decimal.Decimal {
	if len(h) == 0 {
		return decimal.Zero
	}
	return h[len(h)-1]
}

var decHalf = decimal.New(5, -1)

// medianDec is the exact median of decimals (the mean of the two middle values for an even
// count: a multiplication by 0.5, which is exact).
func medianDec(v []decimal.Decimal) decimal.Decimal {
	if len(v) == 0 {
		return decimal.Zero
	}
	s := slices.Clone(v)
	sort.Slice(s, func(i, j int) bool { return s[i].LessThan(s[j]) })
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return s[m-1].Add(s[m]).Mul(decHalf)
}

// medianF returns the median of v, reordering v.
func medianF(v []float64) float64 {
	n := len(v)
	if n == 0 {
		return 0
	}
	m := n / 2
	hi := quickselect(v, m)
	if n%2 == 1 {
		return hi
	}
	// After quickselect every element before m is <= v[m]; the lower middle is their max.
	lo := v[0]
	for _, x := range v[1:m] {
		lo = max(lo, x)
	}
	return (lo + hi) / 2
}

// madF is the median absolute deviation from the median; it reorders v.
func madF(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	med := medianF(v)
	for i, x := range v {
		v[i] = math.Abs(x - med)
	}
	return medianF(v)
}

// quickselect puts the k-th smallest element at v[k] with smaller ones before it (Hoare
// partitioning, median-of-three pivot) and returns it. O(n) on average.
func quickselect(v []float64, k int) float64 {
	lo, hi := 0, len(v)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[mid] {
			v[hi], v[mid] = v[mid], v[hi]
		}
		pivot := v[mid]
		i, j := lo, hi
		for i <= j {
			for v[i] < pivot {
				i++
			}
			for v[j] > pivot {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
}

func meanStd(v []float64) (mean, sd float64) {
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
