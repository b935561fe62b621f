package memauth_test

import (
	"testing"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/auth/authtest"
	"github.com/eusaas/eusaas/auth/memauth"
	"github.com/eusaas/eusaas/memtx"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	t.Run("Stores", func(t *testing.T) {
		t.Parallel()
		authtest.Run(t, authtest.Harness{New: func(t *testing.T) authtest.Stores {
			s := memauth.NewStore()
			return authtest.Stores{Users: s, Operators: s, Sessions: s, Invitations: s, ServiceAccounts: s, PasswordResets: s, EmailVerifications: s, MFA: s, APIKeys: s, SSO: s, Tx: memtx.NewTxRunner(),
				NewTenant: func(*testing.T) eusaas.TenantID { return eusaas.NewTenantID() }}
		}, Features: authtest.Features{TimePrecision: 1}})
	})
	t.Run("SSOStates", func(t *testing.T) {
		t.Parallel()
		authtest.RunSSOStates(t, authtest.SSOStateHarness{New: func(*testing.T) auth.SSOStateStore { return memauth.NewSSOStates() }})
	})
	t.Run("Denylist", func(t *testing.T) {
		t.Parallel()
		authtest.RunDenylist(t, authtest.DenylistHarness{New: func(*testing.T) auth.Denylist {
			return memauth.NewDenylist(eusaas.SystemClock)
		}})
	})
	t.Run("Limiter", func(t *testing.T) {
		t.Parallel()
		authtest.RunLimiter(t, authtest.LimiterHarness{New: func(*testing.T) auth.Limiter {
			return memauth.NewLimiter()
		}})
	})
}
