package httpapi_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/adapters/httpapi/httpapitest"
	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/anomaly/anomalytest"
	"github.com/eusaas/eusaas/anomaly/memanomaly"
	"github.com/eusaas/eusaas/auth"
)

type anomalyPage struct {
	Items      []httpapi.AnomalyBody `json:"items"`
	Pagination httpapi.Pagination    `json:"pagination"`
}

func newAnomalyServer(t *testing.T) (*httpapitest.Harness, *memanomaly.Store) {
	h := httpapitest.New(t)
	store := memanomaly.NewStore()
	svc, err := anomaly.NewService(anomaly.Deps{Store: store}, anomaly.Options{Clock: eusaas.NewFakeClock(time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC))})
	require.NoError(t, err)
	httpapi.RegisterAnomaly(h.Server, svc)
	return h, store
}

func TestAnomalyListFiltersAndPages(t *testing.T) {
	ctx := context.Background()
	h, store := newAnomalyServer(t)
	a := h.NewTenant()
	var ids []uuid.UUID
	for d := 0; d < 5; d++ {
		x := anomalytest.Sample(a, "CPU", d)
		if d%2 == 0 {
			x.Severity = anomaly.SeverityLow
		}
		_, _, err := store.Insert(ctx, x)
		require.NoError(t, err)
		ids = append(ids, x.ID)
	}
	ns := anomalytest.Sample(a, "NETWORK", 9)
	ns.Kind, ns.Expected, ns.DeviationPct, ns.Impact = anomaly.KindNewSpend, decimal.Zero, nil, decimal.RequireFromString("12.5")
	_, _, err := store.Insert(ctx, ns)
	require.NoError(t, err)
	_, err = store.Acknowledge(ctx, a, ids[1], "u-1", time.Now())
	require.NoError(t, err)

	viewer, _ := h.User(a, auth.RoleViewer)
	base := "/api/v1/tenants/" + a.String() + "/anomalies"
	r := h.Do("GET", base, nil, viewer)
	require.Equal(t, 200, r.Status, string(r.Body))
	var p anomalyPage
	r.JSON(t, &p)
	require.Equal(t, 6, p.Pagination.TotalItems)
	require.Equal(t, 20, p.Pagination.PageSize)
	first := p.Items[0]
	require.Equal(t, ns.ID.String(), first.ID, "newest day first")
	require.Nil(t, first.DeviationPct, "new spend has no deviation")
	require.Equal(t, "0", first.ExpectedAmount)
	require.Equal(t, "12.5", first.ImpactAmount)
	require.Equal(t, "2026-03-10", first.Day)
	cpu := p.Items[1]
	require.Equal(t, "125.00000001", cpu.ActualAmount, "exact decimal strings")
	require.Equal(t, "212.35", *cpu.DeviationPct)
	require.Len(t, cpu.Contributions, 2)
	require.Equal(t, "97.5", *cpu.Contributions[0].SharePct)
	require.Nil(t, cpu.Contributions[1].SharePct)
	require.Contains(t, string(r.Body), `"deviation_pct":null`)
	require.Contains(t, string(r.Body), `"acknowledged_by":null`)
	// Every field of SPEC.md's anomaly is present on every item.
	var raw struct {
		Items []map[string]json.RawMessage `json:"items"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &raw))
	for _, it := range raw.Items {
		for _, k := range []string{"id", "tenant_id", "detected_at", "severity", "service", "expected_amount", "actual_amount",
			"deviation_pct", "description", "acknowledged", "acknowledged_by"} {
			require.Contains(t, it, k)
		}
	}

	r = h.Do("GET", base+"?severity=LOW", nil, viewer)
	require.Equal(t, 200, r.Status)
	r.JSON(t, &p)
	require.Equal(t, 3, p.Pagination.TotalItems)
	r = h.Do("GET", base+"?acknowledged=true", nil, viewer)
	r.JSON(t, &p)
	require.Equal(t, 1, p.Pagination.TotalItems)
	require.Equal(t, "u-1", *p.Items[0].AcknowledgedBy)
	r = h.Do("GET", base+"?acknowledged=false&severity=HIGH", nil, viewer)
	r.JSON(t, &p)
	require.Equal(t, 2, p.Pagination.TotalItems, "HIGH: days 1 and 3; day 1 is acknowledged; NETWORK is HIGH too")
	r = h.Do("GET", base+"?page=2&page_size=4", nil, viewer)
	r.JSON(t, &p)
	require.Len(t, p.Items, 2)
	require.Equal(t, 2, p.Pagination.TotalPages)

	require.Equal(t, 422, h.Do("GET", base+"?severity=SEVERE", nil, viewer).Status)
	require.Equal(t, 422, h.Do("GET", base+"?acknowledged=maybe", nil, viewer).Status)
	require.Equal(t, 422, h.Do("GET", base+"?page_size=101", nil, viewer).Status)
	require.Equal(t, 401, h.Do("GET", base, nil, "").Status)
}

func TestAnomalyAcknowledge(t *testing.T) {
	ctx := context.Background()
	h, store := newAnomalyServer(t)
	a := h.NewTenant()
	x := anomalytest.Sample(a, "CPU", 0)
	_, _, err := store.Insert(ctx, x)
	require.NoError(t, err)
	path := "/api/v1/tenants/" + a.String() + "/anomalies/" + x.ID.String() + "/acknowledge"

	viewer, _ := h.User(a, auth.RoleViewer)
	r := h.Do("POST", path, nil, viewer)
	require.Equal(t, 403, r.Status, "acknowledging needs billing:write")
	member, _ := h.User(a, auth.RoleMember)
	require.Equal(t, 403, h.Do("POST", path, nil, member).Status)

	admin, adminID := h.User(a, auth.RoleAdmin)
	r = h.Do("POST", path, nil, admin)
	require.Equal(t, 200, r.Status, string(r.Body))
	var b httpapi.AnomalyBody
	r.JSON(t, &b)
	require.True(t, b.Acknowledged)
	require.Equal(t, adminID, *b.AcknowledgedBy, "acknowledged_by is the caller")
	require.Equal(t, "2026-03-20T09:00:00Z", b.AcknowledgedAt.Format(time.RFC3339))

	owner, _ := h.User(a, auth.RoleOwner)
	r = h.Do("POST", path, nil, owner)
	require.Equal(t, 200, r.Status)
	r.JSON(t, &b)
	require.Equal(t, adminID, *b.AcknowledgedBy, "the first acknowledgement wins")

	require.Equal(t, 422, h.Do("POST", "/api/v1/tenants/"+a.String()+"/anomalies/nope/acknowledge", nil, admin).Status)
	require.Equal(t, 404, h.Do("POST", "/api/v1/tenants/"+a.String()+"/anomalies/"+uuid.NewString()+"/acknowledge", nil, admin).Status)
}

func TestAnomalyTenantIsolation(t *testing.T) {
	ctx := context.Background()
	h, store := newAnomalyServer(t)
	a, b := h.NewTenant(), h.NewTenant()
	x := anomalytest.Sample(a, "CPU", 0)
	_, _, err := store.Insert(ctx, x)
	require.NoError(t, err)
	adminB, _ := h.User(b, auth.RoleOwner)

	// B's token on A's paths: 403.
	require.Equal(t, 403, h.Do("GET", "/api/v1/tenants/"+a.String()+"/anomalies", nil, adminB).Status)
	require.Equal(t, 403, h.Do("POST", "/api/v1/tenants/"+a.String()+"/anomalies/"+x.ID.String()+"/acknowledge", nil, adminB).Status)
	// B's own path with A's anomaly id: 404, and A's anomaly stays unacknowledged.
	r := h.Do("POST", "/api/v1/tenants/"+b.String()+"/anomalies/"+x.ID.String()+"/acknowledge", nil, adminB)
	require.Equal(t, 404, r.Status)
	require.Equal(t, "anomaly_not_found", r.Problem(t).Code)
	got, err := store.Get(ctx, a, x.ID)
	require.NoError(t, err)
	require.False(t, got.Acknowledged)
	// B's list is empty.
	r = h.Do("GET", "/api/v1/tenants/"+b.String()+"/anomalies", nil, adminB)
	require.Equal(t, 200, r.Status)
	var p anomalyPage
	r.JSON(t, &p)
	require.Zero(t, p.Pagination.TotalItems)
	require.NotNil(t, p.Items)
	// Suspended tenants' users are refused; operators reach every tenant.
	h.Gate.Set(a, "SUSPENDED")
	viewerA, _ := h.User(a, auth.RoleViewer)
	require.Equal(t, 403, h.Do("GET", "/api/v1/tenants/"+a.String()+"/anomalies", nil, viewerA).Status)
	require.Equal(t, 200, h.Do("GET", "/api/v1/tenants/"+a.String()+"/anomalies", nil, h.Operator()).Status)
}

func TestAnomalyOpenAPI(t *testing.T) {
	h, _ := newAnomalyServer(t)
	r := h.Do("GET", "/openapi.json", nil, "")
	require.Equal(t, 200, r.Status)
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	r.JSON(t, &doc)
	require.Equal(t, "list-anomalies", doc.Paths["/api/v1/tenants/{id}/anomalies"]["get"].OperationID)
	require.Equal(t, "acknowledge-anomaly", doc.Paths["/api/v1/tenants/{id}/anomalies/{anomaly_id}/acknowledge"]["post"].OperationID)
}
