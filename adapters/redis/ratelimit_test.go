package redis_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/redis"
	"github.com/eusaas/eusaas/internal/redistest"
)

func TestRateCounter(t *testing.T) {
	client, prefix := redistest.Client(t)
	c := redis.NewRateCounter(client, prefix)
	ctx := context.Background()
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()

	// Concurrent hits from several replicas are all counted, once each.
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := c.Hit(ctx, a, time.Minute)
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	n, reset, err := c.Hit(ctx, a, time.Minute)
	require.NoError(t, err)
	require.EqualValues(t, 51, n)
	require.Greater(t, reset, 50*time.Second)
	require.LessOrEqual(t, reset, time.Minute)

	n, _, err = c.Hit(ctx, b, time.Minute)
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "tenants count apart")

	// The window expires by itself.
	n, _, err = c.Hit(ctx, b, 50*time.Millisecond) // same key: the minute window set above still runs
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	other := eusaas.NewTenantID()
	_, _, err = c.Hit(ctx, other, 50*time.Millisecond)
	require.NoError(t, err)
	time.Sleep(120 * time.Millisecond)
	n, _, err = c.Hit(ctx, other, 50*time.Millisecond)
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "a new window starts after expiry")
}
