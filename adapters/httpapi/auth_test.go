package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/adapters/httpapi/httpapitest"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/auth/memauth"
	"github.com/eusaas/eusaas/memtx"
)

var authTestKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

type authTenants map[string]auth.TenantInfo

func (t authTenants) Resolve(_ context.Context, s string) (auth.TenantInfo, error) {
	for slug, ti := range t {
		if slug == s || ti.ID.String() == s {
			return ti, nil
		}
	}
	return auth.TenantInfo{}, eusaas.E(eusaas.NotFound, "tenant not found")
}

type authRecorder struct {
	mu     sync.Mutex
	events []eusaas.AuditEvent
}

func (r *authRecorder) Record(_ context.Context, ev eusaas.AuditEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return nil
}

func (r *authRecorder) has(action string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if e.Action == action {
			return true
		}
	}
	return false
}

type authEnv struct {
	h      *httpapitest.Harness
	svc    *auth.Service
	store  *memauth.Store
	clock  *eusaas.FakeClock
	keys   *auth.KeySet
	rec    *authRecorder
	tenant eusaas.TenantID
	other  eusaas.TenantID
	// tenants is what the service resolves; tests may change a tenant's settings in it.
	tenants authTenants
}

const authPW = "Correct-Horse-9"

func newAuthEnv(t testing.TB, hopts ...auth.HasherOptions) *authEnv {
	t.Helper()
	e := &authEnv{clock: eusaas.NewFakeClock(time.Now()), store: memauth.NewStore(), rec: &authRecorder{}}
	var err error
	e.keys, err = auth.NewKeySet(authTestKey(), e.clock)
	require.NoError(t, err)
	ho := auth.HasherOptions{}
	if len(hopts) > 0 {
		ho = hopts[0]
	}
	hasher, err := auth.NewHasher(auth.OWASPParams, ho)
	require.NoError(t, err)
	e.h = httpapitest.New(t)
	e.tenant, e.other = e.h.NewTenant(), e.h.NewTenant()
	e.tenants = authTenants{"acme": {ID: e.tenant, Status: auth.TenantActive}, "other": {ID: e.other, Status: auth.TenantActive}}
	e.svc, err = auth.NewService(auth.Deps{Users: e.store, Operators: e.store, Sessions: e.store, Invitations: e.store,
		ServiceAccounts: e.store, Denylist: memauth.NewDenylist(e.clock), Limiter: memauth.NewLimiter(), Keys: e.keys, Tenants: e.tenants,
		Hasher: hasher, Tx: memtx.NewTxRunner(), Recorder: e.rec, Clock: e.clock}, auth.Config{})
	require.NoError(t, err)
	// The real authenticator replaces the harness's fake: these tests are about tokens.
	e.h.Server = httpapi.New(httpapi.Options{Version: "test", Authenticator: e.svc, TenantGate: e.h.Gate})
	httpapi.RegisterAuth(e.h.Server, e.svc)
	return e
}

// register creates a user of the tenant (by slug) through an invitation and returns the id.
func (e *authEnv) register(t testing.TB, slug string, tenant eusaas.TenantID, email string, role auth.Role) string {
	t.Helper()
	_, tok, err := e.svc.Invite(context.Background(), auth.Principal{Kind: eusaas.ActorOperator},
		auth.InviteInput{TenantID: tenant, Email: email, Role: role})
	require.NoError(t, err)
	r := e.h.Do("POST", "/api/v1/auth/register", map[string]string{"email": email, "password": authPW,
		"full_name": "Test User", "invitation_token": tok}, "", "X-Tenant-ID", slug)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var u struct {
		ID   string `json:"id"`
		Role string `json:"role"`
	}
	r.JSON(t, &u)
	require.Equal(t, string(role), u.Role)
	return u.ID
}

type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

func (e *authEnv) login(t testing.TB, slug, email string) tokens {
	t.Helper()
	r := e.h.Do("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": authPW}, "", "X-Tenant-ID", slug)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "no-store", r.Header.Get("Cache-Control"))
	var tk tokens
	r.JSON(t, &tk)
	return tk
}

func (e *authEnv) me(token string) *httpapitest.Response {
	return e.h.Do("GET", "/api/v1/auth/me", nil, token)
}

func requireProblem(t testing.TB, r *httpapitest.Response, status int, code string) {
	t.Helper()
	require.Equal(t, status, r.Status, "%s", r.Body)
	p := r.Problem(t)
	if code != "" {
		require.Equal(t, code, p.Code, "%s", r.Body)
	}
}

func TestAuthHTTPFlow(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	ctx := context.Background()
	owner, exp, err := e.svc.IssueOwnerInvitation(ctx, e.tenant, "owner@example.com")
	require.NoError(t, err)
	require.True(t, exp.After(e.clock.Now()))

	r := e.h.Do("POST", "/api/v1/auth/register", map[string]string{"email": "owner@example.com", "password": authPW,
		"full_name": "Olga Owner", "invitation_token": owner}, "", "X-Tenant-ID", e.tenant.String())
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var u map[string]any
	r.JSON(t, &u)
	require.Equal(t, "OWNER", u["role"])
	require.Equal(t, e.tenant.String(), u["tenant_id"])
	require.Equal(t, true, u["is_active"])
	require.Nil(t, u["last_login_at"])
	require.NotContains(t, string(r.Body), "password")

	tk := e.login(t, "acme", "owner@example.com")
	require.Equal(t, "Bearer", tk.TokenType)
	require.Equal(t, 900, tk.ExpiresIn)

	r = e.me(tk.AccessToken)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r.JSON(t, &u)
	require.Equal(t, "owner@example.com", u["email"])
	require.NotNil(t, u["last_login_at"])

	// Refresh from the body and from the Bearer header.
	r = e.h.Do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": tk.RefreshToken}, "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var tk2 tokens
	r.JSON(t, &tk2)
	e.clock.Advance(time.Minute)
	r = e.h.Do("POST", "/api/v1/auth/refresh", nil, tk2.RefreshToken)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var tk3 tokens
	r.JSON(t, &tk3)
	require.NotEqual(t, tk2.RefreshToken, tk3.RefreshToken)

	// Logout: 204, then the access token and the session are dead.
	r = e.h.Do("POST", "/api/v1/auth/logout", map[string]string{"refresh_token": tk3.RefreshToken}, tk3.AccessToken)
	require.Equal(t, http.StatusNoContent, r.Status, "%s", r.Body)
	requireProblem(t, e.me(tk3.AccessToken), http.StatusUnauthorized, "unauthenticated")
	requireProblem(t, e.h.Do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": tk3.RefreshToken}, ""), http.StatusUnauthorized, "invalid_refresh_token")
	for _, a := range []string{auth.ActionLogin, auth.ActionLogout, auth.ActionRegister} {
		require.True(t, e.rec.has(a), a)
	}

	// JWKS: public, cacheable, the active key by its thumbprint.
	r = e.h.Do("GET", "/.well-known/jwks.json", nil, "")
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, "public, max-age=300", r.Header.Get("Cache-Control"))
	var set auth.JWKSet
	r.JSON(t, &set)
	require.Len(t, set.Keys, 1)
	require.Equal(t, auth.Thumbprint(&authTestKey().PublicKey), set.Keys[0].Kid)
	require.Equal(t, "RS256", set.Keys[0].Alg)

	// Every route is in the generated OpenAPI document.
	r = e.h.Do("GET", "/openapi.json", nil, "")
	require.Equal(t, http.StatusOK, r.Status)
	for _, p := range []string{"/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout",
		"/api/v1/auth/me", "/.well-known/jwks.json", "/api/v1/tenants/{id}/invitations"} {
		require.Contains(t, string(r.Body), `"`+p+`"`)
	}
}

func TestAuthHTTPBadInput(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	e.register(t, "acme", e.tenant, "ada@example.com", auth.RoleMember)
	secret := "weakpass"
	r := e.h.Do("POST", "/api/v1/auth/register", map[string]string{"email": "b@example.com", "password": secret, "full_name": "B"}, "", "X-Tenant-ID", "acme")
	requireProblem(t, r, http.StatusUnprocessableEntity, "validation_failed")
	require.NotContains(t, string(r.Body), secret, "a password is never echoed")
	require.Contains(t, string(r.Body), "body.password")

	long := strings.Repeat("Aa1!", 40)
	r = e.h.Do("POST", "/api/v1/auth/register", map[string]string{"email": "b@example.com", "password": long, "full_name": "B"}, "", "X-Tenant-ID", "acme")
	requireProblem(t, r, http.StatusUnprocessableEntity, "validation_failed")
	require.NotContains(t, string(r.Body), long)

	// A wrongly typed password field: huma's own validation must not echo it either.
	r = e.h.Do("POST", "/api/v1/auth/login", `{"email":"ada@example.com","password":["Sup3r-Secret-Value"]}`, "", "X-Tenant-ID", "acme")
	requireProblem(t, r, http.StatusUnprocessableEntity, "")
	require.NotContains(t, string(r.Body), "Sup3r-Secret-Value")

	// Duplicate email in the tenant: 409.
	_, tok, err := e.svc.Invite(context.Background(), auth.Principal{Kind: eusaas.ActorOperator}, auth.InviteInput{TenantID: e.tenant, Email: "ada@example.com", Role: auth.RoleViewer})
	require.NoError(t, err)
	r = e.h.Do("POST", "/api/v1/auth/register", map[string]string{"email": "ada@example.com", "password": authPW, "full_name": "A", "invitation_token": tok}, "", "X-Tenant-ID", "acme")
	requireProblem(t, r, http.StatusConflict, "email_taken")

	// No invitation and no self-registration: 403; unknown tenant on register: 404.
	r = e.h.Do("POST", "/api/v1/auth/register", map[string]string{"email": "c@example.com", "password": authPW, "full_name": "C"}, "", "X-Tenant-ID", "acme")
	requireProblem(t, r, http.StatusForbidden, "invitation_required")
	r = e.h.Do("POST", "/api/v1/auth/register", map[string]string{"email": "c@example.com", "password": authPW, "full_name": "C"}, "", "X-Tenant-ID", "nope")
	requireProblem(t, r, http.StatusNotFound, "tenant_not_found")

	// Login failures are one and the same 401, whatever failed, and never echo the password.
	var bodies []string
	for _, c := range []struct{ tenant, email, pw string }{
		{"acme", "ada@example.com", "Wrong-Password-1"},
		{"acme", "nobody@example.com", authPW},
		{"nope", "ada@example.com", authPW},
		{"", "ada@example.com", authPW},
	} {
		hdr := []string{}
		if c.tenant != "" {
			hdr = []string{"X-Tenant-ID", c.tenant}
		}
		r := e.h.Do("POST", "/api/v1/auth/login", map[string]string{"email": c.email, "password": c.pw}, "", hdr...)
		requireProblem(t, r, http.StatusUnauthorized, "invalid_credentials")
		require.NotContains(t, string(r.Body), c.pw)
		p := r.Problem(t)
		bodies = append(bodies, p.Title+"|"+p.Detail+"|"+p.Code)
	}
	for _, b := range bodies {
		require.Equal(t, bodies[0], b)
	}
	require.True(t, e.rec.has(auth.ActionLoginFailed))

	// Malformed tokens: 401.
	for _, tok := range []string{"x", "a.b.c", strings.Repeat("A", 9000)} {
		requireProblem(t, e.me(tok), http.StatusUnauthorized, "unauthenticated")
	}
	requireProblem(t, e.me(""), http.StatusUnauthorized, "unauthenticated")
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func segments(t testing.TB, tok string) (header, payload map[string]any, parts []string) {
	t.Helper()
	parts = strings.Split(tok, ".")
	require.Len(t, parts, 3)
	for i, dst := range []*map[string]any{&header, &payload} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, dst))
	}
	return header, payload, parts
}

// resign signs claims (a modified copy of a genuine payload) with key under kid.
func resign(t testing.TB, method jwt.SigningMethod, key any, kid string, claims map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, jwt.MapClaims(claims))
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

// TestAuthAttacks: every forged, stale or revoked token is answered 401, and each case has a
// genuine control that is answered 200 — so the test fails if verification is switched off.
func TestAuthAttacks(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	uid := e.register(t, "acme", e.tenant, "ada@example.com", auth.RoleMember)
	tk := e.login(t, "acme", "ada@example.com")
	require.Equal(t, http.StatusOK, e.me(tk.AccessToken).Status, "control: the genuine token works")
	header, payload, parts := segments(t, tk.AccessToken)
	kid := header["kid"].(string)
	require.Equal(t, "RS256", header["alg"])

	clone := func() map[string]any {
		m := map[string]any{}
		for k, v := range payload {
			m[k] = v
		}
		return m
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&authTestKey().PublicKey)
	require.NoError(t, err)
	pubPEM, err := auth.EncodePublicKeyPEM(&authTestKey().PublicKey)
	require.NoError(t, err)
	attacker, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)

	// Control for the re-signing helper: a copy re-signed with the real key is accepted.
	require.Equal(t, http.StatusOK, e.me(resign(t, jwt.SigningMethodRS256, authTestKey(), kid, clone())).Status)

	wrongIss := clone()
	wrongIss["iss"] = "https://evil.example"
	wrongAud := clone()
	wrongAud["aud"] = []string{"another-api"}
	noExp := clone()
	delete(noExp, "exp")
	promoted := clone()
	promoted["role"] = "OWNER"
	otherTenant := clone()
	otherTenant["tenant_id"] = e.other.String()

	attacks := map[string]string{
		"alg none":                      b64(map[string]any{"alg": "none", "typ": "JWT", "kid": kid}) + "." + parts[1] + ".",
		"alg none, signature kept":      b64(map[string]any{"alg": "none", "typ": "JWT", "kid": kid}) + "." + parts[1] + "." + parts[2],
		"HS256 with the public key PEM": resign(t, jwt.SigningMethodHS256, pubPEM, kid, clone()),
		"HS256 with the public key DER": resign(t, jwt.SigningMethodHS256, pubDER, kid, clone()),
		"RS512 with our key":            resign(t, jwt.SigningMethodRS512, authTestKey(), kid, clone()),
		"PS256 with our key":            resign(t, jwt.SigningMethodPS256, authTestKey(), kid, clone()),
		"wrong issuer":                  resign(t, jwt.SigningMethodRS256, authTestKey(), kid, wrongIss),
		"wrong audience":                resign(t, jwt.SigningMethodRS256, authTestKey(), kid, wrongAud),
		"no exp":                        resign(t, jwt.SigningMethodRS256, authTestKey(), kid, noExp),
		"unknown kid":                   resign(t, jwt.SigningMethodRS256, attacker, auth.Thumbprint(&attacker.PublicKey), clone()),
		"our kid, attacker's key":       resign(t, jwt.SigningMethodRS256, attacker, kid, clone()),
		"no kid":                        resign(t, jwt.SigningMethodRS256, authTestKey(), "", clone()),
		"tampered payload (role)":       parts[0] + "." + b64(promoted) + "." + parts[2],
		"tampered payload (tenant)":     parts[0] + "." + b64(otherTenant) + "." + parts[2],
		"truncated signature":           parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])/2],
	}
	for name, tok := range attacks {
		r := e.me(tok)
		require.Equal(t, http.StatusUnauthorized, r.Status, "%s: %s", name, r.Body)
		require.Equal(t, `Bearer realm="eusaas"`, r.Header.Get("WWW-Authenticate"), name)
	}

	t.Run("expired", func(t *testing.T) {
		tk := e.login(t, "acme", "ada@example.com")
		e.clock.Advance(15*time.Minute + 20*time.Second)
		require.Equal(t, http.StatusOK, e.me(tk.AccessToken).Status, "within the 30s leeway")
		e.clock.Advance(11 * time.Second)
		requireProblem(t, e.me(tk.AccessToken), http.StatusUnauthorized, "unauthenticated")
	})
	t.Run("not yet valid", func(t *testing.T) {
		future := clone()
		n := float64(e.clock.Now().Add(10 * time.Minute).Unix())
		future["nbf"], future["iat"] = n, n
		future["exp"] = n + 900
		requireProblem(t, e.me(resign(t, jwt.SigningMethodRS256, authTestKey(), kid, future)), http.StatusUnauthorized, "")
	})
	t.Run("logged out", func(t *testing.T) {
		tk := e.login(t, "acme", "ada@example.com")
		require.Equal(t, http.StatusNoContent, e.h.Do("POST", "/api/v1/auth/logout", nil, tk.AccessToken).Status)
		requireProblem(t, e.me(tk.AccessToken), http.StatusUnauthorized, "unauthenticated")
	})
	t.Run("deactivated user", func(t *testing.T) {
		tk := e.login(t, "acme", "ada@example.com")
		require.Equal(t, http.StatusOK, e.me(tk.AccessToken).Status)
		id, err := parseUUID(uid)
		require.NoError(t, err)
		require.NoError(t, e.svc.SetUserActive(context.Background(), e.tenant, id, false))
		requireProblem(t, e.me(tk.AccessToken), http.StatusUnauthorized, "unauthenticated")
	})
}

func TestAuthHTTPRefreshReuse(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	e.register(t, "acme", e.tenant, "ada@example.com", auth.RoleMember)
	t0 := e.login(t, "acme", "ada@example.com")
	refresh := func(tok string) *httpapitest.Response {
		return e.h.Do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": tok}, "")
	}
	var t1, t1again, t2 tokens
	r := refresh(t0.RefreshToken)
	require.Equal(t, http.StatusOK, r.Status)
	r.JSON(t, &t1)
	r = refresh(t0.RefreshToken) // lost response, retried at once: the same pair
	require.Equal(t, http.StatusOK, r.Status)
	r.JSON(t, &t1again)
	require.Equal(t, t1, t1again)
	e.clock.Advance(time.Minute)
	r = refresh(t1.RefreshToken)
	require.Equal(t, http.StatusOK, r.Status)
	r.JSON(t, &t2)

	requireProblem(t, refresh(t0.RefreshToken), http.StatusUnauthorized, "invalid_refresh_token")
	require.True(t, e.rec.has(auth.ActionRefreshReuse), "a security audit event")
	requireProblem(t, refresh(t2.RefreshToken), http.StatusUnauthorized, "invalid_refresh_token")
	requireProblem(t, e.me(t2.AccessToken), http.StatusUnauthorized, "unauthenticated")
}

func TestAuthHTTPInvitations(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	e.register(t, "acme", e.tenant, "admin@example.com", auth.RoleAdmin)
	e.register(t, "acme", e.tenant, "member@example.com", auth.RoleMember)
	e.register(t, "other", e.other, "b-admin@example.com", auth.RoleAdmin)
	admin := e.login(t, "acme", "admin@example.com").AccessToken
	member := e.login(t, "acme", "member@example.com").AccessToken
	bAdmin := e.login(t, "other", "b-admin@example.com").AccessToken
	path := "/api/v1/tenants/" + e.tenant.String() + "/invitations"

	r := e.h.Do("POST", path, map[string]string{"email": "New@Example.com", "role": "VIEWER"}, admin)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	require.Equal(t, "no-store", r.Header.Get("Cache-Control"))
	var inv struct {
		ID, Email, Role, Token string
		ExpiresAt              time.Time `json:"expires_at"`
	}
	r.JSON(t, &inv)
	require.Equal(t, "new@example.com", inv.Email)
	require.Equal(t, "VIEWER", inv.Role)
	require.NotEmpty(t, inv.Token)

	r = e.h.Do("POST", "/api/v1/auth/register", map[string]string{"email": "new@example.com", "password": authPW, "full_name": "N", "invitation_token": inv.Token}, "", "X-Tenant-ID", "acme")
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	r = e.h.Do("POST", "/api/v1/auth/register", map[string]string{"email": "new@example.com", "password": authPW, "full_name": "N", "invitation_token": inv.Token}, "", "X-Tenant-ID", "acme")
	requireProblem(t, r, http.StatusForbidden, "invalid_invitation")

	requireProblem(t, e.h.Do("POST", path, map[string]string{"email": "x@example.com", "role": "VIEWER"}, member), http.StatusForbidden, "")
	requireProblem(t, e.h.Do("POST", path, map[string]string{"email": "x@example.com", "role": "OWNER"}, admin), http.StatusForbidden, "")
	requireProblem(t, e.h.Do("POST", path, map[string]string{"email": "x@example.com", "role": "VIEWER"}, bAdmin), http.StatusForbidden, "")
	requireProblem(t, e.h.Do("POST", path, map[string]string{"email": "x@example.com", "role": "VIEWER"}, ""), http.StatusUnauthorized, "")
	requireProblem(t, e.h.Do("POST", path, map[string]string{"email": "x", "role": "VIEWER"}, admin), http.StatusUnprocessableEntity, "")
	// The invitation token is a secret too: a failed registration never echoes it.
	r = e.h.Do("POST", "/api/v1/auth/register", map[string]string{"email": "bad", "password": authPW, "full_name": "N", "invitation_token": inv.Token}, "", "X-Tenant-ID", "acme")
	requireProblem(t, r, http.StatusUnprocessableEntity, "")
	require.NotContains(t, string(r.Body), inv.Token)

	// An operator may invite into any tenant, but only one that exists: an unknown id was
	// answered 201 and the invitation stored.
	_, err := e.svc.BootstrapOperator(context.Background(), "root@example.com", authPW)
	require.NoError(t, err)
	r = e.h.Do("POST", "/api/v1/auth/login", map[string]string{"email": "root@example.com", "password": authPW}, "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var op tokens
	r.JSON(t, &op)
	r = e.h.Do("POST", path, map[string]string{"email": "x@example.com", "role": "OWNER"}, op.AccessToken)
	require.Equal(t, http.StatusCreated, r.Status, "control: the operator invites into a live tenant: %s", r.Body)
	requireProblem(t, e.h.Do("POST", "/api/v1/tenants/"+eusaas.NewTenantID().String()+"/invitations",
		map[string]string{"email": "x@example.com", "role": "OWNER"}, op.AccessToken), http.StatusNotFound, "tenant_not_found")
}

// TestAuthHTTPBusy: with the hashing semaphore saturated, logins beyond the queue get 429
// with Retry-After, never a hang or a 500.
func TestAuthHTTPBusy(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, auth.HasherOptions{MaxConcurrent: 1, MaxWaiting: 1, MaxWait: 10 * time.Millisecond})
	e.register(t, "acme", e.tenant, "ada@example.com", auth.RoleMember)
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	retryAfter := ""
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(map[string]string{"email": "ada@example.com", "password": authPW})
			req := httptest.NewRequest("POST", "/api/v1/auth/login", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Tenant-ID", "acme")
			rec := httptest.NewRecorder()
			e.h.Server.Handler().ServeHTTP(rec, req)
			mu.Lock()
			defer mu.Unlock()
			statuses[rec.Code]++
			if rec.Code == http.StatusTooManyRequests {
				retryAfter = rec.Header().Get("Retry-After")
			}
		}()
	}
	wg.Wait()
	require.Positive(t, statuses[http.StatusOK], "%v", statuses)
	require.Positive(t, statuses[http.StatusTooManyRequests], "%v", statuses)
	require.Equal(t, 12, statuses[http.StatusOK]+statuses[http.StatusTooManyRequests], "%v", statuses)
	require.Equal(t, "1", retryAfter)
}

// TestAuthJoseVerifiesWithJWKS: an independent JWT implementation (npm jose) verifies our
// access token knowing nothing but the JWKS URL, and rejects a tampered copy.
func TestAuthJoseVerifiesWithJWKS(t *testing.T) {
	if testing.Short() {
		t.Skip("jose check: skipped in -short mode (needs node, npm and the npm registry)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("jose check: node not found on PATH; install Node.js >= 18 to run it")
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("jose check: npm not found on PATH")
	}
	dir := joseDir(t, npm)

	e := newAuthEnv(t)
	e.clock.Set(time.Now()) // jose checks times against the real clock
	e.register(t, "acme", e.tenant, "ada@example.com", auth.RoleMember)
	tk := e.login(t, "acme", "ada@example.com")
	srv := httptest.NewServer(e.h.Server.Handler())
	defer srv.Close()
	cfg := e.svc.Config()

	run := func(tok string) (map[string]any, error) {
		cmd := exec.Command(node, filepath.Join(dir, "verify.mjs"), srv.URL+"/.well-known/jwks.json", tok, cfg.Issuer, cfg.Audience)
		cmd.Dir = dir
		out, err := cmd.Output()
		var res map[string]any
		require.NoError(t, json.Unmarshal(bytes.TrimSpace(out), &res), "jose output: %s", out)
		return res, err
	}
	res, err := run(tk.AccessToken)
	require.NoError(t, err, "jose rejected our token: %v", res)
	require.Equal(t, true, res["ok"])
	payload := res["payload"].(map[string]any)
	require.Equal(t, e.tenant.String(), payload["tenant_id"])
	require.Equal(t, "MEMBER", payload["role"])
	require.Equal(t, auth.Thumbprint(&authTestKey().PublicKey), res["header"].(map[string]any)["kid"])

	_, payloadSeg, parts := segments(t, tk.AccessToken)
	payloadSeg["role"] = "OWNER"
	res, err = run(parts[0] + "." + b64(payloadSeg) + "." + parts[2])
	require.Error(t, err, "control: jose must reject a tampered token")
	require.Equal(t, "ERR_JWS_SIGNATURE_VERIFICATION_FAILED", res["code"])
}

// joseDir installs jose once per machine into a cache directory (node_modules stays out of
// the repository) and returns the directory holding verify.mjs.
func joseDir(t *testing.T, npm string) string {
	t.Helper()
	pkg, err := os.ReadFile("testdata/jose/package.json")
	require.NoError(t, err)
	script, err := os.ReadFile("testdata/jose/verify.mjs")
	require.NoError(t, err)
	dir := filepath.Join(os.TempDir(), "eusaas-jose-check")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "verify.mjs"), script, 0o644))
	old, _ := os.ReadFile(filepath.Join(dir, "package.json"))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "jose")); err != nil || !bytes.Equal(old, pkg) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "package.json"), pkg, 0o644))
		cmd := exec.Command(npm, "install", "--no-audit", "--no-fund", "--silent")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("jose check: npm install failed (offline?): %v\n%s", err, out)
		}
	}
	return dir
}

func parseUUID(s string) (uuid.UUID, error) { return uuid.Parse(s) }

type authBenchOut struct {
	Body struct {
		User string `json:"user"`
	}
}

// BenchmarkAuthMiddleware: the cost of a protected request through the whole stack with the
// real authenticator (RS256 verification, denylist, account and session checks on the memory
// stores) against a bare net/http handler doing the same JSON work, and the same stack on a
// public route without a token (the stack's own overhead).
func BenchmarkAuthMiddleware(b *testing.B) {
	e := newAuthEnv(b)
	e.register(b, "acme", e.tenant, "ada@example.com", auth.RoleMember)
	tk := e.login(b, "acme", "ada@example.com")
	s := e.h.Server
	httpapi.Register(s, huma.Operation{OperationID: "bench-protected", Method: http.MethodGet, Path: "/bench/protected", Security: httpapi.BearerAuth},
		func(ctx context.Context, _ *struct{}) (*authBenchOut, error) {
			p, err := s.Principal(ctx)
			if err != nil {
				return nil, err
			}
			out := &authBenchOut{}
			out.Body.User = p.UserID
			return out, nil
		})
	httpapi.Register(s, huma.Operation{OperationID: "bench-public", Method: http.MethodGet, Path: "/bench/public", Security: httpapi.Public},
		func(ctx context.Context, _ *struct{}) (*authBenchOut, error) {
			out := &authBenchOut{}
			out.Body.User = "anonymous"
			return out, nil
		})
	serve := func(b *testing.B, h http.Handler, path, token string) {
		req := httptest.NewRequest("GET", path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	}
	b.Run("baseline-bare-handler", func(b *testing.B) {
		serve(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"user": "x"})
		}), "/x", "")
	})
	b.Run("stack-public-no-token", func(b *testing.B) { serve(b, s.Handler(), "/bench/public", "") })
	b.Run("stack-protected-real-auth", func(b *testing.B) { serve(b, s.Handler(), "/bench/protected", tk.AccessToken) })
}

// lockedBuffer is a log sink safe for the server's concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// No failure path writes a password or a token to the log, at any level.
func TestAuthFailuresLogNoSecrets(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	var logs lockedBuffer
	e.h.Server = httpapi.New(httpapi.Options{Version: "test", Authenticator: e.svc, TenantGate: e.h.Gate,
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	httpapi.RegisterAuth(e.h.Server, e.svc)
	e.register(t, "acme", e.tenant, "ada@example.com", auth.RoleMember)
	tk := e.login(t, "acme", "ada@example.com")

	secrets := []string{authPW, "Wrong-Passw0rd!", "weakpass", tk.AccessToken, tk.RefreshToken}
	e.h.Do("POST", "/api/v1/auth/login", map[string]string{"email": "ada@example.com", "password": "Wrong-Passw0rd!"}, "", "X-Tenant-ID", "acme")
	e.h.Do("POST", "/api/v1/auth/login", map[string]string{"email": "nobody@example.com", "password": authPW}, "", "X-Tenant-ID", "nope")
	e.h.Do("POST", "/api/v1/auth/register", map[string]string{"email": "b@example.com", "password": "weakpass", "full_name": "B"}, "", "X-Tenant-ID", "acme")
	e.h.Do("POST", "/api/v1/auth/register", `{"email":"b@example.com","password":["`+authPW+`"],"full_name":"B"}`, "", "X-Tenant-ID", "acme")
	// Rotate, then replay the old refresh token: reuse revokes the session.
	r := e.h.Do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": tk.RefreshToken}, "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var next tokens
	r.JSON(t, &next)
	secrets = append(secrets, next.AccessToken, next.RefreshToken)
	e.clock.Advance(time.Minute)
	requireProblem(t, e.h.Do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": tk.RefreshToken}, ""), http.StatusUnauthorized, "")
	requireProblem(t, e.me(next.AccessToken), http.StatusUnauthorized, "")
	requireProblem(t, e.me(tk.AccessToken+"x"), http.StatusUnauthorized, "")
	e.h.Do("POST", "/api/v1/auth/logout", map[string]string{"refresh_token": next.RefreshToken}, next.AccessToken)

	out := logs.String()
	require.Contains(t, out, `"route":"/api/v1/auth/refresh"`, "control: the requests were logged")
	for _, s := range secrets {
		require.NotContains(t, out, s)
	}
}

// A tenant at its settings.max_users refuses registration with a 409 problem, whose detail
// names the limit; the invitation stays usable once a seat is free.
func TestAuthHTTPRegisterTenantUserLimit(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	e.tenants["acme"] = auth.TenantInfo{ID: e.tenant, Status: auth.TenantActive, MaxUsers: 1}
	e.register(t, "acme", e.tenant, "owner@example.com", auth.RoleOwner)
	_, tok, err := e.svc.Invite(context.Background(), auth.Principal{Kind: eusaas.ActorOperator}, auth.InviteInput{TenantID: e.tenant, Email: "bob@example.com", Role: auth.RoleMember})
	require.NoError(t, err)
	body := map[string]string{"email": "bob@example.com", "password": authPW, "full_name": "Bob", "invitation_token": tok}
	r := e.h.Do("POST", "/api/v1/auth/register", body, "", "X-Tenant-ID", "acme")
	requireProblem(t, r, http.StatusConflict, "tenant_user_limit")
	require.Contains(t, r.Problem(t).Detail, "max_users")
	require.NotContains(t, string(r.Body), tok)

	// The other tenant is not affected.
	e.register(t, "other", e.other, "owner@example.com", auth.RoleOwner)

	e.tenants["acme"] = auth.TenantInfo{ID: e.tenant, Status: auth.TenantActive, MaxUsers: 2}
	r = e.h.Do("POST", "/api/v1/auth/register", body, "", "X-Tenant-ID", "acme")
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
}
