package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/internal/pgtest"
	"github.com/eusaas/eusaas/internal/redistest"
)

// totpAt is RFC 6238 (HMAC-SHA1, 6 digits, 30-second steps) computed by the test itself from
// the secret the server showed, not by the module under test.
func totpAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	require.NoError(t, err)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(at.Unix()/30))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	return fmt.Sprintf("%06d", (binary.BigEndian.Uint32(sum[off:off+4])&0x7fffffff)%1_000_000)
}

// TestMFAAndAPIKeysOverHTTP runs the second factor and tenant API keys end to end, and
// checks that no secret (TOTP secret, code, recovery code, API key) reaches the logs, a
// problem or an audit entry.
func TestMFAAndAPIKeysOverHTTP(t *testing.T) {
	logs := &syncBuffer{}
	c := startAppLogging(t, map[string]string{"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword,
		"APP_MFA_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}, logs)
	mfaAPIKeysWalk(t, c, logs)
	// Turning the second factor on sent a notice mail (through the mail job to the outbox).
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), `"template":"mfa_enabled"`) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	require.Contains(t, logs.String(), `"template":"mfa_enabled"`)
	require.Contains(t, logs.String(), `"subject":"Two-step verification turned on"`)
}

// TestMFAAndAPIKeysOverHTTPPostgres is the same walk on Postgres and Redis, and checks that
// the TOTP secret is sealed in the row.
func TestMFAAndAPIKeysOverHTTPPostgres(t *testing.T) {
	logs := &syncBuffer{}
	c, dbURL := startPostgresApp(t, logs)
	secret := mfaAPIKeysWalk(t, c, logs)
	conn, err := pgx.Connect(context.Background(), dbURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var schema string
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT schema_name FROM eusaas.tenants WHERE slug = 'sec'`).Scan(&schema))
	var sealed []byte
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT totp_secret FROM `+pgx.Identifier{schema, "auth_users"}.Sanitize()+
		` WHERE email = 'ada@sec.example'`).Scan(&sealed))
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	require.NoError(t, err)
	require.Equal(t, byte(1), sealed[0], "sealed with APP_MFA_KEY")
	require.False(t, bytes.Contains(sealed, raw), "the raw secret is not in the row")
	var keys int
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT count(*) FROM `+pgx.Identifier{schema, "auth_api_keys"}.Sanitize()+
		` WHERE revoked_at IS NOT NULL`).Scan(&keys))
	require.Equal(t, 1, keys)
}

// startPostgresApp migrates a fresh database and starts the server on it and Redis, with
// the operator, JWT keys and APP_MFA_KEY set; it returns the client and the database URL.
func startPostgresApp(t *testing.T, logs *syncBuffer) (*client, string) {
	dbURL := pgtest.URL(t)
	_, redisPrefix := redistest.Client(t)
	cfg := pgConfigFromURL(t, dbURL)
	cfg["APP_REDIS_URL"], cfg["APP_REDIS_KEY_PREFIX"] = redistest.URL(t), redisPrefix
	cfg["APP_BOOTSTRAP_ADMIN_EMAIL"], cfg["APP_BOOTSTRAP_ADMIN_PASSWORD"] = opEmail, opPassword
	cfg["APP_JWT_PRIVATE_KEY"], cfg["APP_JWT_PUBLIC_KEY"] = testKeyPEMs(t)
	cfg["APP_MFA_KEY"] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(k string) string { return cfg[k] }}
	require.Equal(t, 0, m.Run(context.Background(), []string{"migrate"}), out.String())
	return startAppLogging(t, cfg, logs), dbURL
}

// mfaAPIKeysWalk is the walk of TestMFAAndAPIKeysOverHTTP; it returns the TOTP secret of
// the user ada@sec.example (still enabled at the end).
func mfaAPIKeysWalk(t *testing.T, c *client, logs *syncBuffer) string {
	op := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(t)["access_token"].(string)
	a := c.createTenant(op, map[string]any{"name": "Sec", "slug": "sec", "admin_email": "owner@sec.example"})
	b := c.createTenant(op, map[string]any{"name": "Other", "slug": "other", "admin_email": "owner@other.example"})
	aID, bID := a["id"].(string), b["id"].(string)
	const pass = "Owner-Passw0rd!"
	c.expect(201, c.do("POST", "/api/v1/auth/register", "", map[string]any{"email": "owner@sec.example", "password": pass, "full_name": "O",
		"invitation_token": a["owner_invitation"].(map[string]any)["token"]}, "X-Tenant-ID", "sec"))
	login := func(email string) map[string]any {
		return c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": pass}, "X-Tenant-ID", "sec")).json(t)
	}
	owner := login("owner@sec.example")["access_token"].(string)
	var secrets []string
	var problems []string
	problem := func(status int, r resp) {
		t.Helper()
		c.expect(status, r)
		problems = append(problems, string(r.body))
	}

	// Enrolment: a wrong code is a 422 problem; the right one (computed here) enables it.
	en := c.expect(200, c.do("POST", "/api/v1/auth/mfa/totp", owner, nil))
	require.Equal(t, "no-store", en.header.Get("Cache-Control"))
	secret := en.json(t)["secret"].(string)
	require.Contains(t, en.json(t)["otpauth_url"], "otpauth://totp/")
	secrets = append(secrets, secret)
	now := time.Now()
	wrong := "000000"
	for _, d := range []int{-1, 0, 1} {
		if totpAt(t, secret, now.Add(time.Duration(d)*30*time.Second)) == wrong {
			wrong = "999999"
		}
	}
	problem(422, c.do("POST", "/api/v1/auth/mfa/totp/confirm", owner, map[string]any{"code": wrong}))
	code := totpAt(t, secret, now)
	rc := c.expect(200, c.do("POST", "/api/v1/auth/mfa/totp/confirm", owner, map[string]any{"code": code})).json(t)["recovery_codes"].([]any)
	require.Len(t, rc, 10)
	for _, x := range rc {
		secrets = append(secrets, x.(string))
	}
	problem(409, c.do("POST", "/api/v1/auth/mfa/totp", owner, nil))

	// Login: the challenge carries no tokens; the confirming code is a replay; the next
	// step's code works once; a recovery code works once.
	ch := login("owner@sec.example")
	require.Equal(t, true, ch["mfa_required"])
	require.EqualValues(t, 300, ch["expires_in"])
	require.NotContains(t, ch, "access_token")
	require.NotContains(t, ch, "refresh_token")
	mfaToken := ch["mfa_token"].(string)
	problem(401, c.do("GET", "/api/v1/auth/me", mfaToken, nil))
	problem(401, c.do("POST", "/api/v1/auth/login/mfa", "", map[string]any{"mfa_token": mfaToken, "code": code}))
	next := totpAt(t, secret, now.Add(30*time.Second))
	pair := c.expect(200, c.do("POST", "/api/v1/auth/login/mfa", "", map[string]any{"mfa_token": mfaToken, "code": next})).json(t)
	owner = pair["access_token"].(string)
	c.expect(200, c.do("GET", "/api/v1/auth/me", owner, nil))
	problem(401, c.do("POST", "/api/v1/auth/login/mfa", "", map[string]any{"mfa_token": mfaToken, "code": next}))
	c.expect(200, c.do("POST", "/api/v1/auth/login/mfa", "", map[string]any{"mfa_token": mfaToken, "code": rc[0]}))
	problem(401, c.do("POST", "/api/v1/auth/login/mfa", "", map[string]any{"mfa_token": mfaToken, "code": rc[0]}))
	problem(422, c.do("DELETE", "/api/v1/auth/mfa/totp", owner, map[string]any{"current_password": "Wrong-Passw0rd!"}))

	// settings.mfa_required: a user without a second factor gets enrolment-only tokens.
	c.expect(200, c.do("PATCH", "/api/v1/tenants/"+aID, op, map[string]any{"settings": map[string]any{"mfa_required": true}}))
	inv := c.expect(201, c.do("POST", "/api/v1/tenants/"+aID+"/invitations", owner, map[string]any{"email": "ada@sec.example", "role": "ADMIN"})).json(t)
	c.expect(201, c.do("POST", "/api/v1/auth/register", "", map[string]any{"email": "ada@sec.example", "password": pass, "full_name": "Ada",
		"invitation_token": inv["token"]}, "X-Tenant-ID", "sec"))
	ada := login("ada@sec.example")
	require.Equal(t, true, ada["mfa_enrolment_required"])
	adaTok := ada["access_token"].(string)
	r := c.do("GET", "/api/v1/tenants/"+aID, adaTok, nil)
	problem(403, r)
	require.Contains(t, string(r.body), "mfa_enrolment_required")
	c.expect(200, c.do("GET", "/api/v1/auth/me", adaTok, nil))
	adaSecret := c.expect(200, c.do("POST", "/api/v1/auth/mfa/totp", adaTok, nil)).json(t)["secret"].(string)
	secrets = append(secrets, adaSecret)
	c.expect(200, c.do("POST", "/api/v1/auth/mfa/totp/confirm", adaTok, map[string]any{"code": totpAt(t, adaSecret, time.Now())}))
	full := c.expect(200, c.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": ada["refresh_token"]})).json(t)
	c.expect(200, c.do("GET", "/api/v1/tenants/"+aID, full["access_token"].(string), nil))
	c.expect(200, c.do("PATCH", "/api/v1/tenants/"+aID, op, map[string]any{"settings": map[string]any{"mfa_required": false}}))

	// API keys: shown once, scoped to their tenant and scopes, revoked at once.
	mk := func(scopes ...string) map[string]any {
		r := c.expect(201, c.do("POST", "/api/v1/tenants/"+aID+"/api-keys", owner, map[string]any{"name": "backend", "scopes": scopes}))
		require.Equal(t, "no-store", r.header.Get("Cache-Control"))
		k := r.json(t)
		require.Regexp(t, `^eusk_[0-9A-Za-z]{65}$`, k["key"])
		require.True(t, strings.HasPrefix(k["key"].(string), k["prefix"].(string)))
		secrets = append(secrets, k["key"].(string))
		return k
	}
	usageOnly, both := mk("usage:write"), mk("usage:write", "costs:read")
	problem(422, c.do("POST", "/api/v1/tenants/"+aID+"/api-keys", owner, map[string]any{"name": "x", "scopes": []string{"billing:write"}}))
	event := func() map[string]any {
		return map[string]any{"events": []map[string]any{{"id": uuid.NewString(), "resource_type": "CPU", "quantity": "1",
			"timestamp": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)}}}
	}
	k1, k2 := usageOnly["key"].(string), both["key"].(string)
	c.expect(200, c.do("POST", "/api/v1/tenants/"+aID+"/usage", k1, event()))
	problem(403, c.do("POST", "/api/v1/tenants/"+bID+"/usage", k1, event()))
	problem(403, c.do("GET", "/api/v1/tenants/"+aID+"/costs/current", k1, nil))
	c.expect(200, c.do("GET", "/api/v1/tenants/"+aID+"/costs/current", k2, nil))
	problem(403, c.do("GET", "/api/v1/tenants/"+bID+"/costs/current", k2, nil))
	problem(403, c.do("GET", "/api/v1/tenants/"+aID+"/invoices", k2, nil))
	problem(403, c.do("GET", "/api/v1/tenants/"+aID+"/api-keys", k2, nil))
	problem(403, c.do("GET", "/api/v1/auth/me", k2, nil))
	list := c.expect(200, c.do("GET", "/api/v1/tenants/"+aID+"/api-keys", owner, nil))
	require.NotContains(t, string(list.body), k1)
	items := list.json(t)["items"].([]any)
	require.Len(t, items, 2)
	require.NotNil(t, items[0].(map[string]any)["last_used_at"], "used just now")
	c.expect(204, c.do("DELETE", "/api/v1/tenants/"+aID+"/api-keys/"+usageOnly["id"].(string), owner, nil))
	problem(401, c.do("POST", "/api/v1/tenants/"+aID+"/usage", k1, event()))
	problem(404, c.do("DELETE", "/api/v1/tenants/"+aID+"/api-keys/"+usageOnly["id"].(string), owner, nil))
	problem(401, c.do("GET", "/api/v1/tenants/"+aID+"/costs/current", "eusk_"+strings.Repeat("Z", 65), nil))
	problem(401, c.do("GET", "/api/v1/tenants/"+aID+"/costs/current", k2[:len(k2)-1]+"0", nil))

	// No secret in a problem, an audit entry or the log.
	tenantAudit := c.expect(200, c.do("GET", "/api/v1/tenants/"+aID+"/audit-log?page_size=100", owner, nil)).body
	platformAudit := c.expect(200, c.do("GET", "/api/v1/audit-log?page_size=100", op, nil)).body
	for _, want := range []string{"MFA_ENABLED", "MFA_FAILED", "MFA_RECOVERY_CODE_USED", "API_KEY_CREATED", "API_KEY_REVOKED"} {
		require.Contains(t, string(tenantAudit), want)
	}
	logged := logs.String()
	for _, s := range secrets {
		require.NotContains(t, logged, s, "secret in the log")
		require.NotContains(t, string(tenantAudit), s, "secret in the tenant audit log")
		require.NotContains(t, string(platformAudit), s, "secret in the platform audit log")
		for _, p := range problems {
			require.NotContains(t, p, s, "secret in a problem")
		}
	}
	for _, p := range problems {
		require.NotContains(t, p, code)
		require.NotContains(t, p, next)
	}
	return adaSecret
}
