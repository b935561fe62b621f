package console

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

// mfaAPI stands in for the two login endpoints of the MFA work (issue 12, built in a
// parallel branch; the reference server's tests exercise everything else against the real
// API): POST /auth/login answers {"mfa_required":true,"mfa_token":...} and POST
// /auth/login/mfa trades that token and the code for the token pair. It pins the console's
// side of that contract.
type mfaAPI struct {
	gotCode, gotTenant string
	refreshed          []string // refresh tokens presented to /auth/refresh
	bearers            []string // Authorization headers of the other calls
}

func (a *mfaAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]string
	_ = json.NewDecoder(r.Body).Decode(&body)
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/api/v1/auth/login":
		_, _ = io.WriteString(w, `{"mfa_required":true,"mfa_token":"mfa-123"}`)
	case "/api/v1/auth/login/mfa":
		a.gotCode, a.gotTenant = body["code"], r.Header.Get("X-Tenant-ID")
		if body["mfa_token"] != "mfa-123" || body["code"] != "654321" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"status":401,"title":"Unauthorized","detail":"invalid code"}`)
			return
		}
		_, _ = io.WriteString(w, `{"access_token":"access-1","refresh_token":"refresh-1","token_type":"Bearer","expires_in":900}`)
	case "/api/v1/auth/refresh":
		a.refreshed = append(a.refreshed, body["refresh_token"])
		_, _ = io.WriteString(w, `{"access_token":"access-2","refresh_token":"refresh-2","token_type":"Bearer","expires_in":900}`)
	default:
		a.bearers = append(a.bearers, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"status":404,"title":"Not Found"}`)
	}
}

type tokenAuthn struct{ tenant eusaas.TenantID }

func (a tokenAuthn) Authenticate(_ context.Context, tok string) (auth.Principal, error) {
	if tok != "access-1" && tok != "access-2" {
		return auth.Principal{}, errors.New("bad token")
	}
	return auth.Principal{Kind: eusaas.ActorUser, UserID: "u1", TenantID: a.tenant, Role: auth.RoleOwner, Email: "o@x.example",
		Expires: time.Now().Add(15 * time.Minute)}, nil
}

func TestSignInWithSecondFactorAndRefresh(t *testing.T) {
	api := &mfaAPI{}
	tenant := eusaas.NewTenantID()
	var skew time.Duration
	c, err := New(Options{API: api, Authenticator: tokenAuthn{tenant}, Now: func() time.Time { return time.Now().Add(skew) }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	csrfRe := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	get := func(p string) (*http.Response, string) {
		res, err := hc.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(b)
	}
	post := func(p string, f url.Values) *http.Response {
		res, err := hc.PostForm(srv.URL+p, f)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	_, page := get("/console/signin")
	csrf := csrfRe.FindStringSubmatch(page)[1]
	res := post("/console/signin", url.Values{"csrf": {csrf}, "tenant": {"acme"}, "email": {"o@x.example"}, "password": {"pw"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/mfa" {
		t.Fatalf("password step: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	_, page = get("/console/mfa")
	if !strings.Contains(page, `autocomplete="one-time-code"`) {
		t.Fatalf("no code field: %s", page)
	}
	if res := post("/console/mfa", url.Values{"csrf": {csrf}, "code": {"000000"}}); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong code answered %d", res.StatusCode)
	}
	res = post("/console/mfa", url.Values{"csrf": {csrf}, "code": {" 654321 "}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/t/"+tenant.String()+"/overview" {
		t.Fatalf("code step: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if api.gotCode != "654321" || api.gotTenant != "acme" {
		t.Fatalf("sent code %q tenant %q", api.gotCode, api.gotTenant)
	}
	// Within the access token's life the console uses it; 20 minutes later (past its 15) it
	// renews the pair through /auth/refresh first and calls with the new token.
	get("/console/t/" + tenant.String() + "/overview")
	skew = 20 * time.Minute
	get("/console/t/" + tenant.String() + "/overview")
	if len(api.refreshed) != 1 || api.refreshed[0] != "refresh-1" {
		t.Fatalf("refresh calls %v", api.refreshed)
	}
	if len(api.bearers) != 2 || api.bearers[0] != "Bearer access-1" || api.bearers[1] != "Bearer access-2" {
		t.Fatalf("bearers %v", api.bearers)
	}

	// The pre-sign-in session (and its CSRF token) is gone: the id was rotated.
	if res := post("/console/signout", url.Values{"csrf": {csrf}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("the anonymous session's token still works after sign-in: %d", res.StatusCode)
	}
}
