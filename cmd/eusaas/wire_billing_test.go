package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/httpapi/httpapitest"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/jobs"
	"github.com/eusaas/eusaas/memtx"
)

// TestWireBillingMemory wires billing on the memory stores and checks the routes answer
// and that tenant-scoped requests are metered as API_CALLS (flushed when the App closes).
func TestWireBillingMemory(t *testing.T) {
	h := httpapitest.New(t)
	a := &App{log: slog.New(slog.DiscardHandler), memTx: memtx.NewTxRunner(), server: h.Server}
	a.tx = a.memTx
	a.jobs = newJobRuntime(nil, eusaas.SystemClock)
	tn := h.NewTenant()
	svc, err := a.wireBilling(context.Background(), billingDeps{
		Tenants: func(context.Context) ([]eusaas.TenantID, error) { return []eusaas.TenantID{tn}, nil },
	})
	require.NoError(t, err)
	viewer, _ := h.User(tn, auth.RoleViewer)
	for i := 0; i < 3; i++ {
		r := h.Do(http.MethodGet, "/api/v1/tenants/"+tn.String()+"/costs/current", nil, viewer)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	}
	ts := time.Now().UTC().Format(time.RFC3339)
	r := h.Do(http.MethodPost, "/api/v1/tenants/"+tn.String()+"/usage",
		fmt.Sprintf(`{"events":[{"id":"e","resource_type":"CPU","quantity":"2","timestamp":%q}]}`, ts), h.Service())
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	doc := h.Do(http.MethodGet, "/openapi.json", nil, "")
	require.Equal(t, http.StatusOK, doc.Status)
	for _, p := range []string{"/api/v1/tenants/{id}/usage", "/api/v1/tenants/{id}/costs/projection", "/api/v1/tenants/{id}/invoices/{inv_id}"} {
		require.Contains(t, string(doc.Body), p)
	}
	a.Close() // stops the loops after a final flush
	today := billing.Day(time.Now())
	b, err := svc.Costs(context.Background(), tn, today.AddDate(0, 0, -1), today.AddDate(0, 0, 1), billing.ByResource)
	require.NoError(t, err)
	got := map[billing.ResourceType]string{}
	for _, l := range b.Lines {
		got[l.Service] = l.Quantity.String()
	}
	require.Equal(t, map[billing.ResourceType]string{billing.CPU: "2", billing.APICalls: "4"}, got)

	// Maintenance runs as a periodic job on the queue.
	var names []string
	for _, p := range a.jobs.Registry.Periodics() {
		names = append(names, p.Name)
	}
	require.Contains(t, names, "billing.maintenance")
	h2, ok := a.jobs.Registry.Handler("billing.maintenance")
	require.True(t, ok)
	require.NoError(t, h2(context.Background(), jobs.Job{Kind: "billing.maintenance"}))
}
