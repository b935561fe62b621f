package redis

import (
	"context"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/eusaas/eusaas"
)

// RateCounter counts a tenant's requests in fixed windows, shared by every server replica.
type RateCounter struct {
	c      goredis.UniversalClient
	prefix string
}

// NewRateCounter returns a counter writing keys <prefix>t:{<tenant>}:ratelimit.
func NewRateCounter(c goredis.UniversalClient, prefix string) *RateCounter {
	return &RateCounter{c: c, prefix: prefix}
}

// rateHit increments and, on the window's first hit, sets the expiry in the same script, so
// a counter key can never outlive its window (a crash between INCR and EXPIRE would leave a
// key that throttles forever).
var rateHit = goredis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
`)

// Hit counts one request of tenant in the current window and returns the window's count and
// the time until it resets.
func (r *RateCounter) Hit(ctx context.Context, tenant eusaas.TenantID, window time.Duration) (int64, time.Duration, error) {
	key := r.prefix + "t:{" + tenant.String() + "}:ratelimit"
	res, err := rateHit.Run(ctx, r.c, []string{key}, window.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, 0, translate(err, "rate limiter")
	}
	return res[0], time.Duration(res[1]) * time.Millisecond, nil
}
