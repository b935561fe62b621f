package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/jobs"
	"github.com/eusaas/eusaas/tenancy"
)

// TestWireBillingMemory: billing's routes answer, tenant-scoped requests are metered as
// API_CALLS (flushed when the App closes), and maintenance is a periodic job on the queue.
func TestWireBillingMemory(t *testing.T) {
	ctx := context.Background()
	a := newTestApp(t, nil)
	p := a.platform
	res := a.createActive(t, tenancy.CreateInput{Name: "Acme", Slug: "acme-billing", AdminEmail: "owner@acme.example"})
	tn := res.Tenant.ID
	_, err := p.Auth.Register(ctx, auth.RegisterInput{TenantIDOrSlug: tn.String(), Email: "owner@acme.example",
		Password: "Correct-Horse-9", FullName: "Olga", InvitationToken: res.Invitation.Token})
	require.NoError(t, err)
	pair, err := p.Auth.Login(ctx, auth.LoginInput{TenantIDOrSlug: tn.String(), Email: "owner@acme.example", Password: "Correct-Horse-9"})
	require.NoError(t, err)
	srv := httptest.NewServer(a.server.Handler())
	defer srv.Close()
	for range 3 {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/tenants/"+tn.String()+"/costs/current", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+pair.AccessToken)
		r, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		r.Body.Close()
		require.Equal(t, http.StatusOK, r.StatusCode)
	}
	ir, err := p.Billing.Ingest(ctx, tn, []billing.UsageEvent{{ID: "e", ResourceType: billing.CPU, Quantity: decimal.NewFromInt(2), Timestamp: time.Now().UTC()}})
	require.NoError(t, err)
	require.Equal(t, 1, ir.Accepted)

	// Maintenance runs as a periodic job on the queue.
	var names []string
	for _, per := range a.Jobs().Periodics() {
		names = append(names, per.Name)
	}
	require.Contains(t, names, "billing.maintenance")
	h, ok := a.Jobs().Handler("billing.maintenance")
	require.True(t, ok)
	require.NoError(t, h(ctx, jobs.Job{Kind: "billing.maintenance"}))

	a.Close() // stops the meter after a final flush
	today := billing.Day(time.Now())
	b, err := p.Billing.Costs(ctx, tn, today.AddDate(0, 0, -1), today.AddDate(0, 0, 1), billing.ByResource)
	require.NoError(t, err)
	got := map[billing.ResourceType]string{}
	for _, l := range b.Lines {
		got[l.Service] = l.Quantity.String()
	}
	require.Equal(t, map[billing.ResourceType]string{billing.CPU: "2", billing.APICalls: "3"}, got)
}
