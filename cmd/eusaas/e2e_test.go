package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/internal/pgtest"
	"github.com/eusaas/eusaas/internal/redistest"
)

// client talks to a running App over real HTTP, like an outside user.
type client struct {
	t    testing.TB
	base string
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

func (c *client) do(method, path, token string, body any, headers ...string) resp {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(c.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	require.NoError(c.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func (c *client) expect(status int, r resp) resp {
	c.t.Helper()
	require.Equal(c.t, status, r.status, "body: %s", r.body)
	if status >= 400 {
		require.Equal(c.t, "application/problem+json", r.header.Get("Content-Type"))
	}
	return r
}

func startApp(t *testing.T, env map[string]string) *client {
	t.Helper()
	if env["APP_GDPR_ARCHIVE_DIR"] == "" {
		env["APP_GDPR_ARCHIVE_DIR"] = t.TempDir()
	}
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
	return &client{t: t, base: srv.URL}
}

// createTenant creates a tenant as operator op and waits until its provisioning job made it
// ACTIVE (POST answers PROVISIONING). It returns the POST body (with the owner invitation)
// with the status it reached.
func (c *client) createTenant(op string, body map[string]any) map[string]any {
	c.t.Helper()
	tn := c.expect(201, c.do("POST", "/api/v1/tenants", op, body)).json(c.t)
	require.Equal(c.t, "PROVISIONING", tn["status"], "POST /tenants answers before the schema is made")
	id := tn["id"].(string)
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := c.expect(200, c.do("GET", "/api/v1/tenants/"+id, op, nil)).json(c.t)
		if got["status"] != "PROVISIONING" {
			tn["status"] = got["status"]
			require.Equal(c.t, "ACTIVE", got["status"], "provisioning ends ACTIVE")
			return tn
		}
		require.True(c.t, time.Now().Before(deadline), "tenant %s still PROVISIONING after 15 s", id)
		time.Sleep(20 * time.Millisecond)
	}
}

const (
	opEmail    = "root@platform.example"
	opPassword = "Operator-Passw0rd!"
)

func TestEndToEndMemory(t *testing.T) {
	c := startApp(t, map[string]string{
		"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword,
	})
	walkThrough(t, c, nil)
}

func TestEndToEndPostgres(t *testing.T) {
	endToEndPostgres(t, nil)
}

// endToEndPostgres walks through the platform in Postgres mode on a fresh, migrated database
// and returns a connection to it; extra adds settings (before the server starts, after migrate).
func endToEndPostgres(t *testing.T, extra map[string]string) *pgx.Conn {
	dbURL := pgtest.URL(t)
	rc, redisPrefix := redistest.Client(t) // keys under the prefix are deleted when the test ends
	redisURL := redistest.URL(t)
	// The app takes its settings from APP_ variables; point them at the test database.
	cfg := pgConfigFromURL(t, dbURL)
	cfg["APP_REDIS_URL"] = redisURL
	cfg["APP_REDIS_KEY_PREFIX"] = redisPrefix
	cfg["APP_BOOTSTRAP_ADMIN_EMAIL"] = opEmail
	cfg["APP_BOOTSTRAP_ADMIN_PASSWORD"] = opPassword
	priv, pub := testKeyPEMs(t)
	cfg["APP_JWT_PRIVATE_KEY"], cfg["APP_JWT_PUBLIC_KEY"] = priv, pub
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(k string) string { return cfg[k] }}
	require.Equal(t, 0, m.Run(context.Background(), []string{"migrate"}), out.String())
	conn, err := pgx.Connect(context.Background(), dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	if extra != nil {
		maps.Copy(cfg, extra)
	}
	c := startApp(t, cfg)
	var spares []uint32 // the pool's schemas before any tenant exists
	if v := extra["APP_TENANT_SCHEMA_POOL"]; v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err)
		waitSchemaPool(t, conn, n)
		spares = schemaOIDs(t, conn, `^p_`)
	}
	walkThrough(t, c, func(schema string) bool {
		var n int
		require.NoError(t, conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema).Scan(&n))
		return n == 1
	})
	// After DELETED no storage holds the tenant's users' e-mail addresses (all @acme.example).
	requireNoTrace(t, conn, cfg["APP_GDPR_ARCHIVE_DIR"], rc, redisPrefix, "acme.example")
	// Every metric a dashboard or alert queries is exported in Postgres mode, the pool's and
	// the job queue's included, and the job table was readable.
	metrics := c.expect(200, c.do("GET", "/metrics", "", nil))
	requireDashboardMetrics(t, string(metrics.body), nil)
	require.Contains(t, string(metrics.body), "jobs_queue_scrape_ok 1")
	require.Regexp(t, `pgxpool_acquires_total [1-9]`, string(metrics.body))
	require.Regexp(t, `usage_events_total\{result="accepted"\} [1-9]`, string(metrics.body), "the walk's ingested events are counted")
	keys, err := rc.Keys(context.Background(), redisPrefix+"*").Result()
	require.NoError(t, err)
	require.NotEmpty(t, keys, "the server's Redis keys carry APP_REDIS_KEY_PREFIX")
	if spares != nil {
		// A renamed schema keeps its OID: every tenant schema left is a former spare.
		tenants := schemaOIDs(t, conn, `^t_[0-9a-f]{32}$`)
		require.NotEmpty(t, tenants)
		require.Subset(t, spares, tenants, "tenant schemas were taken from the pool, not created on demand")
	}
	return conn
}

// schemaOIDs lists the OIDs of the schemas whose names match the regular expression.
func schemaOIDs(t *testing.T, conn *pgx.Conn, re string) []uint32 {
	t.Helper()
	rows, err := conn.Query(context.Background(), "SELECT oid FROM pg_namespace WHERE nspname ~ $1", re)
	require.NoError(t, err)
	oids, err := pgx.CollectRows(rows, pgx.RowTo[uint32])
	require.NoError(t, err)
	return oids
}

// requireNoTrace walks every storage the server writes — every table of the database,
// the archive directory, the Redis keys under the prefix — for needle (a deleted tenant's
// e-mail domain or id) and fails naming each place that still holds it. allowTables lists
// tables that keep it on purpose (with why, at the call).
func requireNoTrace(t *testing.T, conn *pgx.Conn, archiveDir string, rc *redis.Client, prefix, needle string, allowTables ...string) {
	t.Helper()
	ctx := context.Background()
	rows, err := conn.Query(ctx, `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables
		WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`)
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		tables = append(tables, n)
	}
	require.NoError(t, rows.Err())
	var found []string
	for _, tb := range tables {
		if slices.Contains(allowTables, tb) {
			continue
		}
		var n int
		require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM `+tb+` x WHERE x::text ILIKE '%' || $1 || '%'`, needle).Scan(&n), tb)
		if n > 0 {
			found = append(found, fmt.Sprintf("table %s: %d rows", tb, n))
		}
	}
	require.NoError(t, filepath.WalkDir(archiveDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(archiveDir, path)
		if !strings.HasPrefix(rel, "backups/") {
			// Export archives are compressed, so their content is not searched: none may remain.
			found = append(found, "archive "+rel)
		}
		return nil
	}))
	keys, err := rc.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	for _, k := range keys {
		if strings.Contains(strings.ToLower(k), strings.ToLower(needle)) {
			found = append(found, "redis key "+k)
			continue
		}
		if typ, _ := rc.Type(ctx, k).Result(); typ == "string" {
			if v, _ := rc.Get(ctx, k).Result(); strings.Contains(strings.ToLower(v), strings.ToLower(needle)) {
				found = append(found, "redis value of "+k)
			}
		}
	}
	require.Empty(t, found, "%q still stored after the erasure", needle)
}

// walkThrough is the platform's main path, as a customer and an operator live it.
// schemaExists, when not nil, reports whether a Postgres schema exists: the tenant's schema
// must exist once it is created and be gone once it is DELETED.
func walkThrough(t *testing.T, c *client, schemaExists func(name string) bool) {
	// Operator logs in (no X-Tenant-ID).
	r := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword}))
	op := r.json(t)["access_token"].(string)

	// Creates a tenant; the owner invitation comes back once.
	tenant := c.createTenant(op, map[string]any{
		"name": "Acme GmbH", "slug": "acme", "admin_email": "owner@acme.example", "tier": "STARTER",
	})
	tid := tenant["id"].(string)
	require.Equal(t, "ACTIVE", tenant["status"])
	schema := tenant["schema_name"].(string)
	if schemaExists != nil {
		require.True(t, schemaExists(schema), "schema %s after POST /tenants", schema)
	}
	inv := tenant["owner_invitation"].(map[string]any)["token"].(string)
	c.expect(409, c.do("POST", "/api/v1/tenants", op, map[string]any{"name": "Other", "slug": "acme", "admin_email": "x@y.example"}))
	c.expect(422, c.do("POST", "/api/v1/tenants", op, map[string]any{"name": "Bad", "slug": "Not A Slug", "admin_email": "x@y.example"}))

	// The owner registers with the invitation and logs in.
	c.expect(201, c.do("POST", "/api/v1/auth/register", "", map[string]any{
		"email": "owner@acme.example", "password": "Owner-Passw0rd!", "full_name": "Olga Owner", "invitation_token": inv,
	}, "X-Tenant-ID", "acme"))
	c.expect(401, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "owner@acme.example", "password": "wrong-Passw0rd!"}, "X-Tenant-ID", "acme"))
	r = c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "owner@acme.example", "password": "Owner-Passw0rd!"}, "X-Tenant-ID", tid))
	tokens := r.json(t)
	owner := tokens["access_token"].(string)
	require.Equal(t, "Bearer", tokens["token_type"])
	me := c.expect(200, c.do("GET", "/api/v1/auth/me", owner, nil)).json(t)
	require.Equal(t, "OWNER", me["role"])
	require.Equal(t, tid, me["tenant_id"])

	// A second tenant's owner cannot see the first tenant.
	other := c.createTenant(op, map[string]any{"name": "Globex", "slug": "globex", "admin_email": "owner@globex.example"})
	c.expect(201, c.do("POST", "/api/v1/auth/register", "", map[string]any{
		"email": "owner@globex.example", "password": "Owner-Passw0rd!", "full_name": "Gus", "invitation_token": other["owner_invitation"].(map[string]any)["token"],
	}, "X-Tenant-ID", "globex"))
	r = c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "owner@globex.example", "password": "Owner-Passw0rd!"}, "X-Tenant-ID", "globex"))
	globex := r.json(t)["access_token"].(string)
	c.expect(200, c.do("GET", "/api/v1/tenants/"+tid, owner, nil))
	c.expect(403, c.do("GET", "/api/v1/tenants/"+tid, globex, nil))
	c.expect(403, c.do("GET", "/api/v1/tenants/"+tid+"/costs/current", globex, nil))
	c.expect(403, c.do("GET", "/api/v1/tenants/"+tid+"/audit-log", globex, nil))

	// Usage goes in (operator), costs come out (owner), exactly.
	now := time.Now().UTC()
	events := []map[string]any{
		{"id": "e1", "resource_type": "CPU", "quantity": "10", "timestamp": now.Add(-time.Hour).Format(time.RFC3339)},
		{"id": "e2", "resource_type": "API_CALLS", "quantity": 1000, "timestamp": now.Add(-time.Hour).Format(time.RFC3339)},
		{"id": "e3", "resource_type": "CPU", "quantity": "1", "timestamp": now.Add(time.Hour).Format(time.RFC3339)}, // in the future: rejected
	}
	r = c.expect(200, c.do("POST", "/api/v1/tenants/"+tid+"/usage", op, map[string]any{"events": events}))
	ing := r.json(t)
	require.EqualValues(t, 2, ing["accepted"])
	require.EqualValues(t, 1, ing["rejected"])
	r = c.expect(200, c.do("POST", "/api/v1/tenants/"+tid+"/usage", op, map[string]any{"events": events[:2]}))
	require.EqualValues(t, 2, r.json(t)["duplicates"])
	c.expect(403, c.do("POST", "/api/v1/tenants/"+tid+"/usage", owner, map[string]any{"events": events[:1]}))
	c.expect(422, c.do("POST", "/api/v1/tenants/"+tid+"/usage", op, map[string]any{"events": []map[string]any{{"id": "x", "resource_type": "NOPE", "quantity": "1", "timestamp": now.Format(time.RFC3339)}}}))
	day := now.Add(-time.Hour).Format("2006-01-02")
	r = c.expect(200, c.do("GET", "/api/v1/tenants/"+tid+"/costs?start_date="+day+"&end_date="+day+"&group_by=resource", owner, nil))
	// 10 vCPU-hours * 0.02 + 1000 calls * 0.0001 = 0.2 + 0.1
	requireDecimal(t, "0.3", r.json(t)["total_amount"])
	c.expect(422, c.do("GET", "/api/v1/tenants/"+tid+"/costs?start_date="+day+"&end_date=2000-01-01", owner, nil))
	c.expect(200, c.do("GET", "/api/v1/tenants/"+tid+"/costs/projection", owner, nil))
	c.expect(200, c.do("GET", "/api/v1/tenants/"+tid+"/invoices", owner, nil))
	c.expect(200, c.do("GET", "/api/v1/tenants/"+tid+"/anomalies", owner, nil))

	// The audit log recorded it and verifies.
	r = c.expect(200, c.do("GET", "/api/v1/tenants/"+tid+"/audit-log", owner, nil))
	require.NotEmpty(t, r.json(t)["items"])
	r = c.expect(200, c.do("GET", "/api/v1/tenants/"+tid+"/audit-log/verify", owner, nil))
	require.Equal(t, true, r.json(t)["valid"], "%s", r.body)

	// GDPR export: 202, then COMPLETED with a download URL that needs no bearer token.
	r = c.expect(202, c.do("POST", "/api/v1/tenants/"+tid+"/gdpr/export", owner, map[string]any{"format": "json", "include_audit_logs": true}))
	job := r.json(t)["job_id"].(string)
	var status map[string]any
	require.Eventually(t, func() bool {
		status = c.expect(200, c.do("GET", "/api/v1/tenants/"+tid+"/gdpr/export/"+job, owner, nil)).json(t)
		return status["status"] == "COMPLETED" || status["status"] == "FAILED"
	}, 30*time.Second, 100*time.Millisecond)
	require.Equal(t, "COMPLETED", status["status"], "%v", status)
	dl := status["download_url"].(string)
	u, err := url.Parse(dl)
	require.NoError(t, err)
	res := c.do("GET", u.RequestURI(), "", nil)
	require.Equal(t, 200, res.status)
	zr, err := zip.NewReader(bytes.NewReader(res.body), int64(len(res.body)))
	require.NoError(t, err, "the export is a zip archive")
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		rc, err := f.Open()
		require.NoError(t, err)
		content, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		require.NotContains(t, string(content), "$argon2id$", "%s: credentials are never exported", f.Name)
		require.NotContains(t, string(content), "owner@globex.example", "%s: another tenant's data", f.Name)
		if f.Name == "audit/entries.json" {
			// The API's representation, not Go field names.
			require.Contains(t, string(content), `"resource_type"`)
			require.NotContains(t, string(content), `"ResourceType"`)
		}
		if f.Name == "data/auth_users.json" {
			// Typed values in both modes: booleans as such, instants RFC 3339 UTC.
			var users []map[string]any
			require.NoError(t, json.Unmarshal(content, &users))
			require.NotEmpty(t, users)
			require.IsType(t, true, users[0]["is_active"])
			at, err := time.Parse(time.RFC3339Nano, users[0]["created_at"].(string))
			require.NoError(t, err, "created_at %v", users[0]["created_at"])
			require.Equal(t, time.UTC, at.Location())
		}
	}
	require.Contains(t, names, "audit/entries.json")
	require.Contains(t, names, "data/auth_users.json")
	require.Contains(t, names, "manifest.json")
	require.Contains(t, names, "schema.json")
	c.expect(422, c.do("POST", "/api/v1/tenants/"+tid+"/gdpr/export", owner, map[string]any{"format": "yaml"}))
	// A data-subject request with a contact address of the tenant: the tenant erasure must
	// take the address out of the kept request (requireNoTrace after DELETED).
	dsr := c.expect(201, c.do("POST", "/api/v1/tenants/"+tid+"/gdpr/requests", owner,
		map[string]any{"type": "OBJECTION", "email": "customer@acme.example", "details": "no newsletters, customer@acme.example"})).json(t)
	require.Equal(t, "IDENTITY_PENDING", dsr["status"])
	c.expect(200, c.do("GET", "/api/v1/tenants/"+tid+"/gdpr/retention", owner, nil))

	// Refresh rotates; logout revokes the access token.
	r = c.expect(200, c.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": tokens["refresh_token"]}))
	owner2 := r.json(t)["access_token"].(string)
	c.expect(204, c.do("POST", "/api/v1/auth/logout", owner2, nil))
	c.expect(401, c.do("GET", "/api/v1/auth/me", owner2, nil))
	c.expect(401, c.do("GET", "/api/v1/auth/me", owner, nil)) // the whole session ended
	r = c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "owner@acme.example", "password": "Owner-Passw0rd!"}, "X-Tenant-ID", "acme"))
	owner = r.json(t)["access_token"].(string)

	// Suspension locks the tenant's users out; the operator can still manage it.
	c.expect(200, c.do("POST", "/api/v1/tenants/"+tid+"/suspend", op, nil))
	c.expect(409, c.do("POST", "/api/v1/tenants/"+tid+"/suspend", op, nil))
	c.expect(403, c.do("GET", "/api/v1/tenants/"+tid+"/costs/current", owner, nil))
	c.expect(200, c.do("POST", "/api/v1/tenants/"+tid+"/activate", op, nil))

	// Deprovisioning ends DELETED; the tombstone keeps no personal data.
	r = c.do("DELETE", "/api/v1/tenants/"+tid, op, nil)
	require.Contains(t, []int{200, 202, 204}, r.status, "body: %s", r.body)
	require.Eventually(t, func() bool {
		g := c.do("GET", "/api/v1/tenants/"+tid, op, nil)
		return g.status == 200 && g.json(t)["status"] == "DELETED"
	}, 30*time.Second, 100*time.Millisecond)
	g := c.expect(200, c.do("GET", "/api/v1/tenants/"+tid, op, nil))
	require.NotContains(t, string(g.body), "owner@acme.example")
	// The export went with the tenant: its download URL answers 404, and the signed
	// certificate counts it.
	c.expect(404, c.do("GET", u.RequestURI(), "", nil))
	er := c.expect(200, c.do("GET", "/api/v1/gdpr/tenant-erasures/"+tid, op, nil)).json(t)
	cert := er["certificate"].(map[string]any)["certificate"].(map[string]any)
	require.Equal(t, float64(1), cert["counts"].(map[string]any)["gdpr.exports"], "certificate: %v", cert)
	if schemaExists != nil {
		require.False(t, schemaExists(schema), "schema %s after DELETE", schema)
	}
	// The tenant's users went with it: their tokens no longer open anything.
	gone := c.do("GET", "/api/v1/tenants/"+tid+"/costs/current", owner, nil)
	require.Contains(t, []int{401, 404}, gone.status, "body: %s", gone.body)

	// The platform still answers its operations endpoints.
	c.expect(200, c.do("GET", "/health", "", nil))
	m := c.expect(200, c.do("GET", "/metrics", "", nil))
	require.Contains(t, string(m.body), "http_requests_total")
}

func requireDecimal(t *testing.T, want string, got any) {
	t.Helper()
	s, ok := got.(string)
	require.True(t, ok, "money must be a decimal string, got %T %v", got, got)
	require.Equal(t, strings.TrimRight(strings.TrimRight(want, "0"), "."), strings.TrimRight(strings.TrimRight(s, "0"), "."), "amount %s", s)
}

func pgConfigFromURL(t *testing.T, raw string) map[string]string {
	t.Helper()
	var host, port, user, db string
	// postgres://user@host:port/db?...
	rest := strings.TrimPrefix(raw, "postgres://")
	at := strings.Index(rest, "@")
	user = rest[:at]
	if i := strings.Index(user, ":"); i >= 0 {
		user = user[:i]
	}
	rest = rest[at+1:]
	slash := strings.Index(rest, "/")
	hp := rest[:slash]
	db = rest[slash+1:]
	if q := strings.Index(db, "?"); q >= 0 {
		db = db[:q]
	}
	host, port = hp, "5432"
	if i := strings.LastIndex(hp, ":"); i >= 0 {
		host, port = hp[:i], hp[i+1:]
	}
	_ = fmt.Sprint
	// Postgres mode refuses to serve without a KEK; tests use a fixed one.
	return map[string]string{"APP_POSTGRES_HOST": host, "APP_POSTGRES_PORT": port, "APP_POSTGRES_USER": user, "APP_POSTGRES_DB": db,
		"APP_GDPR_KEY_ENCRYPTION_KEY": testKEK}
}

// testKEK is the key-encryption key of the Postgres-mode tests (32 bytes of 0x07).
var testKEK = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))

func testKeyPEMs(t *testing.T) (priv, pub string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	pubDer, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDer}))
}

// TestTenantAPIRateLimit: a tenant's users get 429 with Retry-After past settings.api_rate_limit
// requests a minute; operators are not throttled by the tenant's quota.
func TestTenantAPIRateLimit(t *testing.T) {
	c := startApp(t, map[string]string{"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword})
	op := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(t)["access_token"].(string)
	tenant := c.createTenant(op, map[string]any{"name": "Busy", "slug": "busy", "admin_email": "o@busy.example"})
	tid := tenant["id"].(string)
	c.expect(200, c.do("PATCH", "/api/v1/tenants/"+tid, op, map[string]any{"settings": map[string]any{"api_rate_limit": 3}}))
	c.expect(201, c.do("POST", "/api/v1/auth/register", "", map[string]any{"email": "o@busy.example", "password": "Owner-Passw0rd!", "full_name": "O",
		"invitation_token": tenant["owner_invitation"].(map[string]any)["token"]}, "X-Tenant-ID", "busy"))
	owner := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "o@busy.example", "password": "Owner-Passw0rd!"}, "X-Tenant-ID", "busy")).json(t)["access_token"].(string)
	for i := 0; i < 3; i++ {
		c.expect(200, c.do("GET", "/api/v1/tenants/"+tid+"/costs/current", owner, nil))
	}
	r := c.expect(429, c.do("GET", "/api/v1/tenants/"+tid+"/costs/current", owner, nil))
	require.NotEmpty(t, r.header.Get("Retry-After"))
	require.Equal(t, "rate_limited", r.json(t)["code"])
	c.expect(200, c.do("GET", "/api/v1/tenants/"+tid+"/costs/current", op, nil))
}

// TestTenantMaxUsers: registration stops at settings.max_users with a 409 problem; the
// refused invitation stays usable once the operator raises the limit.
func TestTenantMaxUsers(t *testing.T) {
	c := startApp(t, map[string]string{"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword})
	op := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(t)["access_token"].(string)
	tenant := c.createTenant(op, map[string]any{"name": "Tiny", "slug": "tiny", "admin_email": "o@tiny.example"})
	tid := tenant["id"].(string)
	r := c.expect(200, c.do("PATCH", "/api/v1/tenants/"+tid, op, map[string]any{"settings": map[string]any{"max_users": 1}}))
	require.EqualValues(t, 1, r.json(t)["settings"].(map[string]any)["max_users"])
	c.expect(201, c.do("POST", "/api/v1/auth/register", "", map[string]any{"email": "o@tiny.example", "password": "Owner-Passw0rd!", "full_name": "O",
		"invitation_token": tenant["owner_invitation"].(map[string]any)["token"]}, "X-Tenant-ID", "tiny"))
	owner := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "o@tiny.example", "password": "Owner-Passw0rd!"}, "X-Tenant-ID", "tiny")).json(t)["access_token"].(string)
	inv := c.expect(201, c.do("POST", "/api/v1/tenants/"+tid+"/invitations", owner, map[string]any{"email": "bob@tiny.example", "role": "MEMBER"})).json(t)["token"].(string)
	bob := map[string]any{"email": "bob@tiny.example", "password": "Bob-Passw0rd!!", "full_name": "Bob", "invitation_token": inv}

	p := c.expect(409, c.do("POST", "/api/v1/auth/register", "", bob, "X-Tenant-ID", "tiny")).json(t)
	require.Equal(t, "tenant_user_limit", p["code"])
	require.Contains(t, p["detail"], "max_users")

	c.expect(200, c.do("PATCH", "/api/v1/tenants/"+tid, op, map[string]any{"settings": map[string]any{"max_users": 2}}))
	u := c.expect(201, c.do("POST", "/api/v1/auth/register", "", bob, "X-Tenant-ID", "tiny")).json(t)
	require.Equal(t, "MEMBER", u["role"], "the refused registration left the invitation unused")
}

// migratedPostgres is the APP_ configuration of a fresh test database (migrated) and Redis
// key prefix, with the operator and JWT keys the walks log in with.
func migratedPostgres(t *testing.T) map[string]string {
	t.Helper()
	_, redisPrefix := redistest.Client(t)
	cfg := pgConfigFromURL(t, pgtest.URL(t))
	cfg["APP_REDIS_URL"], cfg["APP_REDIS_KEY_PREFIX"] = redistest.URL(t), redisPrefix
	cfg["APP_BOOTSTRAP_ADMIN_EMAIL"], cfg["APP_BOOTSTRAP_ADMIN_PASSWORD"] = opEmail, opPassword
	cfg["APP_JWT_PRIVATE_KEY"], cfg["APP_JWT_PUBLIC_KEY"] = testKeyPEMs(t)
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(k string) string { return cfg[k] }}
	require.Equal(t, 0, m.Run(context.Background(), []string{"migrate"}), out.String())
	return cfg
}
