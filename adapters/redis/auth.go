package redis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

// authKey builds "<prefix>t:{tenant}:auth:<rest>", or "<prefix>p:auth:<rest>" for the
// platform (zero tenant).
func authKey(prefix string, tenant eusaas.TenantID, rest string) string {
	if tenant.IsZero() {
		return prefix + "p:auth:" + rest
	}
	return prefix + "t:{" + tenant.String() + "}:auth:" + rest
}

// AuthDenylist is auth.Denylist on Redis: one key per revoked token, expiring when the token
// would have, so the list never outgrows the live tokens. Shared by every replica.
type AuthDenylist struct {
	c      goredis.UniversalClient
	prefix string
}

var _ auth.Denylist = (*AuthDenylist)(nil)

// NewAuthDenylist returns a denylist whose keys start with prefix.
func NewAuthDenylist(c goredis.UniversalClient, prefix string) *AuthDenylist {
	return &AuthDenylist{c: c, prefix: prefix}
}

func (d *AuthDenylist) key(tenant eusaas.TenantID, iss, jti string) string {
	h := sha256.Sum256([]byte(iss))
	return authKey(d.prefix, tenant, "deny:"+hex.EncodeToString(h[:8])+":"+jti)
}

// Deny implements auth.Denylist.
func (d *AuthDenylist) Deny(ctx context.Context, tenant eusaas.TenantID, iss, jti string, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !time.Now().Before(until) {
		return nil // already expired: nothing to remember
	}
	return translate(d.c.SetArgs(ctx, d.key(tenant, iss, jti), "1", goredis.SetArgs{ExpireAt: until}).Err(), "redis")
}

// Denied implements auth.Denylist.
func (d *AuthDenylist) Denied(ctx context.Context, tenant eusaas.TenantID, iss, jti string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	n, err := d.c.Exists(ctx, d.key(tenant, iss, jti)).Result()
	return n > 0, translate(err, "redis")
}

// AuthLimiter is auth.Limiter on Redis: one hash per counter {n, last}, incremented and
// re-expired by one Lua script so concurrent replicas never lose an increment.
type AuthLimiter struct {
	c      goredis.UniversalClient
	prefix string
}

var _ auth.Limiter = (*AuthLimiter)(nil)

// NewAuthLimiter returns a limiter whose keys start with prefix.
func NewAuthLimiter(c goredis.UniversalClient, prefix string) *AuthLimiter {
	return &AuthLimiter{c: c, prefix: prefix}
}

var authRecordFailure = goredis.NewScript(`
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('HSET', KEYS[1], 'last', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return n`)

func (l *AuthLimiter) key(tenant eusaas.TenantID, key string) string {
	return authKey(l.prefix, tenant, "fail:"+key)
}

// RecordFailure implements auth.Limiter. The window runs on the Redis clock (PEXPIRE).
func (l *AuthLimiter) RecordFailure(ctx context.Context, tenant eusaas.TenantID, key string, now time.Time, window time.Duration) (auth.FailureCount, error) {
	if err := ctx.Err(); err != nil {
		return auth.FailureCount{}, err
	}
	ms := max(window.Milliseconds(), 1)
	n, err := authRecordFailure.Run(ctx, l.c, []string{l.key(tenant, key)}, now.UnixMilli(), ms).Int()
	if err != nil {
		return auth.FailureCount{}, translate(err, "redis")
	}
	return auth.FailureCount{Failures: n, Last: time.UnixMilli(now.UnixMilli()).UTC()}, nil
}

// Failures implements auth.Limiter.
func (l *AuthLimiter) Failures(ctx context.Context, tenant eusaas.TenantID, key string, _ time.Time) (auth.FailureCount, error) {
	if err := ctx.Err(); err != nil {
		return auth.FailureCount{}, err
	}
	vals, err := l.c.HMGet(ctx, l.key(tenant, key), "n", "last").Result()
	if err != nil {
		return auth.FailureCount{}, translate(err, "redis")
	}
	var fc auth.FailureCount
	if s, ok := vals[0].(string); ok {
		fc.Failures, _ = strconv.Atoi(s)
	}
	if s, ok := vals[1].(string); ok {
		ms, _ := strconv.ParseInt(s, 10, 64)
		fc.Last = time.UnixMilli(ms).UTC()
	}
	return fc, nil
}

// ResetFailures implements auth.Limiter.
func (l *AuthLimiter) ResetFailures(ctx context.Context, tenant eusaas.TenantID, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return translate(l.c.Del(ctx, l.key(tenant, key)).Err(), "redis")
}
