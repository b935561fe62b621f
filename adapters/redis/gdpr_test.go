package redis_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/redis"
	"github.com/eusaas/eusaas/internal/redistest"
)

func TestTenantPurger(t *testing.T) {
	ctx := context.Background()
	c, prefix := redistest.Client(t)
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
	var keysA []string
	for i := 0; i < 2500; i++ {
		keysA = append(keysA, fmt.Sprintf("%st:{%s}:auth:deny:%d", prefix, a, i))
	}
	keysA = append(keysA, prefix+"t:"+a.String()+":tenant")
	for _, k := range keysA {
		require.NoError(t, c.Set(ctx, k, "x", 0).Err())
	}
	keep := []string{prefix + "t:" + b.String() + ":tenant", prefix + "t:{" + b.String() + "}:auth:x", prefix + "tenancy:slug:acme"}
	for _, k := range keep {
		require.NoError(t, c.Set(ctx, k, "x", 0).Err())
	}
	p := redis.NewTenantPurger(c, prefix)
	require.NoError(t, p.PurgeTenant(ctx, a))
	require.NoError(t, p.PurgeTenant(ctx, a), "idempotent")
	n, err := c.Exists(ctx, keysA...).Result()
	require.NoError(t, err)
	require.Zero(t, n)
	n, err = c.Exists(ctx, keep...).Result()
	require.NoError(t, err)
	require.Equal(t, int64(len(keep)), n, "other tenants' and platform keys stay")
}
