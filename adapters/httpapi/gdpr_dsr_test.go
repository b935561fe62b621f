package httpapi_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/auth"
)

func TestGDPRDataSubjectRequestFlow(t *testing.T) {
	h := newGDPRHarness(t)
	a, b := h.tenant(), h.tenant()
	admin, _ := h.User(a, auth.RoleAdmin)
	viewer, _ := h.User(a, auth.RoleViewer)
	adminB, _ := h.User(b, auth.RoleAdmin)
	base := "/api/v1/tenants/" + a.String() + "/gdpr/requests"

	r := h.Do("POST", base, map[string]any{"type": "ACCESS", "email": "u1@example.eu"}, admin)
	require.Equal(t, 201, r.Status, string(r.Body))
	var d httpapi.GDPRDSR
	r.JSON(t, &d)
	require.Equal(t, "IDENTITY_PENDING", d.Status)
	require.True(t, d.DueAt.After(d.ReceivedAt))
	require.Len(t, d.Timeline, 1)

	require.Equal(t, 403, h.Do("GET", base+"/"+d.ID, nil, viewer).Status, "requests name persons: handlers only")
	require.Equal(t, 404, h.Do("GET", "/api/v1/tenants/"+b.String()+"/gdpr/requests/"+d.ID, nil, adminB).Status, "another tenant's id")
	require.Equal(t, 404, h.Do("GET", base+"/not-a-uuid", nil, admin).Status)

	// Complete before verification: 409 problem.
	r = h.Do("POST", base+"/"+d.ID+"/complete", map[string]any{}, admin)
	require.Equal(t, 409, r.Status, string(r.Body))
	require.Equal(t, "gdpr_dsr_state", r.Problem(t).Code)
	// verify-identity must name the subject of an e-mail-only request.
	r = h.Do("POST", base+"/"+d.ID+"/verify-identity", map[string]any{}, admin)
	require.Equal(t, 422, r.Status, string(r.Body))
	r = h.Do("POST", base+"/"+d.ID+"/verify-identity", map[string]any{"data_subject_id": "u1", "method": "signed-in account"}, admin)
	require.Equal(t, 200, r.Status, string(r.Body))
	r.JSON(t, &d)
	require.Equal(t, "IN_PROGRESS", d.Status)
	require.NotNil(t, d.JobID)

	r = h.Do("POST", base+"/"+d.ID+"/extend", map[string]any{"reason": "archives to search"}, admin)
	require.Equal(t, 200, r.Status, string(r.Body))
	r.JSON(t, &d)
	require.Equal(t, "EXTENDED", d.Status)
	require.NotNil(t, d.ExtendedDueAt)
	r = h.Do("POST", base+"/"+d.ID+"/extend", map[string]any{"reason": "again"}, admin)
	require.Equal(t, 409, r.Status, "one extension")

	h.runner.WorkAvailable(context.Background())
	r = h.Do("GET", base+"/"+d.ID, nil, admin)
	require.Equal(t, 200, r.Status)
	r.JSON(t, &d)
	require.Equal(t, "COMPLETED", d.Status)
	require.NotNil(t, d.Evidence)
	_, err := d.Evidence.Verify(h.svc.PublicKey())
	require.NoError(t, err)

	// A rejected one, and the list filters.
	r = h.Do("POST", base, map[string]any{"type": "OBJECTION", "data_subject_id": "u2", "details": "no marketing"}, admin)
	require.Equal(t, 201, r.Status, string(r.Body))
	var o httpapi.GDPRDSR
	r.JSON(t, &o)
	require.Equal(t, "RECEIVED", o.Status)
	require.Equal(t, 422, h.Do("POST", base+"/"+o.ID+"/reject", map[string]any{"reason": ""}, admin).Status)
	r = h.Do("POST", base+"/"+o.ID+"/reject", map[string]any{"reason": "manifestly unfounded"}, admin)
	require.Equal(t, 200, r.Status, string(r.Body))

	var list httpapi.Paginated[httpapi.GDPRDSR]
	r = h.Do("GET", base+"?status=REJECTED", nil, admin)
	require.Equal(t, 200, r.Status, string(r.Body))
	r.JSON(t, &list)
	require.Len(t, list.Items, 1)
	require.Equal(t, o.ID, list.Items[0].ID)
	r = h.Do("GET", base+"?type=ACCESS&overdue=true", nil, admin)
	require.Equal(t, 200, r.Status)
	r.JSON(t, &list)
	require.Empty(t, list.Items)
	r = h.Do("GET", base+"?page_size=1", nil, admin)
	require.Equal(t, 200, r.Status)
	r.JSON(t, &list)
	require.Equal(t, 2, list.Pagination.TotalItems)
	require.Len(t, list.Items, 1)

	// Bad input is a 422 problem, never a 500.
	for _, body := range []map[string]any{{"type": "FORGET"}, {"type": "ACCESS"}, {"type": "ACCESS", "data_subject_id": "ghost"},
		{"type": "RECTIFICATION", "data_subject_id": "u1", "format": "csv"}, {"type": "ACCESS", "email": "x"}} {
		r = h.Do("POST", base, body, admin)
		require.Equal(t, 422, r.Status, "%v: %s", body, r.Body)
	}
	require.Equal(t, 422, h.Do("GET", base+"?status=LOST", nil, admin).Status)
}
