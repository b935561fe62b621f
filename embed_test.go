package eusaas_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// heavyModules are what an embedder of one domain module must never see in go.mod or go.sum:
// drivers, the router and OpenAPI stack, metrics, the job queue, migrations, test containers.
var heavyModules = []string{
	"github.com/jackc/pgx", "github.com/pressly/goose", "github.com/riverqueue/river", "github.com/redis/go-redis",
	"github.com/danielgtaylor/huma", "github.com/go-chi/chi", "github.com/prometheus/", "github.com/swaggest/",
	"github.com/testcontainers/", "github.com/docker/", "github.com/moby/", "github.com/spf13/cobra",
	"go.opentelemetry.io/",
}

// embedders are programs a Go team would write with one module and its memory adapter.
var embedders = map[string]struct {
	domain string // the only eusaas domain package it may compile
	src    string
}{
	"billing": {"billing", `package main

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/membilling"
)

func main() {
	ctx := context.Background()
	usage, invoices, prices := membilling.NewUsageStore(), membilling.NewInvoiceStore(), membilling.NewPriceStore()
	svc, err := billing.NewService(billing.Deps{Usage: usage, Invoices: invoices, Prices: prices}, billing.Options{})
	if err != nil {
		panic(err)
	}
	tenant := eusaas.NewTenantID()
	now := time.Now().UTC()
	if _, err := svc.Ingest(ctx, tenant, []billing.UsageEvent{{ID: "e1", ResourceType: billing.CPU, Quantity: decimal.NewFromInt(10), Timestamp: now}}); err != nil {
		panic(err)
	}
	b, err := svc.Costs(ctx, tenant, billing.Day(now), billing.Day(now), billing.ByResource)
	if err != nil {
		panic(err)
	}
	fmt.Println(b.Total.String())
}
`},
	"audit": {"audit", `package main

import (
	"context"
	"fmt"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/audit/memaudit"
)

func main() {
	ctx := context.Background()
	store := memaudit.NewStore()
	svc, err := audit.NewService(audit.Deps{Store: store, Keys: store}, audit.Options{})
	if err != nil {
		panic(err)
	}
	tenant := eusaas.NewTenantID()
	if err := svc.Record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: "HELLO"}); err != nil {
		panic(err)
	}
	r, err := svc.Verify(ctx, tenant)
	if err != nil {
		panic(err)
	}
	fmt.Println(r.OK)
}
`},
	"tenancy": {"tenancy", `package main

import (
	"context"
	"fmt"

	"github.com/eusaas/eusaas/tenancy"
	"github.com/eusaas/eusaas/tenancy/memtenancy"
)

func main() {
	ctx := context.Background()
	svc, err := tenancy.NewService(tenancy.Deps{Store: memtenancy.NewStore(), Provisioner: memtenancy.NewProvisioner(1)}, tenancy.Options{})
	if err != nil {
		panic(err)
	}
	res, err := svc.Create(ctx, tenancy.CreateInput{Name: "Acme", Slug: "acme", AdminEmail: "owner@acme.example"})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Tenant.Status)
}
`},
}

// TestEmbedOneModule plays a Go team embedding one module: a fresh module outside the
// repository (a replace points at this checkout) imports a domain package and its memory
// adapter, builds and runs; `go list -deps` names no other eusaas domain package, and after
// `go mod tidy` neither go.mod nor go.sum lists a heavy module. It needs the module proxy
// (or a warm module cache) for the few leaf libraries.
func TestEmbedOneModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fresh modules with the go command")
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for name, e := range embedders {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			write := func(file, text string) {
				if err := os.WriteFile(filepath.Join(dir, file), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write("go.mod", "module example.com/embedder\n\ngo 1.26.0\n\nrequire github.com/eusaas/eusaas v0.0.0-00010101000000-000000000000\n\nreplace github.com/eusaas/eusaas => "+root+"\n")
			write("main.go", e.src)
			run := func(args ...string) string {
				cmd := exec.Command("go", args...)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				return string(out)
			}
			run("mod", "tidy")
			if out := run("run", "."); strings.TrimSpace(out) == "" {
				t.Fatal("the program printed nothing")
			}
			for _, dep := range strings.Fields(run("list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".")) {
				rest, ours := strings.CutPrefix(dep, "github.com/eusaas/eusaas/")
				if !ours {
					continue
				}
				top := strings.Split(rest, "/")[0]
				for _, d := range domainPackages {
					if top == d && d != e.domain {
						t.Errorf("embedding %s compiles %s", e.domain, dep)
					}
				}
			}
			for _, file := range []string{"go.mod", "go.sum"} {
				b, err := os.ReadFile(filepath.Join(dir, file))
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				mods := map[string]bool{}
				for _, l := range strings.Split(string(b), "\n") {
					if f := strings.Fields(l); len(f) > 0 {
						mods[f[0]] = true
						for _, h := range heavyModules {
							if strings.HasPrefix(f[0], h) {
								t.Errorf("%s lists %s", file, f[0])
							}
						}
					}
				}
				if file == "go.sum" {
					t.Logf("embedding %s: go.sum lists %d modules", e.domain, len(mods))
				}
			}
		})
	}
}
