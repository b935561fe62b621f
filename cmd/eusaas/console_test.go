package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/adapters/console"
	"github.com/eusaas/eusaas/internal/pgtest"
	"github.com/eusaas/eusaas/internal/redistest"
)

const wantCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"

// TestConsoleSecurity: every console page carries the strict CSP; posts without the
// session's CSRF token are refused and change nothing; a tenant's user cannot reach another
// tenant's pages; the session cookie's flags; a VIEWER is shown no write action.
func TestConsoleSecurity(t *testing.T) {
	w := newConsoleWorld(t)
	acme := "/console/t/" + w.acme

	t.Run("root redirects to the console", func(t *testing.T) {
		hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := hc.Get(w.srv.URL + "/")
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusFound, res.StatusCode)
		require.Equal(t, "/console/", res.Header.Get("Location"))
	})

	owner := w.browser(t)
	t.Run("CSP and headers on every page", func(t *testing.T) {
		anon := w.browser(t)
		for _, p := range []string{"/console/signin", "/console/forgot", "/console/reset", "/console/nope"} {
			res := anon.get(p)
			requireConsoleHeaders(t, res, p)
		}
		res := owner.signIn("acme", ownerEmail, ownerPass)
		require.Equal(t, acme+"/overview", res.Request.URL.Path, "an owner lands on the overview")
		for _, p := range []string{acme + "/overview", acme + "/anomalies", acme + "/invoices", acme + "/invoices/" + w.invoiceID,
			acme + "/users", acme + "/audit", acme + "/usage", acme + "/usage?days=90", acme + "/gdpr", acme + "/settings", acme + "/alerts", "/console/t/" + w.globex + "/overview"} {
			res := owner.get(p)
			requireConsoleHeaders(t, res, p)
			require.NotContains(t, owner.last, "style=", "%s: no inline styles (the CSP would block them)", p)
			require.NotContains(t, owner.last, "<script>", "%s: no inline scripts", p)
		}
	})

	t.Run("cookie flags", func(t *testing.T) {
		res := w.browser(t).get("/console/signin")
		ck := sessionCookieOf(t, res)
		require.True(t, ck.HttpOnly)
		require.Equal(t, http.SameSiteStrictMode, ck.SameSite)
		require.Equal(t, "/", ck.Path)
		require.False(t, ck.Secure, "plain HTTP without an https APP_PUBLIC_URL: a Secure cookie would never come back")

		// Behind TLS (or with an https public URL) the cookie is Secure with the __Host- prefix.
		c, err := console.New(console.Options{API: w.app.server.Handler(), Authenticator: w.app.platform.Auth, PublicURL: "https://console.example"})
		require.NoError(t, err)
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/console/signin", nil))
		ck = sessionCookieOf(t, rec.Result())
		require.True(t, ck.Secure)
		require.True(t, ck.HttpOnly)
		require.Equal(t, http.SameSiteStrictMode, ck.SameSite)
		require.Equal(t, "__Host-eusaas_console", ck.Name)
		rec = httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "https://console.example/console/signin", nil)
		c2, err := console.New(console.Options{API: w.app.server.Handler(), Authenticator: w.app.platform.Auth})
		require.NoError(t, err)
		c2.ServeHTTP(rec, req) // httptest sets req.TLS for an https URL
		require.True(t, sessionCookieOf(t, rec.Result()).Secure)
	})

	t.Run("the session id changes at sign-in", func(t *testing.T) {
		b := w.browser(t)
		before := sessionCookieOf(t, b.get("/console/signin")).Value
		u, _ := url.Parse(w.srv.URL)
		b.signIn("acme", ownerEmail, ownerPass)
		var after string
		for _, ck := range b.hc.Jar.Cookies(u) {
			if ck.Name == "eusaas_console" {
				after = ck.Value
			}
		}
		require.NotEmpty(t, after)
		require.NotEqual(t, before, after)
	})

	t.Run("posts without the CSRF token are refused", func(t *testing.T) {
		anon := w.browser(t)
		anon.get("/console/signin")
		res := anon.post("/console/signin", url.Values{"tenant": {"acme"}, "email": {ownerEmail}, "password": {ownerPass}})
		require.Equal(t, http.StatusForbidden, res.StatusCode)
		requireConsoleHeaders(t, res, "refused sign-in")
		res = anon.post("/console/signin", url.Values{"csrf": {"forged"}, "tenant": {"acme"}, "email": {ownerEmail}, "password": {ownerPass}})
		require.Equal(t, http.StatusForbidden, res.StatusCode)

		a := w.firstAnomaly(t)
		id := a["id"].(string)
		require.Equal(t, false, a["acknowledged"])
		owner.get(acme + "/anomalies")
		require.Contains(t, owner.last, "/anomalies/"+id+"/acknowledge")
		res = owner.post(acme+"/anomalies/"+id+"/acknowledge", url.Values{})
		require.Equal(t, http.StatusForbidden, res.StatusCode)
		// Another session's token is no better.
		other := w.browser(t)
		other.signIn("acme", ownerEmail, ownerPass)
		res = owner.post(acme+"/anomalies/"+id+"/acknowledge", url.Values{"csrf": {other.csrf()}})
		require.Equal(t, http.StatusForbidden, res.StatusCode)
		require.Equal(t, false, w.firstAnomaly(t)["acknowledged"], "nothing happened")
		res = owner.post("/console/signout", url.Values{})
		require.Equal(t, http.StatusForbidden, res.StatusCode)
	})

	t.Run("another tenant's pages are 403", func(t *testing.T) {
		g := w.browser(t)
		g.signIn("globex", globexEmail, ownerPass)
		for _, p := range []string{acme + "/overview", acme + "/anomalies", acme + "/invoices", acme + "/invoices/" + w.invoiceID,
			acme + "/invoices/" + w.invoiceID + "/ubl", acme + "/users", acme + "/audit", "/console/tenants"} {
			res := g.get(p)
			require.Equal(t, http.StatusForbidden, res.StatusCode, p)
			require.NotContains(t, g.last, "Acme", p)
		}
		id := w.firstAnomaly(t)["id"].(string)
		res := g.post(acme+"/anomalies/"+id+"/acknowledge", url.Values{"csrf": {g.csrf()}})
		require.Equal(t, http.StatusForbidden, res.StatusCode)
		require.Equal(t, false, w.firstAnomaly(t)["acknowledged"])
		// Its own tenant works.
		require.Equal(t, http.StatusOK, g.get("/console/t/"+w.globex+"/overview").StatusCode)
	})

	t.Run("signed out pages redirect to sign-in", func(t *testing.T) {
		b := w.browser(t)
		res := b.get(acme + "/overview")
		require.Equal(t, "/console/signin", res.Request.URL.Path)
	})

	t.Run("a VIEWER sees no write action, the owner does", func(t *testing.T) {
		v := w.browser(t)
		v.signIn("acme", viewerEmail, viewerPass)
		for _, p := range []string{acme + "/overview", acme + "/anomalies", acme + "/invoices", acme + "/invoices/" + w.invoiceID, acme + "/users", acme + "/audit",
			acme + "/usage", acme + "/alerts"} {
			res := v.get(p)
			require.Equal(t, http.StatusOK, res.StatusCode, p)
			require.False(t, hasWriteAction(v.last), "%s shows a VIEWER a write action", p)
		}
		require.NotContains(t, v.last, "Acknowledge")
		require.NotContains(t, v.last, "/settings", "settings are not in a VIEWER's menu")
		require.Equal(t, http.StatusForbidden, v.get(acme+"/settings").StatusCode, "nor reachable (tenant:read is OWNER and ADMIN)")
		require.NotContains(t, v.last, "/gdpr\"", "GDPR requests are not in a VIEWER's menu")
		require.Equal(t, http.StatusForbidden, v.get(acme+"/gdpr").StatusCode, "the request list is for gdpr:write")
		// And the API agrees: a forged post is refused before the API is asked.
		id := w.firstAnomaly(t)["id"].(string)
		res := v.post(acme+"/anomalies/"+id+"/acknowledge", url.Values{"csrf": {v.csrf()}})
		require.Equal(t, http.StatusForbidden, res.StatusCode)
		for _, p := range []string{acme + "/anomalies", acme + "/users", acme + "/gdpr", acme + "/settings", acme + "/alerts"} {
			owner.get(p)
			require.True(t, hasWriteAction(owner.last), "%s shows the owner its actions", p)
		}
	})

	t.Run("owner acknowledges, invites and downloads", func(t *testing.T) {
		id := w.firstAnomaly(t)["id"].(string)
		owner.get(acme + "/anomalies")
		res := owner.post(acme+"/anomalies/"+id+"/acknowledge", url.Values{"csrf": {owner.csrf()}})
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, owner.last, "Anomaly acknowledged.")
		require.Equal(t, true, w.firstAnomaly(t)["acknowledged"])
		res = owner.post(acme+"/anomalies/"+id+"/feedback", url.Values{"csrf": {owner.csrf()}, "verdict": {"CONFIRMED"}})
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, owner.last, "Verdict recorded.")
		require.Equal(t, "CONFIRMED", w.firstAnomaly(t)["feedback"].(map[string]any)["verdict"])
		owner.post(acme+"/anomalies/"+id+"/feedback", url.Values{"csrf": {owner.csrf()}, "verdict": {"MAYBE"}})
		require.Contains(t, owner.last, `class="flash error"`, "the API's 422 is shown")

		owner.get(acme + "/users")
		res = owner.post(acme+"/invitations", url.Values{"csrf": {owner.csrf()}, "email": {"new@acme.example"}, "role": {"MEMBER"}})
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, owner.last, `id="once-secret"`)
		require.Contains(t, owner.last, "new@acme.example")
		tok := regexp.MustCompile(`<code id="once-secret">([^<]+)</code>`).FindStringSubmatch(owner.last)
		require.NotNil(t, tok)
		owner.get(acme + "/users")
		require.NotContains(t, owner.last, `id="once-secret"`, "the token is shown once")

		// The invited user follows the mail's link (the token in the fragment, which a
		// browser keeps across the redirect; this client types it, as without JavaScript).
		n := w.browser(t)
		res = n.get("/accept-invitation")
		require.Equal(t, "/console/accept", res.Request.URL.Path)
		n.post("/console/accept", url.Values{"csrf": {n.csrf()}, "tenant": {"acme"}, "token": {tok[1]}, "email": {"new@acme.example"},
			"full_name": {"Nina New"}, "password": {"Newbie-Passw0rd!"}})
		require.Contains(t, n.last, "Your account is ready.")
		res = n.signIn("acme", "new@acme.example", "Newbie-Passw0rd!")
		require.Equal(t, acme+"/overview", res.Request.URL.Path)
		require.Contains(t, n.last, "Member")

		// The owner changes Nina's role and deactivates her; the owner's own row has no actions.
		owner.get(acme + "/users")
		nina := regexp.MustCompile(`action="/console/t/[^/]+/users/([0-9a-f-]{36})"[^>]*>\s*<input type="hidden" name="csrf" value="[^"]+"><input type="hidden" name="change" value="role">\s*<label for="role-[^"]+" class="visually-hidden">Role new@acme.example`).FindStringSubmatch(owner.last)
		require.NotNil(t, nina, owner.last)
		owner.post(acme+"/users/"+nina[1], url.Values{"csrf": {owner.csrf()}, "change": {"role"}, "role": {"VIEWER"}})
		require.Contains(t, owner.last, "User changed.")
		owner.post(acme+"/users/"+nina[1], url.Values{"csrf": {owner.csrf()}, "change": {"deactivate"}})
		require.Contains(t, owner.last, "User changed.")
		ownerTok := w.api.expect(200, w.api.do("POST", "/api/v1/auth/login", "", map[string]any{"email": ownerEmail, "password": ownerPass}, "X-Tenant-ID", "acme")).json(t)["access_token"].(string)
		u := w.api.expect(200, w.api.do("GET", "/api/v1/tenants/"+w.acme+"/users/"+nina[1], ownerTok, nil)).json(t)
		require.Equal(t, "VIEWER", u["role"])
		require.Equal(t, false, u["is_active"])
		require.NotContains(t, owner.last, `action="`+acme+`/users/`+sessionUserID(t, w, ownerTok)+`"`, "no actions on one's own row")

		// The audit log: filters, and each entry's detail.
		owner.get(acme + "/audit?start_date=2000-01-01&resource_type=user")
		require.Contains(t, owner.last, "Entry hash")
		require.Contains(t, owner.last, "Chain verified")

		resp, err := owner.hc.Get(w.srv.URL + acme + "/invoices/" + w.invoiceID + "/ubl")
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "application/xml", resp.Header.Get("Content-Type"))
		require.Contains(t, resp.Header.Get("Content-Disposition"), "attachment")

		// A credit note of the invoice is listed with its documents.
		cn := w.api.expect(201, w.api.do("POST", "/api/v1/tenants/"+w.acme+"/invoices/"+w.invoiceID+"/credit-notes", w.op, map[string]any{"reason": "outage"})).json(t)
		owner.get(acme + "/invoices")
		require.Contains(t, owner.last, cn["invoice_number"].(string))
		require.Contains(t, owner.last, "outage")
		cres, err := owner.hc.Get(w.srv.URL + acme + "/credit-notes/" + cn["id"].(string) + "/cii")
		require.NoError(t, err)
		cbody, _ := io.ReadAll(cres.Body)
		cres.Body.Close()
		require.Equal(t, http.StatusOK, cres.StatusCode)
		require.Contains(t, string(cbody), "CrossIndustryInvoice")
		require.Contains(t, cres.Header.Get("Content-Disposition"), `filename="credit-note-`)
	})

	t.Run("settings and a GDPR export", func(t *testing.T) {
		owner.get(acme + "/settings")
		require.Contains(t, owner.last, `value="400.00"`)
		owner.post(acme+"/settings", url.Values{"csrf": {owner.csrf()}, "cost_alert_threshold": {"450.50"}, "data_retention_days": {"400"}})
		require.Contains(t, owner.last, "Settings saved.")
		require.Contains(t, owner.last, `value="450.50"`)
		owner.post(acme+"/settings", url.Values{"csrf": {owner.csrf()}, "data_retention_days": {"0"}})
		require.Contains(t, owner.last, `class="flash error"`, "the API's 422 is shown")

		owner.get(acme + "/alerts")
		require.Contains(t, owner.last, "No subscriptions")
		owner.post(acme+"/alerts", url.Values{"csrf": {owner.csrf()}, "frequency": {"DAILY"}, "threshold_amount": {"10"}, "channel": {"email"}, "target": {"finance@acme.example"}})
		require.Contains(t, owner.last, "Subscriptions saved.")
		owner.post(acme+"/alerts", url.Values{"csrf": {owner.csrf()}, "frequency": {"IMMEDIATE"}, "channel": {"email"}, "target": {"ops@acme.example"}})
		require.Contains(t, owner.last, "ops@acme.example")
		require.Contains(t, owner.last, "finance@acme.example", "adding keeps the others")
		sub := regexp.MustCompile(`data-subscription="([0-9a-f-]{36})"><th scope="row">DAILY`).FindStringSubmatch(owner.last)
		require.NotNil(t, sub, owner.last)
		owner.post(acme+"/alerts/"+sub[1]+"/remove", url.Values{"csrf": {owner.csrf()}})
		require.NotContains(t, owner.last, "finance@acme.example")
		require.Contains(t, owner.last, "ops@acme.example")
		owner.post(acme+"/alerts", url.Values{"csrf": {owner.csrf()}, "frequency": {"HOURLY"}, "channel": {"email"}, "target": {"x@acme.example"}})
		require.Contains(t, owner.last, `class="flash error"`)

		owner.get(acme + "/usage?days=7")
		require.Contains(t, owner.last, "vCPU")
		owner.get(acme + "/gdpr")
		viewer := regexp.MustCompile(`<option value="([0-9a-f-]{36})">` + regexp.QuoteMeta(viewerEmail)).FindStringSubmatch(owner.last)
		require.NotNil(t, viewer, owner.last)
		owner.post(acme+"/gdpr/requests", url.Values{"csrf": {owner.csrf()}, "type": {"ACCESS"}, "data_subject_id": {viewer[1]}, "format": {"json"}})
		require.Contains(t, owner.last, "Request recorded.")
		rid := regexp.MustCompile(`data-request="([0-9a-f-]{36})"`).FindStringSubmatch(owner.last)
		require.NotNil(t, rid)
		owner.post(acme+"/gdpr/requests/"+rid[1]+"/verify-identity", url.Values{"csrf": {owner.csrf()}, "method": {"signed-in user"}})
		require.Contains(t, owner.last, "the work has started")
		link := regexp.MustCompile(`href="(/console/t/[^"]+/download)" data-export`)
		deadline := time.Now().Add(20 * time.Second)
		var m []string
		for m == nil {
			require.True(t, time.Now().Before(deadline), "the export did not complete: %s", owner.last)
			time.Sleep(100 * time.Millisecond)
			owner.get(acme + "/gdpr")
			m = link.FindStringSubmatch(owner.last)
		}
		res, err := owner.hc.Get(w.srv.URL + m[1])
		require.NoError(t, err)
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		require.Equal(t, http.StatusOK, res.StatusCode, "%.300s", body)
		require.Contains(t, res.Header.Get("Content-Disposition"), "attachment")
		require.Greater(t, len(body), 100)

		// Another request extended, then rejected, each with its reason.
		owner.get(acme + "/gdpr")
		owner.post(acme+"/gdpr/requests", url.Values{"csrf": {owner.csrf()}, "type": {"OBJECTION"}, "data_subject_id": {viewer[1]}})
		ids := regexp.MustCompile(`data-request="([0-9a-f-]{36})"`).FindAllStringSubmatch(owner.last, -1)
		require.Len(t, ids, 2)
		obj := ids[0][1] // newest first
		owner.post(acme+"/gdpr/requests/"+obj+"/extend", url.Values{"csrf": {owner.csrf()}, "reason": {"complex request"}})
		require.Contains(t, owner.last, "Deadline extended")
		owner.post(acme+"/gdpr/requests/"+obj+"/reject", url.Values{"csrf": {owner.csrf()}, "reason": {"manifestly unfounded"}})
		require.Contains(t, owner.last, "Request rejected.")
		owner.post(acme+"/gdpr/requests/"+obj+"/reject", url.Values{"csrf": {owner.csrf()}, "reason": {""}})
		require.Contains(t, owner.last, `class="flash error"`)
	})

	t.Run("German", func(t *testing.T) {
		b := w.browser(t)
		req, _ := http.NewRequest(http.MethodGet, w.srv.URL+"/console/signin", nil)
		req.Header.Set("Accept-Language", "de-DE,de;q=0.9,en;q=0.5")
		res, err := b.hc.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		b.get("/console/signin")
		require.Contains(t, b.last, `<html lang="de">`)
		require.Contains(t, b.last, "Anmelden")
		b.post("/console/signin", url.Values{"csrf": {b.csrf()}, "tenant": {"acme"}, "email": {ownerEmail}, "password": {ownerPass}})
		require.Contains(t, b.last, "Monat bis heute")
		require.Regexp(t, `[0-9]+,[0-9]{2}\x{00a0}€`, b.last, "amounts in German notation")
	})

	t.Run("operator", func(t *testing.T) {
		op := w.browser(t)
		res := op.signIn("", opEmail, opPassword)
		require.Equal(t, "/console/tenants", res.Request.URL.Path)
		require.Contains(t, op.last, "acme")
		op.get("/console/tenants?status=SUSPENDED")
		require.Contains(t, op.last, "No tenants match.")
		op.get("/console/tenants?q=glob")
		require.Contains(t, op.last, `data-tenant="globex"`)
		require.NotContains(t, op.last, `data-tenant="acme"`)

		op.post("/console/tenants/"+w.globex+"/suspend", url.Values{"csrf": {op.csrf()}})
		require.Contains(t, op.last, "status-SUSPENDED")
		op.post("/console/tenants/"+w.globex+"/delete", url.Values{"csrf": {op.csrf()}, "confirm": {"acme"}})
		require.Contains(t, op.last, "does not match")
		op.post("/console/tenants/"+w.globex+"/activate", url.Values{"csrf": {op.csrf()}})
		require.Equal(t, "ACTIVE", w.api.expect(200, w.api.do("GET", "/api/v1/tenants/"+w.globex, w.op, nil)).json(t)["status"])

		op.post("/console/tenants", url.Values{"csrf": {op.csrf()}, "name": {"Initech"}, "slug": {"initech"}, "admin_email": {"boss@initech.example"}, "tier": {"STARTER"}})
		require.Contains(t, op.last, "owner invitation token is shown only this once")
		require.Contains(t, op.last, `id="once-secret"`)
		op.post("/console/tenants", url.Values{"csrf": {op.csrf()}, "name": {"Dup"}, "slug": {"initech"}, "admin_email": {"x@initech.example"}})
		require.Contains(t, op.last, `class="flash error"`, "the API's 409 is shown")

		res = op.get("/console/platform")
		require.Equal(t, http.StatusOK, res.StatusCode, op.last)
		requireConsoleHeaders(t, res, "platform")
		require.Contains(t, op.last, "Chain verified")
		require.Contains(t, op.last, "EU SaaS GmbH", "the seller")
		op.post("/console/service-accounts", url.Values{"csrf": {op.csrf()}, "name": {"metering agent"}})
		require.Contains(t, op.last, "shown only this once")
		require.Contains(t, op.last, `id="once-secret"`)
		sa := regexp.MustCompile(`action="/console/service-accounts/([0-9a-f-]{36})/revoke"`).FindStringSubmatch(op.last)
		require.NotNil(t, sa)
		op.post("/console/service-accounts/"+sa[1]+"/revoke", url.Values{"csrf": {op.csrf()}})
		require.Contains(t, op.last, "No service accounts.")
		// Operators open a tenant's pages, and delete a tenant once its slug is typed.
		require.Equal(t, http.StatusOK, op.get(acme+"/overview").StatusCode)
		require.Contains(t, op.last, `id="daily-chart"`)
		// (Creation answers PROVISIONING; the delete form appears once the job made it ACTIVE.)
		deleteForm := regexp.MustCompile(`action="/console/tenants/([0-9a-f-]{36})/delete"`)
		var initech []string
		for deadline := time.Now().Add(15 * time.Second); initech == nil; {
			require.True(t, time.Now().Before(deadline), "initech never became ACTIVE: %s", op.last)
			op.get("/console/tenants?q=initech")
			initech = deleteForm.FindStringSubmatch(op.last)
			time.Sleep(20 * time.Millisecond)
		}
		op.post("/console/tenants/"+initech[1]+"/delete", url.Values{"csrf": {op.csrf()}, "confirm": {"initech"}})
		require.Contains(t, op.last, "Done.")
		require.Contains(t, []any{"DEPROVISIONING", "DELETED"}, w.api.expect(200, w.api.do("GET", "/api/v1/tenants/"+initech[1], w.op, nil)).json(t)["status"])

		// Tenant users never reach the operator pages.
		require.Equal(t, http.StatusForbidden, owner.get("/console/platform").StatusCode)
	})
}

func requireConsoleHeaders(t *testing.T, res *http.Response, what string) {
	t.Helper()
	require.Equal(t, wantCSP, res.Header.Get("Content-Security-Policy"), what)
	require.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), what)
	require.Equal(t, "DENY", res.Header.Get("X-Frame-Options"), what)
	require.Equal(t, "no-store", res.Header.Get("Cache-Control"), what)
	require.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "text/html"), what)
}

func sessionCookieOf(t *testing.T, res *http.Response) *http.Cookie {
	t.Helper()
	for _, ck := range res.Cookies() {
		if strings.HasSuffix(ck.Name, "eusaas_console") {
			return ck
		}
	}
	t.Fatalf("no session cookie in %v", res.Header["Set-Cookie"])
	return nil
}

// TestConsolePostgres: the console over the Postgres and Redis store set (the same pages and
// actions; the API underneath is the one the other Postgres walks test).
func TestConsolePostgres(t *testing.T) {
	cfg := pgConfigFromURL(t, pgtest.URL(t))
	_, redisPrefix := redistest.Client(t)
	cfg["APP_REDIS_URL"], cfg["APP_REDIS_KEY_PREFIX"] = redistest.URL(t), redisPrefix
	cfg["APP_BOOTSTRAP_ADMIN_EMAIL"], cfg["APP_BOOTSTRAP_ADMIN_PASSWORD"] = opEmail, opPassword
	cfg["APP_JWT_PRIVATE_KEY"], cfg["APP_JWT_PUBLIC_KEY"] = testKeyPEMs(t)
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(k string) string { return cfg[k] }}
	require.Equal(t, 0, m.Run(context.Background(), []string{"migrate"}), out.String())
	w := newConsoleWorldEnv(t, cfg)
	acme := "/console/t/" + w.acme

	owner := w.browser(t)
	owner.signIn("acme", ownerEmail, ownerPass)
	for _, p := range []string{acme + "/overview", acme + "/anomalies", acme + "/invoices", acme + "/invoices/" + w.invoiceID, acme + "/usage", acme + "/users", acme + "/gdpr", acme + "/audit", acme + "/settings"} {
		res := owner.get(p)
		require.Equal(t, http.StatusOK, res.StatusCode, "%s: %.500s", p, owner.last)
		requireConsoleHeaders(t, res, p)
	}
	owner.get(acme + "/overview")
	require.GreaterOrEqual(t, strings.Count(owner.last, "<rect x="), 440, "the 90 x 5 bars are drawn")
	id := w.firstAnomaly(t)["id"].(string)
	owner.get(acme + "/anomalies")
	owner.post(acme+"/anomalies/"+id+"/acknowledge", url.Values{"csrf": {owner.csrf()}})
	require.Contains(t, owner.last, "Anomaly acknowledged.")
	g := w.browser(t)
	g.signIn("globex", globexEmail, ownerPass)
	require.Equal(t, http.StatusForbidden, g.get(acme+"/overview").StatusCode)

	op := w.browser(t)
	op.signIn("", opEmail, opPassword)
	op.post("/console/tenants/"+w.globex+"/suspend", url.Values{"csrf": {op.csrf()}})
	require.Contains(t, op.last, "status-SUSPENDED")
	op.post("/console/tenants/"+w.globex+"/activate", url.Values{"csrf": {op.csrf()}})
	require.Equal(t, "ACTIVE", w.api.expect(200, w.api.do("GET", "/api/v1/tenants/"+w.globex, w.op, nil)).json(t)["status"])
}

func sessionUserID(t *testing.T, w *consoleWorld, token string) string {
	return w.api.expect(200, w.api.do("GET", "/api/v1/auth/me", token, nil)).json(t)["id"].(string)
}
