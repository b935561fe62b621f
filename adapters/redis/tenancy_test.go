package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/adapters/redis"
	"github.com/eusaas/eusaas/internal/redistest"
	"github.com/eusaas/eusaas/tenancy"
	"github.com/eusaas/eusaas/tenancy/tenancytest"
)

func TestConformanceTenantCache(t *testing.T) {
	t.Parallel()
	tenancytest.RunCache(t, tenancytest.CacheHarness{
		NewCache: func(t *testing.T) tenancy.Cache {
			c, prefix := redistest.Client(t)
			return redis.NewTenantCache(c, redis.TenantCacheOptions{Prefix: prefix, TTL: time.Minute})
		},
	})
}

// Keys carry the prefix and the tenant, and expire.
func TestTenantCacheKeysAndTTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, prefix := redistest.Client(t)
	cache := redis.NewTenantCache(c, redis.TenantCacheOptions{Prefix: prefix, TTL: 90 * time.Second})
	a := tenancytest.NewTenant("acme")
	require.NoError(t, cache.Set(ctx, a))
	for _, k := range []string{prefix + "t:" + a.ID.String() + ":tenant", prefix + "tenancy:slug:acme"} {
		ttl, err := c.PTTL(ctx, k).Result()
		require.NoError(t, err)
		require.Greater(t, ttl, 80*time.Second, k)
		require.LessOrEqual(t, ttl, 90*time.Second, k)
	}
	// A corrupt entry is a miss, not an error.
	require.NoError(t, c.HSet(ctx, prefix+"t:"+a.ID.String()+":tenant", "d", "{not json").Err())
	_, ok, err := cache.Get(ctx, a.ID)
	require.NoError(t, err)
	require.False(t, ok)
}
