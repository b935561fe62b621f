package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/adapters/httpapi/httpapitest"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/membilling"
	"github.com/eusaas/eusaas/memtx"
)

type authServiceAccount struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	ClientID     string    `json:"client_id"`
	ClientSecret string    `json:"client_secret"`
	CreatedAt    time.Time `json:"created_at"`
}

// operatorToken bootstraps a platform operator and logs it in.
func (e *authEnv) operatorToken(t *testing.T) string {
	t.Helper()
	_, err := e.svc.BootstrapOperator(context.Background(), "op@example.com", authPW)
	require.NoError(t, err)
	r := e.h.Do("POST", "/api/v1/auth/login", map[string]string{"email": "op@example.com", "password": authPW}, "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var tk tokens
	r.JSON(t, &tk)
	return tk.AccessToken
}

func (e *authEnv) clientToken(clientID, secret string) *httpapitest.Response {
	return e.h.Do("POST", "/api/v1/auth/token", map[string]string{"grant_type": "client_credentials",
		"client_id": clientID, "client_secret": secret}, "")
}

func TestAuthHTTPServiceAccounts(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	// Billing on the same server: the service token's one permission is usage ingestion.
	bsvc, err := billing.NewService(billing.Deps{Usage: membilling.NewUsageStore(), Invoices: membilling.NewInvoiceStore(), Prices: membilling.NewPriceStore(), Tx: memtx.NewTxRunner()}, billing.Options{Clock: e.clock})
	require.NoError(t, err)
	httpapi.RegisterBilling(e.h.Server, bsvc)
	op := e.operatorToken(t)
	e.register(t, "acme", e.tenant, "owner@example.com", auth.RoleOwner)
	owner := e.login(t, "acme", "owner@example.com").AccessToken

	// Only operators manage service accounts: a tenant OWNER gets 403, nobody 401.
	body := map[string]string{"name": "metering agent"}
	requireProblem(t, e.h.Do("POST", "/api/v1/service-accounts", body, owner), http.StatusForbidden, "")
	requireProblem(t, e.h.Do("GET", "/api/v1/service-accounts", nil, owner), http.StatusForbidden, "")
	requireProblem(t, e.h.Do("POST", "/api/v1/service-accounts", body, ""), http.StatusUnauthorized, "")
	requireProblem(t, e.h.Do("POST", "/api/v1/service-accounts", map[string]string{"name": " "}, op), http.StatusUnprocessableEntity, "")

	r := e.h.Do("POST", "/api/v1/service-accounts", body, op)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	require.Equal(t, "no-store", r.Header.Get("Cache-Control"))
	var sa authServiceAccount
	r.JSON(t, &sa)
	require.Equal(t, "metering agent", sa.Name)
	require.True(t, strings.HasPrefix(sa.ClientID, "svc_"), sa.ClientID)
	require.GreaterOrEqual(t, len(sa.ClientSecret), 43, "a 32-byte secret")
	require.False(t, sa.CreatedAt.IsZero())
	require.True(t, e.rec.has(auth.ActionServiceAccountCreated))
	stored, err := e.store.GetServiceAccountByClientID(context.Background(), sa.ClientID)
	require.NoError(t, err)
	require.NotContains(t, string(stored.SecretHash), sa.ClientSecret, "only a hash is stored")
	require.Len(t, stored.SecretHash, 32)

	r = e.h.Do("GET", "/api/v1/service-accounts", nil, op)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.NotContains(t, string(r.Body), sa.ClientSecret, "the list never shows secrets")
	require.NotContains(t, string(r.Body), "client_secret")
	var list struct {
		Items      []authServiceAccount `json:"items"`
		Pagination struct {
			TotalItems int `json:"total_items"`
		} `json:"pagination"`
	}
	r.JSON(t, &list)
	require.Len(t, list.Items, 1)
	require.Equal(t, sa.ID, list.Items[0].ID)
	require.Equal(t, 1, list.Pagination.TotalItems)

	// Wrong credentials: the login's 401 problem, counted by the brute-force limiter.
	requireProblem(t, e.clientToken(sa.ClientID, sa.ClientSecret+"x"), http.StatusUnauthorized, "invalid_credentials")
	requireProblem(t, e.clientToken("svc_nobody", sa.ClientSecret), http.StatusUnauthorized, "invalid_credentials")
	requireProblem(t, e.h.Do("POST", "/api/v1/auth/token", map[string]string{"grant_type": "password",
		"client_id": sa.ClientID, "client_secret": sa.ClientSecret}, ""), http.StatusUnprocessableEntity, "")
	require.True(t, e.rec.has(auth.ActionLoginFailed))

	// The client-credentials grant: an access token, no refresh token.
	r = e.clientToken(sa.ClientID, sa.ClientSecret)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "no-store", r.Header.Get("Cache-Control"))
	require.NotContains(t, string(r.Body), "refresh_token")
	var tk tokens
	r.JSON(t, &tk)
	require.Equal(t, "Bearer", tk.TokenType)
	require.Equal(t, 900, tk.ExpiresIn)
	claims := jwt.MapClaims{}
	_, _, err = jwt.NewParser().ParseUnverified(tk.AccessToken, claims)
	require.NoError(t, err)
	require.Equal(t, "service", claims["kind"])
	require.Equal(t, sa.ID, claims["sub"])
	require.NotContains(t, claims, "tenant_id")
	require.NotContains(t, claims, "role")
	svcTok := tk.AccessToken
	e.rec.mu.Lock()
	var login *eusaas.AuditEvent
	for i, ev := range e.rec.events {
		if ev.Action == auth.ActionLogin && ev.Actor.Kind == eusaas.ActorService {
			login = &e.rec.events[i]
		}
	}
	e.rec.mu.Unlock()
	require.NotNil(t, login, "token issuance is a LOGIN by the service")
	require.Equal(t, sa.ID, login.Actor.ID)
	require.True(t, login.TenantID.IsZero(), "on the platform chain")

	// The service token ingests usage for any tenant ...
	usage := map[string]any{"events": []map[string]any{{"id": "ev-1", "resource_type": "CPU", "quantity": "2",
		"timestamp": e.clock.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}}}
	for _, tn := range []eusaas.TenantID{e.tenant, e.other} {
		r = e.h.Do("POST", "/api/v1/tenants/"+tn.String()+"/usage", usage, svcTok)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.Contains(t, string(r.Body), `"accepted":1`)
	}
	// ... and nothing else.
	day := e.clock.Now().UTC().Format("2006-01-02")
	base := "/api/v1/tenants/" + e.tenant.String()
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", base + "/costs?start_date=" + day + "&end_date=" + day, nil},
		{"GET", base + "/costs/current", nil},
		{"GET", base + "/invoices", nil},
		{"POST", base + "/invitations", map[string]string{"email": "x@example.com", "role": "VIEWER"}},
		{"GET", "/api/v1/service-accounts", nil},
		{"POST", "/api/v1/service-accounts", body},
		{"GET", "/api/v1/auth/me", nil},
	} {
		requireProblem(t, e.h.Do(c.method, c.path, c.body, svcTok), http.StatusForbidden, "")
	}
	// The owner sees the service's usage in its costs.
	from := e.clock.Now().Add(-time.Hour).UTC().Format("2006-01-02") // the event's day
	r = e.h.Do("GET", base+"/costs?start_date="+from+"&end_date="+day, nil, owner)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), `"CPU"`)

	// Revocation: the token stops working at once, the credentials mint no new one, the
	// account leaves the list, and a second revocation is 404.
	requireProblem(t, e.h.Do("DELETE", "/api/v1/service-accounts/"+sa.ID, nil, owner), http.StatusForbidden, "")
	requireProblem(t, e.h.Do("DELETE", "/api/v1/service-accounts/not-a-uuid", nil, op), http.StatusUnprocessableEntity, "")
	r = e.h.Do("DELETE", "/api/v1/service-accounts/"+sa.ID, nil, op)
	require.Equal(t, http.StatusNoContent, r.Status, "%s", r.Body)
	require.True(t, e.rec.has(auth.ActionServiceAccountRevoked))
	requireProblem(t, e.h.Do("POST", base+"/usage", usage, svcTok), http.StatusUnauthorized, "unauthenticated")
	requireProblem(t, e.clientToken(sa.ClientID, sa.ClientSecret), http.StatusUnauthorized, "invalid_credentials")
	requireProblem(t, e.h.Do("DELETE", "/api/v1/service-accounts/"+sa.ID, nil, op), http.StatusNotFound, "service_account_not_found")
	r = e.h.Do("GET", "/api/v1/service-accounts", nil, op)
	r.JSON(t, &list)
	require.Empty(t, list.Items)
}

// TestAuthHTTPServiceTokenBruteForce: failed client-credentials attempts count in the login
// limiter; past the lockout even the right secret is refused with the same 401.
func TestAuthHTTPServiceTokenBruteForce(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	a, secret, err := e.svc.CreateServiceAccount(context.Background(), auth.Principal{Kind: eusaas.ActorOperator, UserID: "op"}, "agent")
	require.NoError(t, err)
	lock := e.svc.Config().AccountLimit.LockoutAfter
	for i := 0; i < lock; i++ {
		requireProblem(t, e.clientToken(a.ClientID, "wrong"), http.StatusUnauthorized, "invalid_credentials")
		e.clock.Advance(e.svc.Config().AccountLimit.MaxDelay) // past every back-off delay
	}
	requireProblem(t, e.clientToken(a.ClientID, secret), http.StatusUnauthorized, "invalid_credentials")
	e.clock.Advance(e.svc.Config().AccountLimit.Lockout + time.Second)
	require.Equal(t, http.StatusOK, e.clientToken(a.ClientID, secret).Status)
}
