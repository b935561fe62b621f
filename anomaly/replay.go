package anomaly

import (
	"sync"
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
// with a fingerprint of their float64 values, recomputed on every use); any other history
// (a window that moved, a late usage event that changed a past day) is replayed from its
// start, as without the cache. Safe for concurrent use. Memory: one state per tenant and
// series scanned (a few KiB each); Forget drops a tenant's.
type ReplayCache struct {
	mu sync.Mutex
	m  map[replayKey]*replayEntry
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
		out.m[k] = &replayEntry{first: e.first, n: e.n, sum: e.sum, exact: e.exact, st: e.st.clone()}
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
	evaluateReplay(e *replayEntry, history []decimal.Decimal, micros []int64, day time.Time, actual decimal.Decimal) Evaluation
}

// evaluate is det.Evaluate, through the cache when det can resume. micros, when not nil,
// are history's values in exact micro-units (the scanner has them), fingerprinted instead of
// the decimals.
func (c *ReplayCache) evaluate(det Detector, tenant eusaas.TenantID, service string, history []decimal.Decimal, micros []int64, day time.Time, actual decimal.Decimal) Evaluation {
	r, ok := det.(replayer)
	if c == nil || !ok {
		return det.Evaluate(history, day, actual)
	}
	e := c.entry(tenant, service)
	e.mu.Lock()
	defer e.mu.Unlock()
	return r.evaluateReplay(e, history, micros, day, actual)
}

// fingerprint mixes one amount into a running FNV-1a-style hash of its exponent and the low
// 64 bits of its coefficient (cheap: no conversion; two amounts colliding would have to
// differ by a multiple of 2^64 units of their last digit).
func fingerprint(h uint64, d decimal.Decimal) uint64 {
	for _, b := range [2]uint64{uint64(d.CoefficientInt64()), uint64(int64(d.Exponent()))} {
		for range 8 {
			h ^= b & 0xff
			h *= 1099511628211
			b >>= 8
		}
	}
	return h
}

// fingerprintMicros mixes one exact micro-unit amount.
func fingerprintMicros(h uint64, m int64) uint64 {
	b := uint64(m)
	for range 8 {
		h ^= b & 0xff
		h *= 1099511628211
		b >>= 8
	}
	return h
}

const fingerprintSeed = 14695981039346656037
