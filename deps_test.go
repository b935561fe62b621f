package eusaas_test

import (
	"os/exec"
	"slices"
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
	// audit: the Merkle tree proofs (sumdb/tlog) and signed-note checkpoints (sumdb/note);
	// a leaf library of the Go project that imports only the standard library.
	"golang.org/x/mod",
	// auth: TOTP keys, otpauth:// URLs and codes (ADR 0016); otp's Key.Image pulls in the
	// QR encoder, itself a standard-library-only leaf.
	"github.com/pquerna/otp",
	"github.com/boombuler/barcode",
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

// memoryAdapters are the per-module in-memory reference adapters, each with the domain
// package it serves. An embedder takes the pair together, so the adapter must not widen what
// the domain alone compiles.
var memoryAdapters = []struct{ pkg, domain string }{
	{"tenancy/memtenancy", "tenancy"},
	{"audit/memaudit", "audit"},
	{"jobs/memjobs", "jobs"},
	{"auth/memauth", "auth"},
	{"billing/membilling", "billing"},
	{"anomaly/memanomaly", "anomaly"},
	{"gdpr/memgdpr", "gdpr"},
}

// TestMemoryAdapterDependencyRule enforces that a memory adapter imports only its own domain
// package, the root package, memtx (the shared in-process transaction), the standard library
// and leaf libraries those already compile, and that nothing it pulls in transitively goes
// beyond what its domain and memtx compile: never another domain, an adapter or a driver.
func TestMemoryAdapterDependencyRule(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	const mod = "github.com/eusaas/eusaas"
	for _, m := range memoryAdapters {
		t.Run(m.pkg, func(t *testing.T) {
			// What the pair may compile besides the standard library: the adapter, its
			// domain with the domain's own dependencies (TestDomainDependencyRule bounds
			// those), and memtx with the root package.
			allowed := append(nonStandardDeps(t, "./"+m.domain), nonStandardDeps(t, "./memtx")...)
			allowed = append(allowed, mod+"/"+m.pkg)
			out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, "./"+m.pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list: %v\n%s", err, out)
			}
			for _, imp := range strings.Fields(string(out)) {
				std := !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".")
				ours := strings.HasPrefix(imp, mod+"/") || imp == mod
				direct := []string{mod, mod + "/memtx", mod + "/" + m.domain}
				if std || slices.Contains(direct, imp) || (!ours && slices.Contains(allowed, imp)) {
					continue
				}
				t.Errorf("%s imports %s: a memory adapter imports only its domain, the root package, memtx and their leaf libraries", m.pkg, imp)
			}
			for _, dep := range nonStandardDeps(t, "./"+m.pkg) {
				if !slices.Contains(allowed, dep) {
					t.Errorf("%s depends on %s, which neither %s nor memtx does", m.pkg, dep, m.domain)
				}
			}
		})
	}
}

// nonStandardDeps lists the packages outside the standard library that pkg compiles.
func nonStandardDeps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", pkg, err, out)
	}
	return strings.Fields(string(out))
}
