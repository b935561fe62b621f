package platform_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/platform"
	"github.com/eusaas/eusaas/tenancy"
)

// TestDataMapCoversEveryTenantTable fails when a module adds a tenant table the data map
// (and so the Art. 30 record) does not list.
func TestDataMapCoversEveryTenantTable(t *testing.T) {
	ctx := context.Background()
	p, _ := newPlatform(t)
	res, err := p.Tenancy.Create(ctx, tenancy.CreateInput{Name: "Acme", Slug: "acme-map", AdminEmail: "owner@example.com"})
	require.NoError(t, err)
	listed := map[string]bool{}
	for _, e := range platform.DataMap {
		require.NotEmpty(t, e.Purpose, e.Store)
		require.NotEmpty(t, e.Retention, e.Store)
		require.NotEmpty(t, e.Erasure, e.Store)
		listed[e.Store] = true
	}
	ptables, err := p.GDPR.TenantTables(ctx, res.Tenant.ID)
	require.NoError(t, err)
	for _, tb := range ptables {
		require.True(t, listed[tb.Name], "tenant table %s holds data but has no data map entry (platform/datamap.go)", tb.Name)
	}
	require.NotEmpty(t, ptables)

	rec := p.GDPR.RecordsOfProcessing("")
	require.Equal(t, len(platform.DataMap), len(rec.Categories))
	md := rec.Markdown()
	require.True(t, strings.HasPrefix(md, "# Record of processing activities (GDPR Art. 30(2))"))
	require.Contains(t, md, "| auth | `auth_users` |")
}

var updatePersonalData = flag.Bool("update-personal-data", false, "rewrite docs/personal-data.md from platform.DataMap")

// TestPersonalDataDoc keeps docs/personal-data.md in step with the data map it is generated
// from (go test ./platform -run TestPersonalDataDoc -update-personal-data rewrites it).
func TestPersonalDataDoc(t *testing.T) {
	var b strings.Builder
	b.WriteString("# Where personal data is stored\n\n")
	b.WriteString("Generated from `platform.DataMap` (platform/datamap.go) by\n`go test ./platform -run TestPersonalDataDoc -update-personal-data`; the test fails when\nthis file and the map differ, and `TestDataMapCoversEveryTenantTable` when a tenant table is\nmissing from the map. The same map is the Art. 30(2) record (`GET /api/v1/gdpr/records-of-processing`).\n\n")
	b.WriteString("| Module | Store | Personal data | Data subjects | Purpose | Retention | Erasure |\n|---|---|---|---|---|---|---|\n")
	cell := strings.NewReplacer("|", `\|`, "\n", " ").Replace
	for _, e := range platform.DataMap {
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s | %s | %s |\n", cell(e.Module), cell(e.Store), cell(strings.Join(e.DataCategories, ", ")),
			cell(strings.Join(e.SubjectCategories, ", ")), cell(e.Purpose), cell(e.Retention), cell(e.Erasure))
	}
	path := filepath.Join("..", "docs", "personal-data.md")
	if *updatePersonalData {
		require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	}
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, b.String(), string(got), "docs/personal-data.md is stale: run go test ./platform -run TestPersonalDataDoc -update-personal-data")
}
