package anomaly

import (
	"math"
	"slices"
	"sort"
)

// Tail turns a series' deviation magnitudes into calibrated tail probabilities: the
// probability, under the series' own past, of a deviation at least this large. A score of
// -log10(p) then means the same on every series (3 is "one in a thousand"), whatever the
// shape of its noise: a series whose ordinary bursts reach 10 sigma has a heavy tail and
// its 10-sigma days score low; a quiet one scores the same 10 sigma high.
//
// Method (peaks over threshold, Siffer et al. 2017, with an exponential tail): with n past
// magnitudes, u their (1 - Q) quantile and beta the median excess over u of the k
// magnitudes above it divided by ln 2 or their mean without the largest, whichever is
// larger (the exponential's scale, estimated without letting one earlier anomaly decide),
//
//	p(z) = (1 + #{past >= z}) / (n + 1)          for z <= u   (empirical)
//	p(z) = (k + 1) / (n + 1) * exp(-(z - u) / beta)   for z > u    (fitted tail)
//
// The +1s are the prior that the scored value itself could be the largest. Beta is at least
// MinBeta (so a series whose past is all tiny cannot call every small step infinitely
// unlikely). With fewer than MinN past magnitudes the tail is that of a deliberately heavy
// Student t with 4 degrees of freedom: cold-start series alert late, not often.
type Tail struct {
	Q       float64 // 0.1: the tail fit uses the top 10%
	MinN    int     // 10
	MinBeta float64 // 0.5 (in the magnitude's units, robust sigmas)
	Keep    int     // how many past magnitudes are kept (oldest dropped first); 0 = all
	sorted  []float64
	order   []float64 // insertion order, for dropping the oldest
}

// NewTail returns the default calibration.
func NewTail(keep int) *Tail { return &Tail{Q: 0.1, MinN: 10, MinBeta: 0.5, Keep: keep} }

func (t *Tail) clone() *Tail {
	c := *t
	c.sorted, c.order = cloneCap(t.sorted), cloneCap(t.order)
	return &c
}

// Reset forgets the past.
func (t *Tail) Reset() { t.sorted, t.order = t.sorted[:0], t.order[:0] }

// Len is the number of past magnitudes.
func (t *Tail) Len() int { return len(t.sorted) }

// Add records a magnitude (|z| >= 0).
func (t *Tail) Add(z float64) {
	if math.IsNaN(z) {
		return
	}
	z = math.Abs(z)
	if t.Keep > 0 && len(t.order) >= t.Keep {
		old := t.order[0]
		t.order = t.order[1:]
		if len(t.order) < cap(t.order)/2 { // compact the ring occasionally
			t.order = append(make([]float64, 0, 2*t.Keep), t.order...)
		}
		i := sort.SearchFloat64s(t.sorted, old)
		t.sorted = slices.Delete(t.sorted, i, i+1)
	}
	if t.Keep > 0 { // the insertion order only matters for dropping the oldest
		t.order = append(t.order, z)
	}
	i := sort.SearchFloat64s(t.sorted, z)
	t.sorted = slices.Insert(t.sorted, i, z)
}

// P is the calibrated probability of a magnitude of at least |z| given the past.
func (t *Tail) P(z float64) float64 { return math.Pow(10, -t.Surprise(z)) }

// Surprise is -log10(P(z)): 2 is one in a hundred, 3 one in a thousand, on every series.
// It is computed in logarithms, so a deviation far beyond the past gets a large finite
// surprise, never +Inf.
func (t *Tail) Surprise(z float64) float64 {
	z = math.Abs(z)
	n := len(t.sorted)
	if n < t.MinN {
		return -math.Log10(studentT4Tail(z))
	}
	ge := n - sort.SearchFloat64s(t.sorted, z) // #{past >= z}
	ui := min(n-1, int(math.Floor((1-t.Q)*float64(n))))
	u := t.sorted[ui]
	if z <= u {
		return -math.Log10(float64(1+ge) / float64(n+1))
	}
	// The excesses over u, in ascending order; beta from their median (median / ln 2 for an
	// exponential) so that one earlier anomaly in the past cannot stretch the tail and hide
	// the next one.
	ex := t.sorted[ui+1:]
	for len(ex) > 0 && ex[0] <= u {
		ex = ex[1:]
	}
	k := len(ex)
	if k > 0 {
		// The exponential starts at the smallest exceedance, not at u: where many past values
		// tie at u (a series the expectation predicts exactly, whose residuals are 0 but for
		// its anomalies), the exceedances are those anomalies alone, and an exponential from u
		// fitted to a few excesses of about the same size had a scale as large as they are, so
		// that a later deviation twice the largest ever seen scored 1.3 (TestTailTiesAtU).
		// Up to the smallest exceedance the empirical rank holds.
		if z <= ex[0] {
			return -math.Log10(float64(1+ge) / float64(n+1))
		}
		u = ex[0]
	}
	beta := t.MinBeta
	if k > 0 {
		med := ex[k/2] - u
		if k%2 == 0 {
			med = (ex[k/2-1]+ex[k/2])/2 - u
		}
		beta = max(beta, med/math.Ln2)
		if k > 1 {
			// With many exceedances the mean (less the single largest) is stable and sees a
			// tail heavier than exponential, which the median does not.
			sum := 0.0
			for _, x := range ex[:k-1] {
				sum += x - u
			}
			beta = max(beta, sum/float64(k-1))
		}
	}
	return -math.Log10(float64(k+1)/float64(n+1)) + (z-u)/(beta*math.Ln10)
}

// studentT4Tail is the two-sided tail P(|T| >= z) of Student's t with 4 degrees of freedom
// (closed form): 1 - (3/4) w (1 - z^2 / (12 (1 + z^2/4))), w = z / sqrt(1 + z^2/4).
func studentT4Tail(z float64) float64 {
	if z > 100 {
		return 6 / (z * z * z * z) // the asymptote, where the closed form cancels to 0
	}
	q := 1 + z*z/4
	return max(1e-300, 1-0.75*z/math.Sqrt(q)*(1-z*z/(12*q)))
}
