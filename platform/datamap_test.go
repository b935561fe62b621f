package platform_test

import (
	"context"
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
