package redis_test

import (
	"testing"

	"github.com/eusaas/eusaas/adapters/redis"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/auth/authtest"
	"github.com/eusaas/eusaas/internal/redistest"
)

func TestConformanceAuthDenylist(t *testing.T) {
	t.Parallel()
	authtest.RunDenylist(t, authtest.DenylistHarness{New: func(t *testing.T) auth.Denylist {
		c, prefix := redistest.Client(t)
		return redis.NewAuthDenylist(c, prefix)
	}})
}

func TestConformanceAuthLimiter(t *testing.T) {
	t.Parallel()
	authtest.RunLimiter(t, authtest.LimiterHarness{New: func(t *testing.T) auth.Limiter {
		c, prefix := redistest.Client(t)
		return redis.NewAuthLimiter(c, prefix)
	}})
}
