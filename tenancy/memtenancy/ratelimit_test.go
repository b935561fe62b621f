package memtenancy_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/tenancy/memtenancy"
)

func TestRateCounterWindows(t *testing.T) {
	clock := eusaas.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := memtenancy.NewRateCounter(clock)
	ctx := context.Background()
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
	for i := int64(1); i <= 3; i++ {
		n, reset, err := c.Hit(ctx, a, time.Minute)
		require.NoError(t, err)
		require.Equal(t, i, n)
		require.Equal(t, time.Minute, reset)
	}
	n, _, err := c.Hit(ctx, b, time.Minute)
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "tenants count apart")
	clock.Advance(59 * time.Second)
	n, reset, err := c.Hit(ctx, a, time.Minute)
	require.NoError(t, err)
	require.EqualValues(t, 4, n)
	require.Equal(t, time.Second, reset)
	clock.Advance(time.Second)
	n, _, err = c.Hit(ctx, a, time.Minute)
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "a new window starts")

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err = c.Hit(canceled, a, time.Minute)
	require.ErrorIs(t, err, context.Canceled)
}
