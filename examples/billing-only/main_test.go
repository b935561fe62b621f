package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)))
	want := `batch 1: accepted 28, duplicates 0, rejected 0
batch 2: accepted 1, duplicates 1, rejected 1
  bucket-a/15: accepted
  node-1/14: duplicate
  gpu-1/15: rejected (unknown resource_type: not a built-in or custom metric)
costs 2026-03-01..2026-03-15:
  CPU              680 vCPU-hour      13.6 EUR
  STORAGE          250 GB-day          2.5 EUR
  API_CALLS     280000 call             28 EUR
  total 44.1 EUR
projection to 2026-03-31 (weekday_profile, 14 days of history): 92.32 EUR, 95% interval 87.49..97.15
`
	require.Equal(t, want, out.String())
}

// goListDeps returns the import paths pkg depends on (itself included).
func goListDeps(t *testing.T, pkg string) map[string]bool {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	require.NoError(t, err, "go list -deps %s", pkg)
	deps := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		deps[p] = true
	}
	return deps
}

const mod = "github.com/eusaas/eusaas/"

var otherModules = []string{mod + "tenancy", mod + "auth", mod + "gdpr", mod + "audit", mod + "anomaly"}

// TestDependencies pins what embedding billing costs: no other module, no driver, router or
// metrics library, with billing's memory stores (billing/membilling) as the only adapter.
func TestDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	t.Run("BillingPackageAlone", func(t *testing.T) {
		deps := goListDeps(t, mod+"billing")
		for _, p := range otherModules {
			require.False(t, deps[p], "billing depends on %s", p)
		}
	})
	t.Run("NoInfrastructure", func(t *testing.T) {
		deps := goListDeps(t, ".")
		for p := range deps {
			for _, banned := range []string{"github.com/jackc/pgx", "github.com/redis/", "github.com/go-chi/", "github.com/danielgtaylor/huma",
				"github.com/prometheus/", "github.com/riverqueue/", "github.com/pressly/goose"} {
				require.False(t, strings.HasPrefix(p, banned), "the example depends on %s", p)
			}
		}
	})
	t.Run("NoDirectImportOfOtherModules", func(t *testing.T) {
		out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".").Output()
		require.NoError(t, err)
		for _, p := range otherModules {
			require.NotContains(t, strings.Fields(string(out)), p)
		}
	})
	t.Run("NoOtherModules", func(t *testing.T) {
		deps := goListDeps(t, ".")
		require.True(t, deps[mod+"billing/membilling"], "the example no longer uses billing/membilling: the check proves nothing")
		for _, p := range otherModules {
			require.False(t, deps[p], "the example depends on %s", p)
		}
		for p := range deps {
			require.False(t, strings.HasPrefix(p, mod+"adapters/"), "the example depends on %s", p)
		}
	})
}
