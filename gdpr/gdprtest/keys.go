package gdprtest

import (
	"bytes"
	"context"
	"testing"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

// RunKeys checks a gdpr.KeyStore (Stores.Keys).
func RunKeys(t *testing.T, h Harness) {
	ctx := context.Background()
	a := eusaas.NewTenantID()

	t.Run("Lifecycle", func(t *testing.T) {
		s := h.New(t)
		_, err := s.Keys.Key(ctx, a)
		kindOf(t, err, eusaas.NotFound)
		k := gdpr.Key{TenantID: a, Material: bytes.Repeat([]byte{7}, 32), CreatedAt: t0, DestroyAfter: t0.AddDate(0, 0, 30)}
		must(t, s.Keys.CreateKey(ctx, k))
		kindOf(t, s.Keys.CreateKey(ctx, k), eusaas.AlreadyExists)
		got, err := s.Keys.Key(ctx, a)
		must(t, err)
		diff(t, k, got)
		due, err := s.Keys.DueKeys(ctx, t0.AddDate(0, 0, 29))
		must(t, err)
		diff(t, 0, len(due))
		due, err = s.Keys.DueKeys(ctx, t0.AddDate(0, 0, 30))
		must(t, err)
		diff(t, []eusaas.TenantID{a}, due)
		must(t, s.Keys.DestroyKey(ctx, a, t0.AddDate(0, 0, 31)))
		must(t, s.Keys.DestroyKey(ctx, a, t0.AddDate(0, 0, 32)))
		got, err = s.Keys.Key(ctx, a)
		must(t, err)
		if got.Material != nil || !got.DestroyedAt.Equal(t0.AddDate(0, 0, 31)) {
			t.Fatalf("destroyed key: %+v", got)
		}
		due, err = s.Keys.DueKeys(ctx, t0.AddDate(1, 0, 0))
		must(t, err)
		diff(t, 0, len(due))
	})

	t.Run("ContextCanceled", func(t *testing.T) {
		s := h.New(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Keys.Key(cctx, a); err == nil {
			t.Fatal("Key with a canceled context succeeded")
		}
	})
}
