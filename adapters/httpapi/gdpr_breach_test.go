package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/auth"
)

func TestGDPRBreachRegister(t *testing.T) {
	h := newGDPRHarness(t)
	a, b := h.tenant(), h.tenant()
	admin, _ := h.User(a, auth.RoleAdmin)
	op := h.Operator()
	detected := time.Now().UTC().Add(-80 * time.Hour).Truncate(time.Second)
	body := map[string]any{"detected_at": detected, "description": "backup bucket briefly public",
		"categories": []string{"e-mail addresses", "names"}, "affected_tenants": []string{a.String(), b.String(), a.String()},
		"approx_subjects": 40, "measures": "bucket closed, access logs reviewed"}

	require.Equal(t, 403, h.Do("POST", "/api/v1/gdpr/breaches", body, admin).Status, "operators only")
	r := h.Do("POST", "/api/v1/gdpr/breaches", body, op)
	require.Equal(t, 201, r.Status, string(r.Body))
	var br httpapi.GDPRBreach
	r.JSON(t, &br)
	require.Equal(t, detected.Add(72*time.Hour), br.NotifyAuthorityBy.UTC())
	require.Equal(t, "OPEN", br.Status)
	require.True(t, br.Overdue, "80 hours after detection")
	require.Equal(t, []string{a.String(), b.String()}, br.AffectedTenants, "duplicates dropped")
	require.Len(t, br.Notices, 2)
	require.Equal(t, a.String(), br.Notices[0].TenantID)
	require.True(t, strings.Contains(br.Notices[0].Body, "Art. 33(2)") && strings.Contains(br.Notices[0].Body, "bucket closed"))
	n, err := h.svc.BreachesOverdue(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, n)

	var list httpapi.GDPRBreachList
	r = h.Do("GET", "/api/v1/gdpr/breaches", nil, op)
	require.Equal(t, 200, r.Status)
	r.JSON(t, &list)
	require.Len(t, list.Items, 1)
	require.Equal(t, 403, h.Do("GET", "/api/v1/gdpr/breaches", nil, admin).Status)
	require.Equal(t, 404, h.Do("GET", "/api/v1/gdpr/breaches/not-a-uuid", nil, op).Status)

	require.Equal(t, 422, h.Do("POST", "/api/v1/gdpr/breaches/"+br.ID+"/notified", map[string]any{"notified_at": detected.Add(-time.Hour)}, op).Status)
	r = h.Do("POST", "/api/v1/gdpr/breaches/"+br.ID+"/notified", map[string]any{}, op)
	require.Equal(t, 200, r.Status, string(r.Body))
	r.JSON(t, &br)
	require.Equal(t, "NOTIFIED", br.Status)
	require.False(t, br.Overdue)
	require.Equal(t, 409, h.Do("POST", "/api/v1/gdpr/breaches/"+br.ID+"/notified", map[string]any{}, op).Status)
	n, err = h.svc.BreachesOverdue(t.Context())
	require.NoError(t, err)
	require.Equal(t, 0, n)

	for _, bad := range []map[string]any{
		{"detected_at": time.Now().Add(time.Hour), "description": "x", "categories": []string{"e-mail"}, "affected_tenants": []string{}, "approx_subjects": 1},
		{"detected_at": detected, "description": "x", "categories": []string{}, "affected_tenants": []string{}, "approx_subjects": 1},
		{"detected_at": detected, "description": "x", "categories": []string{"e-mail"}, "affected_tenants": []string{"nope"}, "approx_subjects": 1},
		{"detected_at": detected, "description": "x", "categories": []string{"e-mail"}, "affected_tenants": []string{}, "approx_subjects": -1},
	} {
		r := h.Do("POST", "/api/v1/gdpr/breaches", bad, op)
		require.Equal(t, 422, r.Status, "%v: %s", bad, r.Body)
	}
}

func TestGDPRRecordsOfProcessing(t *testing.T) {
	h := newGDPRHarness(t)
	a := h.tenant()
	admin, _ := h.User(a, auth.RoleAdmin)
	op := h.Operator()
	require.Equal(t, 403, h.Do("GET", "/api/v1/gdpr/records-of-processing", nil, admin).Status)
	r := h.Do("GET", "/api/v1/gdpr/records-of-processing", nil, op)
	require.Equal(t, 200, r.Status, string(r.Body))
	var rec struct {
		Security []string `json:"security_measures"`
		Sub      []any    `json:"sub_processors"`
	}
	r.JSON(t, &rec)
	require.NotEmpty(t, rec.Security)
	require.NotNil(t, rec.Sub)
	r = h.Do("GET", "/api/v1/gdpr/records-of-processing/markdown", nil, op)
	require.Equal(t, 200, r.Status)
	require.Equal(t, "text/markdown; charset=utf-8", r.Header.Get("Content-Type"))
	require.True(t, strings.HasPrefix(string(r.Body), "# Record of processing activities"))
	require.Equal(t, 403, h.Do("GET", "/api/v1/gdpr/records-of-processing/markdown", nil, admin).Status)
}
