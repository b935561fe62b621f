package memtenancy_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/memtx"
	"github.com/eusaas/eusaas/tenancy"
	"github.com/eusaas/eusaas/tenancy/memtenancy"
	"github.com/eusaas/eusaas/tenancy/tenancytest"
)

// TestConformance runs every tenancy suite against the memory adapter: the store (with
// memtx transactions), the cache and the provisioner.
func TestConformance(t *testing.T) {
	t.Run("Store", func(t *testing.T) {
		tenancytest.Run(t, tenancytest.Harness{
			NewStore: func(t *testing.T) (tenancy.Store, eusaas.TxRunner) {
				return memtenancy.NewStore(), memtx.NewTxRunner()
			},
			Features: tenancytest.Features{Transactions: true},
		})
	})
	t.Run("Cache", func(t *testing.T) {
		tenancytest.RunCache(t, tenancytest.CacheHarness{
			NewCache: func(t *testing.T) tenancy.Cache { return memtenancy.NewCache(time.Hour, nil) },
		})
	})
	t.Run("Provisioner", func(t *testing.T) {
		const latest = 7
		tenancytest.RunProvisioner(t, tenancytest.ProvisionerHarness{
			New: func(t *testing.T) tenancytest.ProvisionerEnv {
				p := memtenancy.NewProvisioner(latest)
				// The memory provisioner is its own storage: asking it is observing the schema.
				return tenancytest.ProvisionerEnv{
					Provisioner: p,
					Exists: func(_ context.Context, id eusaas.TenantID) (bool, error) {
						_, ok := p.SchemaVersion(id)
						return ok, nil
					},
					Version: func(_ context.Context, id eusaas.TenantID) (int, bool, error) {
						v, ok := p.SchemaVersion(id)
						return v, ok, nil
					},
					Latest: latest,
				}
			},
		})
	})
}

func TestCacheExpires(t *testing.T) {
	clock := eusaas.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := memtenancy.NewCache(time.Minute, clock)
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
