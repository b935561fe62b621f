package tenancytest

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/tenancy"
)

// CacheHarness builds caches for RunCache.
type CacheHarness struct {
	// NewCache returns a fresh, empty cache whose entries outlive the test.
	NewCache func(t *testing.T) tenancy.Cache
}

// RunCache runs the Cache suite.
func RunCache(t *testing.T, h CacheHarness) {
	ctx := context.Background()

	t.Run("MissThenHit", func(t *testing.T) {
		c := h.NewCache(t)
		a := NewTenant("acme")
		_, ok, err := c.Get(ctx, a.ID)
		require.NoError(t, err)
		require.False(t, ok)
		_, ok, err = c.GetBySlug(ctx, "acme")
		require.NoError(t, err)
		require.False(t, ok)
		require.NoError(t, c.Set(ctx, a))
		got, ok, err := c.Get(ctx, a.ID)
		require.NoError(t, err)
		require.True(t, ok)
		equal(t, a, got)
		got, ok, err = c.GetBySlug(ctx, "acme")
		require.NoError(t, err)
		require.True(t, ok)
		equal(t, a, got)
	})

	t.Run("NeverGoesBackwards", func(t *testing.T) {
		c := h.NewCache(t)
		v1 := NewTenant("acme")
		v2 := v1
		v2.Version, v2.Name = 2, "newer"
		require.NoError(t, c.Set(ctx, v2))
		require.NoError(t, c.Set(ctx, v1), "an older version is ignored, not an error")
		got, ok, err := c.Get(ctx, v1.ID)
		require.NoError(t, err)
		require.True(t, ok)
		equal(t, v2, got)
		v3 := v2
		v3.Version, v3.Status = 3, tenancy.StatusSuspended
		require.NoError(t, c.Set(ctx, v3))
		got, _, err = c.Get(ctx, v1.ID)
		require.NoError(t, err)
		equal(t, v3, got)
	})

	t.Run("Invalidate", func(t *testing.T) {
		c := h.NewCache(t)
		a := NewTenant("acme")
		require.NoError(t, c.Set(ctx, a))
		require.NoError(t, c.Invalidate(ctx, a.ID))
		require.NoError(t, c.Invalidate(ctx, a.ID), "idempotent")
		_, ok, err := c.Get(ctx, a.ID)
		require.NoError(t, err)
		require.False(t, ok)
		_, ok, err = c.GetBySlug(ctx, "acme")
		require.NoError(t, err)
		require.False(t, ok)
		// After invalidation any version may be cached again.
		require.NoError(t, c.Set(ctx, a))
		_, ok, err = c.Get(ctx, a.ID)
		require.NoError(t, err)
		require.True(t, ok)
	})

	t.Run("DeletedNotFoundBySlug", func(t *testing.T) {
		c := h.NewCache(t)
		old := NewTenant("acme")
		require.NoError(t, c.Set(ctx, old))
		old.Status, old.Version = tenancy.StatusDeleted, 2
		require.NoError(t, c.Set(ctx, old))
		got, ok, err := c.Get(ctx, old.ID)
		require.NoError(t, err)
		require.True(t, ok, "the tombstone is cached by id")
		require.Equal(t, tenancy.StatusDeleted, got.Status)
		_, ok, err = c.GetBySlug(ctx, "acme")
		require.NoError(t, err)
		require.False(t, ok, "a deleted tenant's slug does not resolve")
		fresh := NewTenant("acme")
		require.NoError(t, c.Set(ctx, fresh))
		got, ok, err = c.GetBySlug(ctx, "acme")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, fresh.ID, got.ID)
		// Invalidating the old tenant leaves the new holder of the slug alone.
		require.NoError(t, c.Invalidate(ctx, old.ID))
		got, ok, err = c.GetBySlug(ctx, "acme")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, fresh.ID, got.ID)
	})

	t.Run("TenantIsolation", func(t *testing.T) {
		c := h.NewCache(t)
		a, b := NewTenant("tenant-a"), NewTenant("tenant-b")
		require.NoError(t, c.Set(ctx, a))
		_, ok, err := c.Get(ctx, b.ID)
		require.NoError(t, err)
		require.False(t, ok, "B's id never answers with A")
		require.NoError(t, c.Set(ctx, b))
		require.NoError(t, c.Invalidate(ctx, a.ID))
		got, ok, err := c.Get(ctx, b.ID)
		require.NoError(t, err)
		require.True(t, ok, "invalidating A keeps B")
		equal(t, b, got)
		got, ok, err = c.GetBySlug(ctx, "tenant-b")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, b.ID, got.ID)
	})

	t.Run("ContextCanceled", func(t *testing.T) {
		c := h.NewCache(t)
		a := NewTenant("acme")
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		require.Error(t, c.Set(cctx, a))
		_, ok, err := c.Get(ctx, a.ID)
		require.NoError(t, err)
		require.False(t, ok, "nothing cached under a canceled context")
		require.NoError(t, c.Set(ctx, a))
		_, _, err = c.Get(cctx, a.ID)
		require.Error(t, err)
		require.Error(t, c.Invalidate(cctx, a.ID))
		_, ok, err = c.Get(ctx, a.ID)
		require.NoError(t, err)
		require.True(t, ok)
	})

	t.Run("Concurrent", func(t *testing.T) {
		c := h.NewCache(t)
		a := NewTenant("acme")
		const n = 16
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v := a
				v.Version = int64(i + 1)
				if err := c.Set(ctx, v); err != nil {
					t.Errorf("set: %v", err)
				}
				if _, _, err := c.Get(ctx, a.ID); err != nil {
					t.Errorf("get: %v", err)
				}
			}()
		}
		wg.Wait()
		got, ok, err := c.Get(ctx, a.ID)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, int64(n), got.Version, "the highest version wins whatever the order")
	})
}
