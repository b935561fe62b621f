package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/auth"
)

func TestAuthHTTPUserAdministration(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	ownerID := e.register(t, "acme", e.tenant, "owner@example.com", auth.RoleOwner)
	adminID := e.register(t, "acme", e.tenant, "admin@example.com", auth.RoleAdmin)
	memberID := e.register(t, "acme", e.tenant, "member@example.com", auth.RoleMember)
	e.register(t, "acme", e.tenant, "viewer@example.com", auth.RoleViewer)
	e.register(t, "other", e.other, "b-owner@example.com", auth.RoleOwner)
	owner := e.login(t, "acme", "owner@example.com").AccessToken
	admin := e.login(t, "acme", "admin@example.com").AccessToken
	member := e.login(t, "acme", "member@example.com")
	viewer := e.login(t, "acme", "viewer@example.com").AccessToken
	bOwner := e.login(t, "other", "b-owner@example.com").AccessToken
	users := "/api/v1/tenants/" + e.tenant.String() + "/users"

	var list struct {
		Items []struct {
			ID, Email, Role string
			IsActive        bool `json:"is_active"`
		} `json:"items"`
		Pagination struct {
			Total int `json:"total_items"`
		} `json:"pagination"`
	}
	r := e.h.Do("GET", users+"?page_size=2", nil, viewer)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r.JSON(t, &list)
	require.Equal(t, 4, list.Pagination.Total)
	require.Len(t, list.Items, 2)
	require.NotContains(t, string(r.Body), "argon2", "no hash in the answer")
	r = e.h.Do("GET", users+"?role=MEMBER", nil, viewer)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r.JSON(t, &list)
	require.Equal(t, 1, list.Pagination.Total)
	require.Equal(t, memberID, list.Items[0].ID)
	requireProblem(t, e.h.Do("GET", users+"?role=BOSS", nil, viewer), http.StatusUnprocessableEntity, "")
	requireProblem(t, e.h.Do("GET", users+"?is_active=maybe", nil, viewer), http.StatusUnprocessableEntity, "")
	requireProblem(t, e.h.Do("GET", users, nil, bOwner), http.StatusForbidden, "")
	requireProblem(t, e.h.Do("GET", users, nil, ""), http.StatusUnauthorized, "")
	requireProblem(t, e.h.Do("GET", users+"/not-a-uuid", nil, viewer), http.StatusUnprocessableEntity, "")
	r = e.h.Do("GET", users+"/"+memberID, nil, viewer)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)

	requireProblem(t, e.h.Do("PATCH", users+"/"+adminID, map[string]any{"full_name": "X"}, member.AccessToken), http.StatusForbidden, "")
	requireProblem(t, e.h.Do("PATCH", users+"/"+memberID, map[string]any{"role": "OWNER"}, admin), http.StatusForbidden, "")
	requireProblem(t, e.h.Do("PATCH", users+"/"+ownerID, map[string]any{"is_active": false}, admin), http.StatusForbidden, "")
	requireProblem(t, e.h.Do("PATCH", users+"/"+ownerID, map[string]any{"role": "ADMIN"}, owner), http.StatusConflict, "last_owner")
	requireProblem(t, e.h.Do("DELETE", users+"/"+ownerID, nil, owner), http.StatusConflict, "last_owner")
	requireProblem(t, e.h.Do("PATCH", users+"/"+memberID, map[string]any{}, admin), http.StatusUnprocessableEntity, "")
	requireProblem(t, e.h.Do("PATCH", users+"/"+memberID, map[string]any{"role": "KING"}, admin), http.StatusUnprocessableEntity, "")

	r = e.h.Do("PATCH", users+"/"+memberID, map[string]any{"is_active": false}, admin)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	requireProblem(t, e.me(member.AccessToken), http.StatusUnauthorized, "")
	require.Equal(t, http.StatusUnauthorized, e.h.Do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": member.RefreshToken}, "").Status)
	require.True(t, e.rec.has(auth.ActionUserUpdated))

	r = e.h.Do("DELETE", users+"/"+memberID, nil, admin)
	require.Equal(t, http.StatusNoContent, r.Status, "%s", r.Body)
	requireProblem(t, e.h.Do("GET", users+"/"+memberID, nil, admin), http.StatusNotFound, "user_not_found")
	require.True(t, e.rec.has(auth.ActionUserRemoved))

	// Pending invitations: listed without tokens, revocable once.
	inv := "/api/v1/tenants/" + e.tenant.String() + "/invitations"
	r = e.h.Do("POST", inv, map[string]string{"email": "pending@example.com", "role": "VIEWER"}, admin)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var created struct{ ID, Token string }
	r.JSON(t, &created)
	r = e.h.Do("GET", inv, nil, admin)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.NotContains(t, string(r.Body), created.Token)
	var invs struct {
		Items      []struct{ ID, Email string } `json:"items"`
		Pagination struct {
			Total int `json:"total_items"`
		} `json:"pagination"`
	}
	r.JSON(t, &invs)
	require.Equal(t, 1, invs.Pagination.Total)
	require.Equal(t, created.ID, invs.Items[0].ID)
	require.Equal(t, http.StatusOK, e.h.Do("GET", inv, nil, viewer).Status, "every role reads the pending invitations (issue 12 item 1)")
	requireProblem(t, e.h.Do("DELETE", inv+"/"+created.ID, nil, viewer), http.StatusForbidden, "")
	requireProblem(t, e.h.Do("DELETE", inv+"/zzz", nil, admin), http.StatusUnprocessableEntity, "")
	require.Equal(t, http.StatusNoContent, e.h.Do("DELETE", inv+"/"+created.ID, nil, admin).Status)
	requireProblem(t, e.h.Do("DELETE", inv+"/"+created.ID, nil, admin), http.StatusNotFound, "invitation_not_found")
	require.True(t, e.rec.has(auth.ActionInvitationRevoked))
}
