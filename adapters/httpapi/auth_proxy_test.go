package httpapi_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/auth"
)

// behindProxy rebuilds the env's server with trusted proxy networks. httptest requests
// come from 192.0.2.1, the test's proxy when trusted contains it.
func behindProxy(e *authEnv, trusted ...string) {
	var ps []netip.Prefix
	for _, s := range trusted {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	e.h.Server = httpapi.New(httpapi.Options{Version: "test", Authenticator: e.svc, TenantGate: e.h.Gate, TrustedProxies: ps})
	httpapi.RegisterAuth(e.h.Server, e.svc)
}

// failLogins makes n failed logins, each for a different unknown account so only the
// per-IP counter fills up.
func failLogins(e *authEnv, n int, xff func(i int) string) {
	for i := range n {
		r := e.h.Do("POST", "/api/v1/auth/login", map[string]string{"email": fmt.Sprintf("nobody%d@example.com", i), "password": "Wrong-Horse-99"},
			"", "X-Tenant-ID", "acme", "X-Forwarded-For", xff(i))
		requireProblem(e.h.T, r, http.StatusUnauthorized, "")
	}
}

func (e *authEnv) loginFrom(xff, email string) *int {
	r := e.h.Do("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": authPW}, "", "X-Tenant-ID", "acme", "X-Forwarded-For", xff)
	return &r.Status
}

// auditIPs are the client addresses of the recorded login failures.
func (e *authEnv) auditIPs() map[string]int {
	e.rec.mu.Lock()
	defer e.rec.mu.Unlock()
	ips := map[string]int{}
	for _, ev := range e.rec.events {
		if ev.Action == auth.ActionLoginFailed {
			ips[ev.Meta.IP]++
		}
	}
	return ips
}

// TestAuthTrustedProxyLockout: behind a trusted proxy every client has its own brute-force
// counter, so an attacker's failures lock out the attacker and not the proxy's other
// clients; the audit entries carry the client's address.
func TestAuthTrustedProxyLockout(t *testing.T) {
	e := newAuthEnv(t)
	behindProxy(e, "192.0.2.0/24")
	e.register(t, "acme", e.tenant, "victim@example.com", auth.RoleMember)
	failLogins(e, 30, func(int) string { return "203.0.113.7" })
	// The attacker is throttled even with the right password, and prepending a forged
	// hop does not reset its counter (the right-most untrusted hop is the client).
	require.Equal(t, http.StatusUnauthorized, *e.loginFrom("203.0.113.7", "victim@example.com"))
	require.Equal(t, http.StatusUnauthorized, *e.loginFrom("198.51.100.200, 203.0.113.7", "victim@example.com"))
	// Another client behind the same proxy logs in.
	require.Equal(t, http.StatusOK, *e.loginFrom("198.51.100.9", "victim@example.com"))
	ips := e.auditIPs()
	require.Equal(t, 32, ips["203.0.113.7"], "%v", ips)
	require.Zero(t, ips["192.0.2.1"], "%v", ips)
}

// TestAuthUntrustedForwardedForIgnored: a peer that is not a trusted proxy cannot choose
// its address by sending X-Forwarded-For; rotating the header does not escape the lockout.
func TestAuthUntrustedForwardedForIgnored(t *testing.T) {
	for _, trusted := range [][]string{nil, {"10.0.0.0/8"}} {
		t.Run(fmt.Sprint(trusted), func(t *testing.T) {
			e := newAuthEnv(t)
			behindProxy(e, trusted...)
			e.register(t, "acme", e.tenant, "victim@example.com", auth.RoleMember)
			failLogins(e, 30, func(i int) string { return fmt.Sprintf("203.0.113.%d", i+1) })
			require.Equal(t, http.StatusUnauthorized, *e.loginFrom("198.51.100.9", "victim@example.com"))
			ips := e.auditIPs()
			require.Equal(t, map[string]int{"192.0.2.1": 31}, ips)
		})
	}
}

// TestAuthMeSuspendedTenant: suspending a tenant stops its users' unexpired access tokens
// at once, /auth/me included; reactivation lets the same token work again.
func TestAuthMeSuspendedTenant(t *testing.T) {
	e := newAuthEnv(t)
	e.register(t, "acme", e.tenant, "ada@example.com", auth.RoleOwner)
	tk := e.login(t, "acme", "ada@example.com")
	require.Equal(t, http.StatusOK, e.me(tk.AccessToken).Status)
	e.h.Gate.Set(e.tenant, "SUSPENDED")
	requireProblem(t, e.me(tk.AccessToken), http.StatusForbidden, "tenant_suspended")
	e.h.Gate.Set(e.tenant, "DELETED")
	requireProblem(t, e.me(tk.AccessToken), http.StatusNotFound, "")
	e.h.Gate.Set(e.tenant, "ACTIVE")
	require.Equal(t, http.StatusOK, e.me(tk.AccessToken).Status)
}

// TestAuthHTTPSessions: the caller lists their sessions (client address and agent, the
// current one flagged), ends one, ends all others; another user's session is 404.
func TestAuthHTTPSessions(t *testing.T) {
	e := newAuthEnv(t)
	e.register(t, "acme", e.tenant, "ada@example.com", auth.RoleMember)
	e.register(t, "acme", e.tenant, "bob@example.com", auth.RoleMember)
	a1, a2, a3 := e.login(t, "acme", "ada@example.com"), e.login(t, "acme", "ada@example.com"), e.login(t, "acme", "ada@example.com")
	bob := e.login(t, "acme", "bob@example.com")
	type item struct {
		ID        string `json:"id"`
		IP        string `json:"ip"`
		UserAgent string `json:"user_agent"`
		Current   bool   `json:"current"`
	}
	list := func(tok string) []item {
		r := e.h.Do("GET", "/api/v1/auth/sessions", nil, tok)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var out struct{ Items []item }
		r.JSON(t, &out)
		return out.Items
	}
	items := list(a1.AccessToken)
	require.Len(t, items, 3)
	current := 0
	for _, it := range items {
		require.Equal(t, "192.0.2.1", it.IP)
		if it.Current {
			current++
		}
	}
	require.Equal(t, 1, current)
	bobItems := list(bob.AccessToken)
	require.Len(t, bobItems, 1)
	requireProblem(t, e.h.Do("DELETE", "/api/v1/auth/sessions/"+bobItems[0].ID, nil, a1.AccessToken), http.StatusNotFound, "")
	requireProblem(t, e.h.Do("DELETE", "/api/v1/auth/sessions/not-a-uuid", nil, a1.AccessToken), http.StatusUnprocessableEntity, "")
	require.Equal(t, http.StatusOK, e.me(bob.AccessToken).Status)

	// End a2's session from a1: a2's access token stops at once.
	var a2ID string
	for _, it := range list(a2.AccessToken) {
		if it.Current {
			a2ID = it.ID
		}
	}
	r := e.h.Do("DELETE", "/api/v1/auth/sessions/"+a2ID, nil, a1.AccessToken)
	require.Equal(t, http.StatusNoContent, r.Status, "%s", r.Body)
	require.Equal(t, http.StatusUnauthorized, e.me(a2.AccessToken).Status)
	r = e.h.Do("DELETE", "/api/v1/auth/sessions", nil, a1.AccessToken)
	require.Equal(t, http.StatusNoContent, r.Status, "%s", r.Body)
	require.Equal(t, http.StatusUnauthorized, e.me(a3.AccessToken).Status)
	require.Equal(t, http.StatusOK, e.me(a1.AccessToken).Status)
	require.Len(t, list(a1.AccessToken), 1)
}
