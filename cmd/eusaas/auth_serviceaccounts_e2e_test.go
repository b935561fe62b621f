package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestEndToEndServiceAccountMemory: an operator creates a service account, the metering
// service obtains a token with the client-credentials grant and ingests usage, which then
// shows in the tenant owner's costs; the service may do nothing else, and revocation cuts
// it off. The platform audit chain records creation, issuance and revocation.
func TestEndToEndServiceAccountMemory(t *testing.T) {
	c := startApp(t, map[string]string{
		"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword,
	})
	op := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(t)["access_token"].(string)
	tenant := c.createTenant(op, map[string]any{
		"name": "Acme GmbH", "slug": "acme", "admin_email": "owner@acme.example"})
	tid := tenant["id"].(string)
	c.expect(201, c.do("POST", "/api/v1/auth/register", "", map[string]any{
		"email": "owner@acme.example", "password": "Owner-Passw0rd!", "full_name": "Olga Owner",
		"invitation_token": tenant["owner_invitation"].(map[string]any)["token"]}, "X-Tenant-ID", "acme"))
	owner := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "owner@acme.example", "password": "Owner-Passw0rd!"},
		"X-Tenant-ID", "acme")).json(t)["access_token"].(string)

	c.expect(403, c.do("POST", "/api/v1/service-accounts", owner, map[string]any{"name": "metering"}))
	sa := c.expect(201, c.do("POST", "/api/v1/service-accounts", op, map[string]any{"name": "metering"})).json(t)
	id, clientID, secret := sa["id"].(string), sa["client_id"].(string), sa["client_secret"].(string)

	c.expect(401, c.do("POST", "/api/v1/auth/token", "", map[string]any{"grant_type": "client_credentials", "client_id": clientID, "client_secret": "nope"}))
	tok := c.expect(200, c.do("POST", "/api/v1/auth/token", "", map[string]any{"grant_type": "client_credentials", "client_id": clientID, "client_secret": secret})).json(t)
	require.Nil(t, tok["refresh_token"])
	svc := tok["access_token"].(string)

	at := time.Now().UTC().Add(-time.Hour)
	events := []map[string]any{{"id": "m1", "resource_type": "CPU", "quantity": "10", "timestamp": at.Format(time.RFC3339)}}
	r := c.expect(200, c.do("POST", "/api/v1/tenants/"+tid+"/usage", svc, map[string]any{"events": events}))
	require.EqualValues(t, 1, r.json(t)["accepted"])
	c.expect(403, c.do("GET", "/api/v1/tenants/"+tid+"/costs/current", svc, nil))
	c.expect(403, c.do("GET", "/api/v1/tenants/"+tid, svc, nil))

	day := at.Format("2006-01-02")
	r = c.expect(200, c.do("GET", "/api/v1/tenants/"+tid+"/costs?start_date="+day+"&end_date="+day, owner, nil))
	requireDecimal(t, "0.2", r.json(t)["total_amount"]) // 10 vCPU-hours * 0.02 EUR

	c.expect(204, c.do("DELETE", "/api/v1/service-accounts/"+id, op, nil))
	c.expect(401, c.do("POST", "/api/v1/tenants/"+tid+"/usage", svc, map[string]any{"events": events}))
	c.expect(401, c.do("POST", "/api/v1/auth/token", "", map[string]any{"grant_type": "client_credentials", "client_id": clientID, "client_secret": secret}))

	for _, action := range []string{"SERVICE_ACCOUNT_CREATED", "SERVICE_ACCOUNT_REVOKED", "LOGIN"} {
		items := c.expect(200, c.do("GET", "/api/v1/audit-log?action="+action, op, nil)).json(t)["items"].([]any)
		found := false
		for _, it := range items {
			e := it.(map[string]any)
			actor := e["actor"].(map[string]any)
			if action == "LOGIN" {
				found = found || (actor["kind"] == "service" && e["resource_id"] == id)
			} else {
				found = found || (actor["kind"] == "operator" && e["resource_id"] == id)
			}
		}
		require.True(t, found, "%s on the platform chain: %v", action, items)
	}
	require.Equal(t, true, c.expect(200, c.do("GET", "/api/v1/audit-log/verify", op, nil)).json(t)["valid"])
}

// TestServiceTokenOnlyIngestsUsage walks the served OpenAPI document like the isolation
// test: a service account's token is refused (403) by every protected operation except usage
// ingestion, so a route added later cannot silently open up to services.
func TestServiceTokenOnlyIngestsUsage(t *testing.T) {
	c := startApp(t, map[string]string{"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword})
	op := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(t)["access_token"].(string)
	tid := c.createTenant(op, map[string]any{"name": "A", "slug": "tenant-a", "admin_email": "o@a.example"})["id"].(string)
	sa := c.expect(201, c.do("POST", "/api/v1/service-accounts", op, map[string]any{"name": "metering"})).json(t)
	svc := c.expect(200, c.do("POST", "/api/v1/auth/token", "", map[string]any{"grant_type": "client_credentials",
		"client_id": sa["client_id"], "client_secret": sa["client_secret"]})).json(t)["access_token"].(string)

	var doc struct {
		Paths map[string]map[string]struct {
			Security []map[string][]string `json:"security"`
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(c.expect(200, c.do("GET", "/openapi.json", "", nil)).body, &doc))
	param := regexp.MustCompile(`\{[a-z_]+\}`)
	checked := 0
	for path, ops := range doc.Paths {
		for method, o := range ops {
			method = strings.ToUpper(method)
			name := method + " " + path
			if (len(o.Security) == 1 && len(o.Security[0]) == 0) || name == "POST /api/v1/auth/logout" {
				continue // public; logout only revokes the caller's own token
			}
			url := param.ReplaceAllStringFunc(strings.Replace(path, "{id}", tid, 1), func(p string) string {
				if p == "{resource}" {
					return "CPU"
				}
				return uuid.NewString()
			})
			var body any
			if method == "POST" || method == "PUT" || method == "PATCH" {
				body = map[string]any{}
			}
			if v, ok := validInput[name]; ok {
				body = v.body
				url += v.query
			}
			want := 403
			if name == "POST /api/v1/tenants/{id}/usage" {
				want = 200
			}
			r := c.do(method, url, svc, body)
			require.Equal(t, want, r.status, "%s with a service token: %s", name, r.body)
			checked++
		}
	}
	require.Greater(t, checked, 30, "the walk covered the protected API")
}
