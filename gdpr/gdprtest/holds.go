package gdprtest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

// RunHolds checks a gdpr.HoldStore (Stores.Holds).
func RunHolds(t *testing.T, h Harness) {
	ctx := context.Background()
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()

	t.Run("LegalHolds", func(t *testing.T) {
		s := h.New(t)
		h1 := gdpr.LegalHold{ID: uuid.NewString(), TenantID: a, Reason: "litigation", CreatedAt: t0, CreatedBy: "op"}
		h2 := gdpr.LegalHold{ID: uuid.NewString(), TenantID: a, Reason: "tax audit", CreatedAt: t0.Add(time.Second), CreatedBy: "op"}
		must(t, s.Holds.PutHold(ctx, h1))
		must(t, s.Holds.PutHold(ctx, h2))
		kindOf(t, s.Holds.PutHold(ctx, h1), eusaas.AlreadyExists)
		got, err := s.Holds.Holds(ctx, a)
		must(t, err)
		diff(t, []gdpr.LegalHold{h1, h2}, got)
		must(t, s.Holds.DeleteHold(ctx, a, h1.ID))
		kindOf(t, s.Holds.DeleteHold(ctx, a, h1.ID), eusaas.NotFound)
		got, err = s.Holds.Holds(ctx, a)
		must(t, err)
		diff(t, []gdpr.LegalHold{h2}, got)
	})

	t.Run("TenantIsolation", func(t *testing.T) {
		s := h.New(t)
		hold := gdpr.LegalHold{ID: uuid.NewString(), TenantID: a, Reason: "x", CreatedAt: t0}
		must(t, s.Holds.PutHold(ctx, hold))
		kindOf(t, s.Holds.DeleteHold(ctx, b, hold.ID), eusaas.NotFound)
		hs, err := s.Holds.Holds(ctx, b)
		must(t, err)
		diff(t, 0, len(hs))
	})

	t.Run("ContextCanceled", func(t *testing.T) {
		s := h.New(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Holds.Holds(cctx, a); err == nil {
			t.Fatal("Holds with a canceled context succeeded")
		}
	})
}
