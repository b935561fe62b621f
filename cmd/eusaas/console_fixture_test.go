package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
)

// consoleWorld is a reference server (memory mode, job workers running) with data for the
// console: tenant acme with an owner, an admin-issued VIEWER, 90 days of usage on all five
// resources with a CPU spike yesterday (the scanner's anomaly), a budget, and an issued
// invoice for last month; tenant globex with its own owner.
type consoleWorld struct {
	app          *App
	srv          *httptest.Server
	api          *client
	op           string // operator access token
	acme, globex string // tenant ids
	invoiceID    string
}

const (
	ownerEmail  = "owner@acme.example"
	ownerPass   = "Owner-Passw0rd!"
	viewerEmail = "viewer@acme.example"
	viewerPass  = "Viewer-Passw0rd!"
	globexEmail = "owner@globex.example"
)

func newConsoleWorld(t testing.TB) *consoleWorld { return newConsoleWorldEnv(t, nil) }

// newConsoleWorldEnv is the world with extra APP_ variables (Postgres mode).
func newConsoleWorldEnv(t testing.TB, extra map[string]string) *consoleWorld {
	t.Helper()
	// A local stand-in for the EU's VIES service: the world makes no request off this host.
	vies := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"valid":false}`)
	}))
	t.Cleanup(vies.Close)
	env := map[string]string{"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword,
		"APP_VIES_URL": vies.URL, "APP_GDPR_ARCHIVE_DIR": t.TempDir()}
	maps.Copy(env, extra)
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	require.NoError(t, err)
	cfg.Notice = io.Discard
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	app, err := NewApp(ctx, cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(app.Close)
	require.NoError(t, app.Start(ctx))
	srv := httptest.NewServer(app.server.Handler())
	t.Cleanup(srv.Close)
	w := &consoleWorld{app: app, srv: srv, api: &client{t: t, base: srv.URL}}
	w.seed(t)
	return w
}

func (w *consoleWorld) seed(t testing.TB) {
	c := w.api
	w.op = c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(c.t)["access_token"].(string)
	acme := c.createTenant(w.op, map[string]any{"name": "Acme GmbH", "slug": "acme", "admin_email": ownerEmail})
	w.acme = acme["id"].(string)
	c.expect(201, c.do("POST", "/api/v1/auth/register", "", map[string]any{"email": ownerEmail, "password": ownerPass, "full_name": "Olga Owner",
		"invitation_token": acme["owner_invitation"].(map[string]any)["token"]}, "X-Tenant-ID", "acme"))
	owner := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": ownerEmail, "password": ownerPass}, "X-Tenant-ID", "acme")).json(c.t)["access_token"].(string)
	inv := c.expect(201, c.do("POST", "/api/v1/tenants/"+w.acme+"/invitations", owner, map[string]any{"email": viewerEmail, "role": "VIEWER"})).json(c.t)
	c.expect(201, c.do("POST", "/api/v1/auth/register", "", map[string]any{"email": viewerEmail, "password": viewerPass, "full_name": "Vera Viewer",
		"invitation_token": inv["token"]}, "X-Tenant-ID", "acme"))
	c.expect(200, c.do("PATCH", "/api/v1/tenants/"+w.acme, owner, map[string]any{"settings": map[string]any{"cost_alert_threshold": "400"}}))

	globex := c.createTenant(w.op, map[string]any{"name": "Globex", "slug": "globex", "admin_email": globexEmail})
	w.globex = globex["id"].(string)
	c.expect(201, c.do("POST", "/api/v1/auth/register", "", map[string]any{"email": globexEmail, "password": ownerPass, "full_name": "Gus",
		"invitation_token": globex["owner_invitation"].(map[string]any)["token"]}, "X-Tenant-ID", "globex"))

	// 90 days x 5 resources. The API accepts events at most 35 days old (the late-arrival
	// horizon), so the older history goes in through a billing service over the same stores
	// with a longer horizon: the same rating and buckets, only the window differs.
	ctx := context.Background()
	s := w.app.stores.Stores
	svc, err := billing.NewService(billing.Deps{Usage: s.Usage, Invoices: s.Invoices, Prices: s.Prices}, billing.Options{LateWindow: 100 * 24 * time.Hour})
	require.NoError(t, err)
	tid, err := eusaas.ParseTenantID(w.acme)
	require.NoError(t, err)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	var events []billing.UsageEvent
	for d := 89; d >= 0; d-- {
		day := today.AddDate(0, 0, -d)
		ts := day.Add(6 * time.Hour)
		if d == 0 {
			ts = time.Now().UTC().Add(-time.Minute)
		}
		cpu := 200 + 10*(d%7) // a weekly rhythm
		if d == 1 {
			cpu = 3000 // yesterday's spike: the anomaly
		}
		for _, e := range []struct {
			r billing.ResourceType
			q int
		}{{billing.CPU, cpu}, {billing.Memory, 400 + d%5}, {billing.Storage, 100 + d}, {billing.Network, 50}, {billing.APICalls, 20000}} {
			events = append(events, billing.UsageEvent{ID: fmt.Sprintf("seed-%s-%d", e.r, d), ResourceType: e.r, Quantity: decimal.NewFromInt(int64(e.q)), Timestamp: ts})
		}
	}
	res, err := svc.Ingest(ctx, tid, events)
	require.NoError(t, err)
	require.Equal(t, len(events), res.Accepted, "%+v", res.Results)
	rep, err := w.app.platform.Scanner.ScanAll(ctx)
	require.NoError(t, err)
	list := c.expect(200, c.do("GET", "/api/v1/tenants/"+w.acme+"/anomalies", owner, nil)).json(c.t)
	require.NotEmpty(t, list["items"], "the scanner found the spike (report %+v)", rep)

	// An issued invoice for last month, with its UBL and CII documents.
	c.expect(200, c.do("PUT", "/api/v1/billing/seller", w.op, validInput["PUT /api/v1/billing/seller"].body))
	c.expect(200, c.do("PUT", "/api/v1/tenants/"+w.acme+"/billing-profile", w.op, map[string]any{"legal_name": "Acme GmbH", "email": "ap@acme.example",
		"customer_type": "CONSUMER", "address": map[string]any{"line1": "Hauptstr. 5", "postal_code": "80331", "city": "München", "country": "DE"}}))
	last := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
	draft := c.expect(201, c.do("POST", "/api/v1/tenants/"+w.acme+"/invoices", w.op, map[string]any{"period": last.Format("2006-01")})).json(c.t)
	issued := c.expect(200, c.do("POST", "/api/v1/tenants/"+w.acme+"/invoices/"+draft["id"].(string)+"/issue", w.op, nil)).json(c.t)
	require.NotEmpty(t, issued["documents"])
	w.invoiceID = issued["id"].(string)
}

// browser is a cookie-keeping HTTP client, as a browser without JavaScript.
type browser struct {
	t    testing.TB
	base string
	hc   *http.Client
	last string // body of the last page
	// lastURL is where the last request ended up after redirects.
	lastURL string
}

func (w *consoleWorld) browser(t testing.TB) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{t: t, base: w.srv.URL, hc: &http.Client{Jar: jar}}
}

func (b *browser) get(path string) *http.Response {
	b.t.Helper()
	res, err := b.hc.Get(b.base + path)
	require.NoError(b.t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	b.last = string(body)
	b.lastURL = res.Request.URL.String()
	return res
}

func (b *browser) post(path string, form url.Values) *http.Response {
	b.t.Helper()
	res, err := b.hc.PostForm(b.base+path, form)
	require.NoError(b.t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	b.last = string(body)
	b.lastURL = res.Request.URL.String()
	return res
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the token of the last page's forms.
func (b *browser) csrf() string {
	b.t.Helper()
	m := csrfField.FindStringSubmatch(b.last)
	require.NotNil(b.t, m, "no CSRF field on the page")
	return m[1]
}

// signIn signs in through the form and reports the page it lands on.
func (b *browser) signIn(tenant, email, password string) *http.Response {
	b.t.Helper()
	b.get("/console/signin")
	res := b.post("/console/signin", url.Values{"csrf": {b.csrf()}, "tenant": {tenant}, "email": {email}, "password": {password}})
	require.Equal(b.t, http.StatusOK, res.StatusCode, b.last)
	return res
}

func (w *consoleWorld) firstAnomaly(t testing.TB) map[string]any {
	owner := w.api.expect(200, w.api.do("POST", "/api/v1/auth/login", "", map[string]any{"email": ownerEmail, "password": ownerPass}, "X-Tenant-ID", "acme")).json(w.api.t)["access_token"].(string)
	var l struct{ Items []map[string]any }
	require.NoError(t, json.Unmarshal(w.api.expect(200, w.api.do("GET", "/api/v1/tenants/"+w.acme+"/anomalies", owner, nil)).body, &l))
	require.NotEmpty(t, l.Items)
	return l.Items[0]
}

func hasWriteAction(body string) bool { return strings.Contains(body, "data-write") }
