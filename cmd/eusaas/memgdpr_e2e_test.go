package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/billing"
)

// memgdprStartApp is startApp that also returns the App, so the test can look into its
// memory stores.
func memgdprStartApp(t *testing.T, env map[string]string) (*App, *client) {
	t.Helper()
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	app, err := NewApp(ctx, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	require.NoError(t, err)
	t.Cleanup(app.Close)
	require.NoError(t, app.Start(ctx))
	srv := httptest.NewServer(app.server.Handler())
	t.Cleanup(srv.Close)
	return app, &client{t: t, base: srv.URL}
}

// memgdprTenant is a tenant created over the API with its registered, logged-in owner.
type memgdprTenant struct {
	id, slug, email, ownerID, token string
}

func memgdprNewTenant(t *testing.T, c *client, op, slug string) memgdprTenant {
	t.Helper()
	email := "owner@" + slug + ".example"
	tn := c.createTenant(op, map[string]any{"name": slug + " GmbH", "slug": slug, "admin_email": email})
	inv := tn["owner_invitation"].(map[string]any)["token"].(string)
	c.expect(201, c.do("POST", "/api/v1/auth/register", "", map[string]any{
		"email": email, "password": "Owner-Passw0rd!", "full_name": "Owner of " + slug, "invitation_token": inv,
	}, "X-Tenant-ID", slug))
	tok := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": "Owner-Passw0rd!"}, "X-Tenant-ID", slug)).json(t)["access_token"].(string)
	me := c.expect(200, c.do("GET", "/api/v1/auth/me", tok, nil)).json(t)
	return memgdprTenant{id: tn["id"].(string), slug: slug, email: email, ownerID: me["id"].(string), token: tok}
}

// memgdprExport requests an export as the owner, waits for it and returns the archive's
// manifest tables and each data file's rows.
func memgdprExport(t *testing.T, c *client, tn memgdprTenant, body map[string]any) ([]string, map[string][]map[string]any, []byte) {
	t.Helper()
	job := c.expect(202, c.do("POST", "/api/v1/tenants/"+tn.id+"/gdpr/export", tn.token, body)).json(t)["job_id"].(string)
	var st map[string]any
	require.Eventually(t, func() bool {
		st = c.expect(200, c.do("GET", "/api/v1/tenants/"+tn.id+"/gdpr/export/"+job, tn.token, nil)).json(t)
		return st["status"] == "COMPLETED" || st["status"] == "FAILED"
	}, 30*time.Second, 50*time.Millisecond)
	require.Equal(t, "COMPLETED", st["status"], "%v", st)
	u, err := url.Parse(st["download_url"].(string))
	require.NoError(t, err)
	res := c.expect(200, c.do("GET", u.RequestURI(), "", nil))
	zr, err := zip.NewReader(bytes.NewReader(res.body), int64(len(res.body)))
	require.NoError(t, err)
	var manifest struct {
		TenantID string   `json:"tenant_id"`
		Tables   []string `json:"tables"`
	}
	data := map[string][]map[string]any{}
	var all bytes.Buffer // every member, decompressed
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		all.Write(b)
		switch {
		case f.Name == "manifest.json":
			require.NoError(t, json.Unmarshal(b, &manifest))
		case len(f.Name) > len("data/.json") && f.Name[:5] == "data/":
			var rows []map[string]any
			require.NoError(t, json.Unmarshal(b, &rows), "%s: %s", f.Name, b)
			data[f.Name[5:len(f.Name)-len(".json")]] = rows
		}
	}
	require.Equal(t, tn.id, manifest.TenantID)
	return manifest.Tables, data, all.Bytes()
}

// TestEndToEndMemoryGDPRTenantData: in memory mode an Article 20 export contains the
// tenant's users and usage (and nothing of another tenant), a subject export only the
// subject's rows, and deleting the tenant empties every memory store of it.
func TestEndToEndMemoryGDPRTenantData(t *testing.T) {
	app, c := memgdprStartApp(t, map[string]string{"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword})
	require.True(t, app.Memory())
	op := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(t)["access_token"].(string)

	a := memgdprNewTenant(t, c, op, "memgdpr-a")
	b := memgdprNewTenant(t, c, op, "memgdpr-b")
	at := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	for _, x := range []struct {
		tn  memgdprTenant
		ids []string
	}{{a, []string{"a-1", "a-2"}}, {b, []string{"b-1"}}} {
		var evs []map[string]any
		for _, id := range x.ids {
			evs = append(evs, map[string]any{"id": id, "resource_type": "CPU", "quantity": "2.5", "timestamp": at,
				"attributes": map[string]string{"user": x.tn.ownerID}})
		}
		r := c.expect(200, c.do("POST", "/api/v1/tenants/"+x.tn.id+"/usage", op, map[string]any{"events": evs})).json(t)
		require.EqualValues(t, len(x.ids), r["accepted"])
	}

	// Full export: every table of the tenant, its rows only.
	tables, data, raw := memgdprExport(t, c, a, map[string]any{"format": "json"})
	for _, want := range []string{"anomalies", "auth_invitations", "auth_sessions", "auth_users", "billing_invoice_lines", "billing_invoices",
		"billing_prices", "billing_settings", "billing_usage_buckets", "billing_usage_events", "billing_usage_months"} {
		require.Contains(t, tables, want)
	}
	require.Len(t, data["auth_users"], 1)
	require.Equal(t, a.ownerID, data["auth_users"][0]["id"])
	require.Equal(t, a.email, data["auth_users"][0]["email"])
	require.Equal(t, "OWNER", data["auth_users"][0]["role"])
	// Typed values: booleans and numbers as such, instants RFC 3339 UTC, NULL as null,
	// decimals as strings, JSON documents embedded.
	require.Equal(t, true, data["auth_users"][0]["is_active"])
	created, err := time.Parse(time.RFC3339Nano, data["auth_users"][0]["created_at"].(string))
	require.NoError(t, err)
	require.Equal(t, time.UTC, created.Location())
	require.IsType(t, float64(0), data["auth_sessions"][0]["counter"])
	require.Nil(t, data["auth_sessions"][0]["revoked_at"])
	require.Equal(t, map[string]any{"user": a.ownerID}, data["billing_usage_events"][0]["attributes"])
	var evIDs []string
	for _, r := range data["billing_usage_events"] {
		evIDs = append(evIDs, r["event_id"].(string))
		require.Equal(t, "2.5", r["quantity"])
	}
	slices.Sort(evIDs)
	require.Equal(t, []string{"a-1", "a-2"}, evIDs)
	require.Len(t, data["billing_usage_buckets"], 1)
	require.Equal(t, "5", data["billing_usage_buckets"][0]["quantity"])
	require.NotEmpty(t, data["auth_sessions"])
	require.NotContains(t, string(raw), "$argon2id$") // credentials are never exported
	require.NotContains(t, string(raw), b.ownerID)
	require.NotContains(t, string(raw), b.email)
	require.NotContains(t, string(raw), `"b-1"`)

	// Subject export: only tables with a subject column, only the owner's rows.
	tables, data, _ = memgdprExport(t, c, a, map[string]any{"format": "json", "data_subjects": []string{a.ownerID}})
	require.ElementsMatch(t, []string{"auth_sessions", "auth_users"}, tables)
	require.Len(t, data["auth_users"], 1)
	require.Equal(t, a.ownerID, data["auth_users"][0]["id"])
	for _, r := range data["auth_sessions"] {
		require.Equal(t, a.ownerID, r["user_id"])
	}
	// Another tenant's user is no subject of this tenant, nor is an email (as in Postgres mode).
	c.expect(422, c.do("POST", "/api/v1/tenants/"+a.id+"/gdpr/export", a.token, map[string]any{"format": "json", "data_subjects": []string{b.ownerID}}))
	c.expect(422, c.do("POST", "/api/v1/tenants/"+a.id+"/gdpr/erase", a.token, map[string]any{"data_subject_id": a.email}))

	// Deprovision tenant A.
	r := c.do("DELETE", "/api/v1/tenants/"+a.id, op, nil)
	require.Contains(t, []int{200, 202, 204}, r.status, "body: %s", r.body)
	require.Eventually(t, func() bool {
		g := c.do("GET", "/api/v1/tenants/"+a.id, op, nil)
		return g.status == 200 && g.json(t)["status"] == "DELETED"
	}, 30*time.Second, 50*time.Millisecond)
	login := c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": a.email, "password": "Owner-Passw0rd!"}, "X-Tenant-ID", a.id)
	require.Contains(t, []int{401, 403, 404}, login.status, "owner of a deleted tenant logged in: %s", login.body)
	c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": b.email, "password": "Owner-Passw0rd!"}, "X-Tenant-ID", b.slug))

	// The memory stores hold nothing for tenant A, tenant B's data is intact.
	ctx := context.Background()
	ta, err := eusaas.ParseTenantID(a.id)
	require.NoError(t, err)
	tb, err := eusaas.ParseTenantID(b.id)
	require.NoError(t, err)
	rowsOf := func(tn eusaas.TenantID) map[string]int {
		out := map[string]int{}
		data := app.stores.TenantData
		tables, err := data.Tables(ctx, tn)
		require.NoError(t, err)
		for _, table := range tables {
			require.NoError(t, data.Scan(ctx, tn, table, nil, func(eusaas.DataRow) error { out[table.Name]++; return nil }))
		}
		return out
	}
	require.Empty(t, rowsOf(ta), "rows left for the deleted tenant")
	left := rowsOf(tb)
	require.Equal(t, 1, left["auth_users"])
	require.Equal(t, 1, left["billing_usage_events"])
	from, to := time.Now().AddDate(0, 0, -2), time.Now().AddDate(0, 0, 1)
	st := app.stores
	_, err = st.Users.GetUserByEmail(ctx, ta, a.email)
	require.Equal(t, eusaas.NotFound, eusaas.KindOf(err), "owner of the deleted tenant: %v", err)
	_, err = st.Users.GetUserByEmail(ctx, tb, b.email)
	require.NoError(t, err)
	bs, err := st.Usage.Buckets(ctx, ta, from, to)
	require.NoError(t, err)
	require.Empty(t, bs)
	_, ok, err := st.Usage.FirstDay(ctx, ta)
	require.NoError(t, err)
	require.False(t, ok)
	bs, err = st.Usage.Buckets(ctx, tb, from, to)
	require.NoError(t, err)
	require.Len(t, bs, 1)
	il, err := st.Invoices.List(ctx, ta, billing.InvoiceFilter{}, eusaas.Page{Page: 1, Size: 10})
	require.NoError(t, err)
	require.Zero(t, il.Total)
	o, err := st.Prices.Overrides(ctx, ta)
	require.NoError(t, err)
	require.Empty(t, o)
	al, err := st.Anomalies.List(ctx, ta, anomaly.Filter{}, eusaas.Page{Page: 1, Size: 10})
	require.NoError(t, err)
	require.Zero(t, al.Total)
}
