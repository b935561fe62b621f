package memory_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/memory"
	"github.com/eusaas/eusaas/memtx"
	"github.com/eusaas/eusaas/tenancy"
	"github.com/eusaas/eusaas/tenancy/tenancytest"
)

func TestConformanceTenantStore(t *testing.T) {
	tenancytest.Run(t, tenancytest.Harness{
		NewStore: func(t *testing.T) (tenancy.Store, eusaas.TxRunner) {
			return memory.NewTenantStore(), memtx.NewTxRunner()
		},
		Features: tenancytest.Features{Transactions: true},
	})
}

func TestConformanceTenantCache(t *testing.T) {
	tenancytest.RunCache(t, tenancytest.CacheHarness{
		NewCache: func(t *testing.T) tenancy.Cache { return memory.NewTenantCache(time.Hour, nil) },
	})
}

func TestTenantCacheExpires(t *testing.T) {
	clock := eusaas.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := memory.NewTenantCache(time.Minute, clock)
	a := tenancytest.NewTenant("acme")
	require.NoError(t, c.Set(t.Context(), a))
	clock.Advance(59 * time.Second)
	_, ok, err := c.Get(t.Context(), a.ID)
	require.NoError(t, err)
	require.True(t, ok)
	clock.Advance(time.Second)
	_, ok, err = c.Get(t.Context(), a.ID)
	require.NoError(t, err)
	require.False(t, ok)
	_, ok, err = c.GetBySlug(t.Context(), "acme")
	require.NoError(t, err)
	require.False(t, ok)
}
