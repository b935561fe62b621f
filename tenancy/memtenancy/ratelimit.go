package memtenancy

import (
	"context"
	"sync"
	"time"

	"github.com/eusaas/eusaas"
)

// RateCounter counts a tenant's requests in fixed windows, in process (one replica only):
// the server holds each tenant to its settings.api_rate_limit with it.
type RateCounter struct {
	clock eusaas.Clock
	mu    sync.Mutex
	w     map[eusaas.TenantID]rateWindow
}

type rateWindow struct {
	n     int64
	reset time.Time
}

// NewRateCounter returns a counter on clock (eusaas.SystemClock when nil).
func NewRateCounter(clock eusaas.Clock) *RateCounter {
	if clock == nil {
		clock = eusaas.SystemClock
	}
	return &RateCounter{clock: clock, w: map[eusaas.TenantID]rateWindow{}}
}

// Hit counts one request of tenant in the current window and returns the window's count and
// the time until it resets. Expired windows are dropped as they are met, so the map holds at
// most one entry per tenant that made a request.
func (r *RateCounter) Hit(ctx context.Context, tenant eusaas.TenantID, window time.Duration) (int64, time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.w[tenant]
	if !now.Before(w.reset) {
		w = rateWindow{reset: now.Add(window)}
	}
	w.n++
	r.w[tenant] = w
	return w.n, w.reset.Sub(now), nil
}
