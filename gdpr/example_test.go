package gdpr_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"strings"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/gdpr/memgdpr"
	"github.com/eusaas/eusaas/jobs"
	"github.com/eusaas/eusaas/jobs/memjobs"
	"github.com/eusaas/eusaas/memtx"
)

// Example wires the module on the memory adapters, exports a tenant through the in-process
// job runner and verifies the archive offline.
func Example() {
	ctx := context.Background()
	tenant := eusaas.NewTenantID()

	// Tenant data: any eusaas.DataSource (every module's memory store is one); here a
	// generic table set.
	tables := memgdpr.NewTables()
	tables.Define(gdpr.Table{Name: "users", Columns: []string{"id", "email"}, SubjectColumn: "id"})
	if err := tables.Insert(tenant, "users", map[string]any{"id": "u1", "email": "ada@example.eu"}); err != nil {
		panic(err)
	}

	reg := jobs.NewRegistry()
	runner := memjobs.NewRunner(reg, memjobs.Options{})
	store, archives := memgdpr.NewStore(), memgdpr.NewArchives()
	_, key, _ := ed25519.GenerateKey(nil)
	svc, err := gdpr.NewService(gdpr.Deps{Tx: memtx.NewTxRunner(), Requests: store, Policies: store, Holds: store, Keys: store, Archives: archives,
		Data: memgdpr.NewTenantData(tables), Queue: runner}, gdpr.Options{SigningKey: key, BaseURL: "https://api.example.eu"})
	if err != nil {
		panic(err)
	}
	svc.RegisterJobs(reg)

	r, _ := svc.RequestExport(ctx, tenant, gdpr.ExportRequest{Format: gdpr.FormatCSV})
	runner.WorkAvailable(ctx)
	r, _ = svc.Request(ctx, tenant, gdpr.KindExport, r.ID)
	fmt.Println(r.Status, strings.HasPrefix(svc.DownloadURL(r), "https://api.example.eu/api/v1/gdpr/downloads/"))

	rc, n, _ := archives.Open(ctx, r.Archive)
	body, _ := io.ReadAll(rc)
	res, err := gdpr.VerifyArchive(bytes.NewReader(body), n, svc.PublicKey())
	fmt.Println(err, res.Manifest.Files[0].Name, res.Manifest.Files[0].Rows)
	// Output:
	// COMPLETED true
	// <nil> data/users.csv 1
}
