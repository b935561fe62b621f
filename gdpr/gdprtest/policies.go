package gdprtest

import (
	"context"
	"testing"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

// RunPolicies checks a gdpr.PolicyStore (Stores.Policies).
func RunPolicies(t *testing.T, h Harness) {
	ctx := context.Background()
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()

	t.Run("Policy", func(t *testing.T) {
		s := h.New(t)
		_, err := s.Policies.Policy(ctx, a)
		kindOf(t, err, eusaas.NotFound)
		p := gdpr.DefaultPolicy(a)
		p.UpdatedAt, p.UpdatedBy = t0, "u1"
		must(t, s.Policies.PutPolicy(ctx, p))
		p.PIIRetentionDays = 10
		must(t, s.Policies.PutPolicy(ctx, p))
		got, err := s.Policies.Policy(ctx, a)
		must(t, err)
		diff(t, p, got)
	})

	t.Run("TenantIsolation", func(t *testing.T) {
		s := h.New(t)
		must(t, s.Policies.PutPolicy(ctx, gdpr.DefaultPolicy(a)))
		_, err := s.Policies.Policy(ctx, b)
		kindOf(t, err, eusaas.NotFound)
	})
}
