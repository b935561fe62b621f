package httpapi_test

import (
	"context"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/anomaly/anomalytest"
	"github.com/eusaas/eusaas/auth"
)

func TestAnomalyAlertsGetPut(t *testing.T) {
	ctx := context.Background()
	h, store := newAnomalyServer(t)
	a := h.NewTenant()
	path := "/api/v1/tenants/" + a.String() + "/anomaly-alerts"
	viewer, _ := h.User(a, auth.RoleViewer)
	member, _ := h.User(a, auth.RoleMember)
	admin, _ := h.User(a, auth.RoleAdmin)
	owner, _ := h.User(a, auth.RoleOwner)

	r := h.Do("GET", path, nil, viewer)
	require.Equal(t, 200, r.Status, string(r.Body))
	require.Contains(t, string(r.Body), `"subscriptions":[]`)

	body := map[string]any{"subscriptions": []map[string]any{
		{"threshold_pct": "25", "frequency": "IMMEDIATE", "channels": []map[string]any{
			{"type": "webhook", "url": "https://hooks.example.com/x", "secret": "very-secret-1"},
			{"type": "email", "address": "finops@example.com"}}},
		{"threshold_amount": "100.50", "threshold_pct": "10", "combine": "AND", "frequency": "DAILY", "channels": []map[string]any{
			{"type": "webhook", "url": "http://127.0.0.1:8080/digest", "secret": "very-secret-2"}}},
	}}
	require.Equal(t, 403, h.Do("PUT", path, body, viewer).Status)
	require.Equal(t, 403, h.Do("PUT", path, body, member).Status)
	r = h.Do("PUT", path, body, admin)
	require.Equal(t, 200, r.Status, string(r.Body))
	require.NotContains(t, string(r.Body), "very-secret")
	var out httpapi.AnomalyAlertsOut
	r.JSON(t, &out)
	require.Len(t, out.Subscriptions, 2)
	s0 := out.Subscriptions[0]
	require.Equal(t, "OR", s0.Combine, "the default")
	require.Nil(t, s0.ThresholdAmount)
	require.Equal(t, "25", *s0.ThresholdPct)
	require.True(t, s0.Channels[0].SecretSet)
	require.Equal(t, "finops@example.com", s0.Channels[1].Address)
	require.Equal(t, "100.5", *out.Subscriptions[1].ThresholdAmount)

	r = h.Do("GET", path, nil, member)
	require.Equal(t, 200, r.Status)
	require.NotContains(t, string(r.Body), "very-secret")
	require.Contains(t, string(r.Body), `"secret_set":true`)

	// PUT back what was read, without secrets: the stored secrets are kept by URL.
	back := map[string]any{"subscriptions": []map[string]any{
		{"threshold_pct": "30", "frequency": "WEEKLY", "channels": []map[string]any{{"type": "webhook", "url": "https://hooks.example.com/x"}}},
	}}
	r = h.Do("PUT", path, back, owner)
	require.Equal(t, 200, r.Status, string(r.Body))
	stored, err := store.AlertSubscriptions(ctx, a)
	require.NoError(t, err)
	require.Len(t, stored, 1)
	require.Equal(t, "very-secret-1", stored[0].Channels[0].Secret)

	// Bad input is a 422 problem naming the field, and changes nothing.
	email := []map[string]any{{"type": "email", "address": "a@b.example"}}
	for _, c := range []struct {
		field string
		sub   map[string]any
	}{
		{"body.subscriptions[0].threshold_amount", map[string]any{"threshold_amount": "-1", "frequency": "DAILY", "channels": email}},
		{"body.subscriptions[0].threshold_amount", map[string]any{"threshold_amount": "lots", "frequency": "DAILY", "channels": email}},
		{"body.subscriptions[0].threshold_pct", map[string]any{"threshold_pct": "-0.5", "frequency": "DAILY", "channels": email}},
		{"body.subscriptions[0].channels[0].url", map[string]any{"frequency": "DAILY", "channels": []map[string]any{{"type": "webhook", "url": "ftp://x.example.com/", "secret": "s"}}}},
		{"body.subscriptions[0].frequency", map[string]any{"frequency": "HOURLY", "channels": email}},
		{"body.subscriptions[0].channels[0].secret", map[string]any{"frequency": "DAILY", "channels": []map[string]any{{"type": "webhook", "url": "https://new.example.com/"}}}},
	} {
		r := h.Do("PUT", path, map[string]any{"subscriptions": []map[string]any{c.sub}}, owner)
		require.Equal(t, 422, r.Status, "%s: %s", c.field, r.Body)
		require.Contains(t, string(r.Body), c.field)
		require.NotContains(t, string(r.Body), "very-secret")
	}
	stored, err = store.AlertSubscriptions(ctx, a)
	require.NoError(t, err)
	require.Len(t, stored, 1)
	require.Equal(t, 401, h.Do("GET", path, nil, "").Status)
	other := h.NewTenant()
	otherOwner, _ := h.User(other, auth.RoleOwner)
	require.Equal(t, 403, h.Do("GET", path, nil, otherOwner).Status, "another tenant's user")
}

func TestAnomalyListImpactAndDateFilters(t *testing.T) {
	ctx := context.Background()
	h, store := newAnomalyServer(t)
	a := h.NewTenant()
	for d := range 4 {
		x := anomalytest.Sample(a, "CPU", d)
		x.Impact = decimal.NewFromInt(int64(10 * (d + 1)))
		_, _, err := store.Insert(ctx, x)
		require.NoError(t, err)
	}
	viewer, _ := h.User(a, auth.RoleViewer)
	base := "/api/v1/tenants/" + a.String() + "/anomalies"
	count := func(q string) int {
		r := h.Do("GET", base+q, nil, viewer)
		require.Equal(t, 200, r.Status, string(r.Body))
		var p anomalyPage
		r.JSON(t, &p)
		for _, it := range p.Items {
			require.False(t, it.Alerted)
			require.NotNil(t, it.AlertedSubscriptions)
		}
		return p.Pagination.TotalItems
	}
	require.Equal(t, 3, count("?min_impact=20"))
	require.Equal(t, 4, count("?status=CLOSED"), "anomalies without episode fields are one-day closed episodes")
	require.Equal(t, 0, count("?status=OPEN"))
	require.Equal(t, 422, h.Do("GET", base+"?status=DONE", nil, viewer).Status)
	r := h.Do("GET", base+"?page_size=1", nil, viewer)
	var p anomalyPage
	r.JSON(t, &p)
	it := p.Items[0]
	require.Equal(t, "CLOSED", it.Status)
	require.Equal(t, it.Day, it.StartDate)
	require.Equal(t, it.Day, *it.EndDate)
	require.Equal(t, "40", it.TotalImpact)
	require.Equal(t, 2, count("?start_date=2026-03-02&end_date=2026-03-03"))
	require.Equal(t, 1, count("?start_date=2026-03-02&end_date=2026-03-03&min_impact=30"))
	require.Equal(t, 422, h.Do("GET", base+"?min_impact=-1", nil, viewer).Status)
	require.Equal(t, 422, h.Do("GET", base+"?min_impact=abc", nil, viewer).Status)
	require.Equal(t, 422, h.Do("GET", base+"?start_date=2026-03-05&end_date=2026-03-01", nil, viewer).Status)
	require.Equal(t, 422, h.Do("GET", base+"?start_date=yesterday", nil, viewer).Status)
}

func TestAnomalyFeedback(t *testing.T) {
	ctx := context.Background()
	h, store := newAnomalyServer(t)
	a := h.NewTenant()
	x := anomalytest.Sample(a, "CPU", 0)
	_, _, err := store.Insert(ctx, x)
	require.NoError(t, err)
	path := "/api/v1/tenants/" + a.String() + "/anomalies/" + x.ID.String() + "/feedback"
	viewer, _ := h.User(a, auth.RoleViewer)
	require.Equal(t, 403, h.Do("POST", path, map[string]any{"verdict": "EXPECTED"}, viewer).Status)
	admin, adminID := h.User(a, auth.RoleAdmin)
	r := h.Do("POST", path, map[string]any{"verdict": "EXPECTED", "note": "planned load test"}, admin)
	require.Equal(t, 200, r.Status, string(r.Body))
	var b httpapi.AnomalyBody
	r.JSON(t, &b)
	require.NotNil(t, b.Feedback)
	require.Equal(t, "EXPECTED", b.Feedback.Verdict)
	require.Equal(t, "planned load test", *b.Feedback.Note)
	require.Equal(t, adminID, b.Feedback.By)

	r = h.Do("POST", path, map[string]any{"verdict": "MAYBE"}, admin)
	require.Equal(t, 422, r.Status, string(r.Body))
	require.Contains(t, string(r.Body), "body.verdict")
	require.Equal(t, 422, h.Do("POST", path, map[string]any{"note": "no verdict"}, admin).Status)
	require.Equal(t, 422, h.Do("POST", "/api/v1/tenants/"+a.String()+"/anomalies/nope/feedback", map[string]any{"verdict": "CONFIRMED"}, admin).Status)
	other := anomalytest.Sample(a, "MEMORY", 0).ID // never stored
	require.Equal(t, 404, h.Do("POST", "/api/v1/tenants/"+a.String()+"/anomalies/"+other.String()+"/feedback", map[string]any{"verdict": "CONFIRMED"}, admin).Status)

	counts, err := store.FeedbackCounts(ctx, a)
	require.NoError(t, err)
	require.Equal(t, 1, counts["EXPECTED"])
}
