package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/adapters/oidc/oidctest"
)

const ssoPublicURL = "https://app.sso.example"

// TestSSOOverHTTP runs per-tenant OpenID Connect sign-in through the wired server (memory
// stores) against a real OpenID Provider on 127.0.0.1.
func TestSSOOverHTTP(t *testing.T) {
	ssoWalk(t, startApp(t, map[string]string{"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword,
		"APP_MFA_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "APP_PUBLIC_URL": ssoPublicURL, "APP_SSO_ALLOW_HTTP_ISSUER": "true"}))
}

// TestSSOOverHTTPPostgres is the same walk on Postgres and Redis.
func TestSSOOverHTTPPostgres(t *testing.T) {
	cfg := migratedPostgres(t)
	cfg["APP_MFA_KEY"], cfg["APP_PUBLIC_URL"], cfg["APP_SSO_ALLOW_HTTP_ISSUER"] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", ssoPublicURL, "true"
	ssoWalk(t, startApp(t, cfg))
}

func ssoWalk(t *testing.T, c *client) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	idp := oidctest.Start(t, ssoPublicURL+"/api/v1/auth/sso/callback")

	op := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(t)["access_token"].(string)
	tenant := c.createTenant(op, map[string]any{"name": "Example AG", "slug": "exa", "admin_email": "owner@example.com"})
	tid := tenant["id"].(string)
	c.expect(201, c.do("POST", "/api/v1/auth/register", "", map[string]any{"email": "owner@example.com", "password": "Owner-Passw0rd!",
		"full_name": "Olga Owner", "invitation_token": tenant["owner_invitation"].(map[string]any)["token"]}, "X-Tenant-ID", "exa"))
	owner := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "owner@example.com", "password": "Owner-Passw0rd!"},
		"X-Tenant-ID", "exa")).json(t)["access_token"].(string)
	inv := c.expect(201, c.do("POST", "/api/v1/tenants/"+tid+"/invitations", owner, map[string]any{"email": "bob@example.com", "role": "MEMBER"})).json(t)
	c.expect(201, c.do("POST", "/api/v1/auth/register", "", map[string]any{"email": "bob@example.com", "password": "Member-Passw0rd!",
		"full_name": "Bob", "invitation_token": inv["token"]}, "X-Tenant-ID", "exa"))

	// Not configured yet.
	c.expect(404, c.do("GET", "/api/v1/tenants/"+tid+"/sso", owner, nil))
	c.expect(404, c.do("GET", "/api/v1/auth/sso/exa/start", "", nil))
	cfg := map[string]any{"issuer": idp.Issuer, "client_id": idp.ClientID, "client_secret": idp.ClientSecret,
		"allowed_domains": []string{"Example.com"}, "default_role": "VIEWER", "enforce": true}
	bad := map[string]any{"issuer": "ftp://x", "client_id": "c", "allowed_domains": []string{"example.com"}, "default_role": "OWNER"}
	c.expect(422, c.do("PUT", "/api/v1/tenants/"+tid+"/sso", owner, bad))
	put := c.expect(200, c.do("PUT", "/api/v1/tenants/"+tid+"/sso", owner, cfg))
	require.NotContains(t, string(put.body), idp.ClientSecret)
	got := c.expect(200, c.do("GET", "/api/v1/tenants/"+tid+"/sso", owner, nil)).json(t)
	require.Equal(t, true, got["client_secret_set"])
	require.Equal(t, []any{"example.com"}, got["allowed_domains"])
	require.NotContains(t, got, "client_secret")

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	start := func(tenant string) *url.URL {
		t.Helper()
		res, err := noFollow.Get(c.base + "/api/v1/auth/sso/" + tenant + "/start")
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusFound, res.StatusCode)
		u, err := url.Parse(res.Header.Get("Location"))
		require.NoError(t, err)
		q := u.Query()
		require.Equal(t, "S256", q.Get("code_challenge_method"))
		require.NotEmpty(t, q.Get("code_challenge"))
		require.NotEmpty(t, q.Get("nonce"))
		require.NotEmpty(t, q.Get("state"))
		require.Equal(t, ssoPublicURL+"/api/v1/auth/sso/callback", q.Get("redirect_uri"))
		return u
	}
	// signIn runs start, the IdP and returns the callback's query (not yet sent).
	signIn := func(tenant string) url.Values {
		t.Helper()
		back, err := idp.Authorize(ctx, start(tenant).String())
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(back.String(), ssoPublicURL+"/api/v1/auth/sso/callback?"), back.String())
		return back.Query()
	}
	callback := func(q url.Values) resp { return c.do("GET", "/api/v1/auth/sso/callback?"+q.Encode(), "", nil) }
	refused := func(q url.Values) {
		t.Helper()
		r := c.expect(401, callback(q))
		require.Contains(t, string(r.body), "sso_failed")
	}

	// The full flow: ada is provisioned just in time as VIEWER, by slug, and again by id.
	q := signIn("exa")
	tok := c.expect(200, callback(q)).json(t)
	me := c.expect(200, c.do("GET", "/api/v1/auth/me", tok["access_token"].(string), nil)).json(t)
	require.Equal(t, "ada@example.com", me["email"])
	require.Equal(t, "VIEWER", me["role"])
	require.Equal(t, true, me["email_verified"])
	adaID := me["id"].(string)
	c.expect(200, callback(signIn(tid)))

	// A replayed state is refused; so is a used code under a fresh state.
	refused(q)
	fresh := start("exa").Query()
	fresh.Set("code", q.Get("code"))
	refused(url.Values{"state": {fresh.Get("state")}, "code": {q.Get("code")}})
	refused(url.Values{"state": {"made-up"}, "code": {"x"}})

	idp.WrongIssuer(true)
	refused(signIn("exa"))
	idp.WrongIssuer(false)
	idp.ForgeSignature(true)
	refused(signIn("exa"))
	idp.ForgeSignature(false)
	idp.OverrideNonce("not-the-one-we-sent")
	refused(signIn("exa"))
	idp.OverrideNonce("")
	idp.SetUser(oidctest.User{Subject: "u-2", Email: "eve@elsewhere.test", EmailVerified: true})
	refused(signIn("exa"))
	idp.SetUser(oidctest.User{Subject: "u-3", Email: "carl@example.com", EmailVerified: false})
	refused(signIn("exa"))
	// A deactivated user is not let back in by the IdP.
	c.expect(200, c.do("PATCH", "/api/v1/tenants/"+tid+"/users/"+adaID, owner, map[string]any{"is_active": false}))
	idp.SetUser(oidctest.User{Subject: "u-1", Email: "ada@example.com", EmailVerified: true})
	refused(signIn("exa"))

	// Enforced: the MEMBER's password no longer works, the OWNER's does.
	r := c.expect(403, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "bob@example.com", "password": "Member-Passw0rd!"}, "X-Tenant-ID", "exa"))
	require.Contains(t, string(r.body), "sso_required")
	c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "owner@example.com", "password": "Owner-Passw0rd!"}, "X-Tenant-ID", "exa"))

	// Every refusal is audited with its reason, and no secret, code or state is.
	tenantAudit := string(c.expect(200, c.do("GET", "/api/v1/tenants/"+tid+"/audit-log?page_size=100", owner, nil)).body)
	for _, reason := range []string{"code_exchange", "issuer", "signature", "nonce", "domain_not_allowed", "email_not_verified", "inactive", "SSO_CONFIGURED", "SSO_USER_PROVISIONED", "sso_enforced"} {
		require.Contains(t, tenantAudit, `"`+reason+`"`)
	}
	platformAudit := string(c.expect(200, c.do("GET", "/api/v1/audit-log?action=SSO_LOGIN_FAILED", op, nil)).body)
	require.Contains(t, platformAudit, `"invalid_state"`)
	for _, secret := range []string{idp.ClientSecret, q.Get("code"), q.Get("state")} {
		require.NotContains(t, tenantAudit, secret)
		require.NotContains(t, platformAudit, secret)
	}

	c.expect(204, c.do("DELETE", "/api/v1/tenants/"+tid+"/sso", owner, nil))
	c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "bob@example.com", "password": "Member-Passw0rd!"}, "X-Tenant-ID", "exa"))
}
