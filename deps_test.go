package eusaas_test

import (
	"os/exec"
	"strings"
	"testing"
)

// domainPackages are the modules a team embeds on their own.
var domainPackages = []string{"tenancy", "auth", "billing", "anomaly", "gdpr", "audit"}

// allowedOutside lists the only non-standard-library modules a domain package may depend
// on (transitively): small leaf libraries (DESIGN.md).
var allowedOutside = []string{
	"github.com/eusaas/eusaas", // the root vocabulary (sub-packages are checked below)
	"github.com/google/uuid",
	"github.com/shopspring/decimal",
	"github.com/golang-jwt/jwt/v5",
	"golang.org/x/crypto",
	"golang.org/x/sys",
}

// TestDomainDependencyRule enforces that a domain package never pulls in adapters, drivers,
// the router, Prometheus or another domain package, so embedding billing compiles none of it.
func TestDomainDependencyRule(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, pkg := range domainPackages {
		t.Run(pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "./"+pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list: %v\n%s", err, out)
			}
			for _, dep := range strings.Fields(string(out)) {
				if strings.HasPrefix(dep, "github.com/eusaas/eusaas") {
					rest := strings.TrimPrefix(dep, "github.com/eusaas/eusaas")
					rest = strings.TrimPrefix(rest, "/")
					// The root package and the module's own sub-packages are fine; nothing
					// else of ours (adapters, another module, internal plumbing).
					// jobs is a port-only vocabulary package like the root (standard library only).
					if rest == "" || rest == "jobs" || rest == pkg || strings.HasPrefix(rest, pkg+"/") {
						continue
					}
					t.Errorf("%s depends on %s", pkg, dep)
					continue
				}
				ok := false
				for _, a := range allowedOutside {
					if dep == a || strings.HasPrefix(dep, a+"/") {
						ok = true
						break
					}
				}
				if !ok {
					t.Errorf("%s depends on %s, which is not an allowed leaf library", pkg, dep)
				}
			}
		})
	}
}
