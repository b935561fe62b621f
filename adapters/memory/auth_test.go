package memory_test

import (
	"testing"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/memory"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/auth/authtest"
	"github.com/eusaas/eusaas/memtx"
)

func TestConformanceAuth(t *testing.T) {
	t.Parallel()
	authtest.Run(t, authtest.Harness{New: func(t *testing.T) authtest.Stores {
		s := memory.NewAuthStore()
		return authtest.Stores{Users: s, Operators: s, Sessions: s, Invitations: s, ServiceAccounts: s, Tx: memtx.NewTxRunner(),
			NewTenant: func(*testing.T) eusaas.TenantID { return eusaas.NewTenantID() }}
	}, Features: authtest.Features{TimePrecision: 1}})
}

func TestConformanceAuthDenylist(t *testing.T) {
	t.Parallel()
	authtest.RunDenylist(t, authtest.DenylistHarness{New: func(*testing.T) auth.Denylist {
		return memory.NewAuthDenylist(eusaas.SystemClock)
	}})
}

func TestConformanceAuthLimiter(t *testing.T) {
	t.Parallel()
	authtest.RunLimiter(t, authtest.LimiterHarness{New: func(*testing.T) auth.Limiter {
		return memory.NewAuthLimiter()
	}})
}
