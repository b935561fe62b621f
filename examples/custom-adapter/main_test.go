package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/tenancy"
	"github.com/eusaas/eusaas/tenancy/tenancytest"
)

// TestConformance is the adapter author's proof: the same suite the memory and Redis caches
// pass.
func TestConformance(t *testing.T) {
	tenancytest.RunCache(t, tenancytest.CacheHarness{
		NewCache: func(t *testing.T) tenancy.Cache {
			c, err := NewFileCache(t.TempDir())
			require.NoError(t, err)
			return c
		},
	})
}

func TestRun(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, t.TempDir()))
	require.Equal(t, `resolved acme: ACTIVE, cached: true (version 3)
after suspend the cache holds: SUSPENDED (version 4)
after purge cached: false, files left: 0
`, out.String())
}
