package anomaly

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
)

// ReplayCache keeps detectors' streaming states between scans, so that a detector whose
// Evaluate replays the whole history (Calibrated) pushes only the days added since the last
// scan: the daily scan of a series then scores one day instead of replaying ninety.
//
// The result is exactly Evaluate's: a state is reused only for a history that starts on the
// same day and whose first n values are the n values the state was built from (checked
// with a fingerprint of their exact amounts, recomputed on every use); any other history
// (a window that moved, a late usage event that changed a past day) is replayed from its
// start, as without the cache. Safe for concurrent use. Memory: one state per tenant and
// series scanned, about 5.5 KiB each with the default window (measured: 320 MiB for 10,000
// tenants x 6 series with 200 days of history); Forget drops a tenant's, Prune the unused
// ones (the scanner prunes after each scan).
type ReplayCache struct {
	mu sync.Mutex
	m  map[replayKey]*replayEntry
	// resumed and replayed count the evaluations that resumed a state and those that
	// replayed the whole history (Stats).
	resumed, replayed atomic.Int64
}

type replayKey struct {
	tenant  eusaas.TenantID
	service string
}

type replayEntry struct {
	mu    sync.Mutex
	first time.Time // the day of history[0]
	n     int       // values pushed
	sum   uint64    // fingerprint of those values
	exact bool      // sum is over the values' micro-units (see fingerprintMicros)
	st    *CalibratedState
	// x and r are the last value scored after the state (the scan's day) and its result:
	// the next day's scan pushes that value first and needs the same result again.
	x      float64
	r      CalibratedResult
	scored bool
	// used is the last day a scan used the entry (Prune); resumed: the last evaluation
	// resumed st rather than replaying.
	used    time.Time
	resumed bool
}

// NewReplayCache returns an empty cache.
func NewReplayCache() *ReplayCache { return &ReplayCache{m: map[replayKey]*replayEntry{}} }

// Forget drops the states of a tenant (e.g. after its erasure).
func (c *ReplayCache) Forget(tenant eusaas.TenantID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.m {
		if k.tenant == tenant {
			delete(c.m, k)
		}
	}
}

// Len is the number of states held.
func (c *ReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// Clone is a deep copy (benchmarks start each scan from the same cached day).
func (c *ReplayCache) Clone() *ReplayCache {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := &ReplayCache{m: make(map[replayKey]*replayEntry, len(c.m))}
	for k, e := range c.m {
		e.mu.Lock() // a scan may be advancing it
		out.m[k] = &replayEntry{first: e.first, n: e.n, sum: e.sum, exact: e.exact, st: e.st.clone(), x: e.x, r: e.r, scored: e.scored, used: e.used}
		e.mu.Unlock()
	}
	return out
}

func (c *ReplayCache) entry(tenant eusaas.TenantID, service string) *replayEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := replayKey{tenant, service}
	e := c.m[k]
	if e == nil {
		e = &replayEntry{}
		c.m[k] = e
	}
	return e
}

// replayer is a detector whose Evaluate is a replay that can resume from a cached state.
type replayer interface {
	evaluateReplay(e *replayEntry, h amounts, day time.Time, actual decimal.Decimal) Evaluation
}

// amounts is a series' history as a scan holds it: n days, in exact micro-units when every
// amount allowed it (micros, nil otherwise), and as decimals, which dec gives (the scan's
// total is summed in micro-units and made decimals only when something asks for them:
// a replay needs them on month starts and in cold start only).
type amounts struct {
	n      int
	micros []int64
	dec    func() []decimal.Decimal
}

func decimalAmounts(h []decimal.Decimal) amounts {
	return amounts{n: len(h), dec: func() []decimal.Decimal { return h }}
}

// maxExactMicros bounds the micro-unit amounts whose float64 is computed from the
// micro-units: below 10^15 it is exactly Float of the decimal (the same rational,
// correctly rounded from exact float64s either way).
const maxExactMicros = 1e15

// float is Float of day i's amount.
func (a amounts) float(i int) float64 {
	if a.micros != nil {
		if m := a.micros[i]; m < maxExactMicros && m > -maxExactMicros {
			return float64(m) / 1e6
		}
	}
	return Float(a.dec()[i])
}

// allZero reports whether every day is zero.
func (a amounts) allZero() bool {
	if a.micros != nil {
		for _, m := range a.micros {
			if m != 0 {
				return false
			}
		}
		return true
	}
	for _, h := range a.dec() {
		if !h.IsZero() {
			return false
		}
	}
	return true
}

// max is the largest day (zero when every day is negative or there is none).
func (a amounts) max() decimal.Decimal {
	if a.micros != nil {
		var m int64
		for _, x := range a.micros {
			m = max(m, x)
		}
		return decimal.New(m, -6)
	}
	maxH := decimal.Zero
	for _, h := range a.dec() {
		if h.GreaterThan(maxH) {
			maxH = h
		}
	}
	return maxH
}

// evaluate is det.Evaluate of h, through the cache when det can resume (the micro-units,
// when h has them, are what the cache fingerprints).
func (c *ReplayCache) evaluate(det Detector, tenant eusaas.TenantID, service string, h amounts, day time.Time, actual decimal.Decimal) Evaluation {
	r, ok := det.(replayer)
	if !ok {
		return det.Evaluate(h.dec(), day, actual)
	}
	if c == nil {
		return r.evaluateReplay(nil, h, day, actual)
	}
	e := c.entry(tenant, service)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.used = day
	ev := r.evaluateReplay(e, h, day, actual)
	if e.resumed {
		c.resumed.Add(1)
	} else {
		c.replayed.Add(1)
	}
	return ev
}

// Stats counts the evaluations since the cache was made: those that resumed a kept state
// and those that replayed the history from its start.
func (c *ReplayCache) Stats() (resumed, replayed int64) {
	return c.resumed.Load(), c.replayed.Load()
}

// Prune drops the states last used for a day before day: those of tenants no longer
// scanned (suspended, deleted) and of series that stopped. The scanner prunes what a week
// of scans has not used.
func (c *ReplayCache) Prune(day time.Time) int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k, e := range c.m {
		e.mu.Lock()
		old := e.used.Before(day)
		e.mu.Unlock()
		if old {
			delete(c.m, k)
			n++
		}
	}
	return n
}

// fingerprint mixes one amount into a running hash of its exponent and the low 64 bits of
// its coefficient (cheap: no conversion; two amounts colliding would have to differ by a
// multiple of 2^64 units of their last digit).
func fingerprint(h uint64, d decimal.Decimal) uint64 {
	return mix64(mix64(h, uint64(d.CoefficientInt64())), uint64(int64(d.Exponent())))
}

// fingerprintMicros mixes one exact micro-unit amount.
func fingerprintMicros(h uint64, m int64) uint64 { return mix64(h, uint64(m)) }

// mix64 folds v into h with one multiplication by an odd constant and a shift (a
// multiply-xorshift step as in SplitMix64): every bit of v reaches the high bits and the
// shift brings them back down, so a changed value changes the hash of every value after it.
// Not a cryptographic hash: a tenant who forged a collision would only confuse the anomaly
// detection of its own series.
func mix64(h, v uint64) uint64 {
	h = (h ^ v) * 0x9e3779b97f4a7c15
	return h ^ h>>31
}

const fingerprintSeed = 14695981039346656037
