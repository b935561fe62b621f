package main

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestEveryProtectedRouteRefusesOtherTenants walks the served OpenAPI document, so a route
// added later is covered without touching this test: with tenant B's OWNER token, every
// protected operation on tenant A (and every operator-only operation) must be refused, and
// without a token every protected operation must answer 401. Input validation may answer
// 422 before any handler runs, so operations with required input get a valid one below and
// every operation must reach its authorisation check.
func TestEveryProtectedRouteRefusesOtherTenants(t *testing.T) {
	c := startApp(t, map[string]string{"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword})
	op := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(t)["access_token"].(string)
	a := c.createTenant(op, map[string]any{"name": "A", "slug": "tenant-a", "admin_email": "o@a.example"})
	b := c.createTenant(op, map[string]any{"name": "B", "slug": "tenant-b", "admin_email": "o@b.example"})
	c.expect(201, c.do("POST", "/api/v1/auth/register", "", map[string]any{"email": "o@b.example", "password": "Owner-Passw0rd!", "full_name": "B",
		"invitation_token": b["owner_invitation"].(map[string]any)["token"]}, "X-Tenant-ID", "tenant-b"))
	ownerB := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "o@b.example", "password": "Owner-Passw0rd!"},
		"X-Tenant-ID", "tenant-b")).json(t)["access_token"].(string)
	aID := a["id"].(string)

	var doc struct {
		Paths map[string]map[string]struct {
			Security []map[string][]string `json:"security"`
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(c.expect(200, c.do("GET", "/openapi.json", "", nil)).body, &doc))

	// Operations a tenant OWNER may legitimately call without naming a tenant in the path.
	// The caller's own account: no tenant in the path, so another tenant's token is simply
	// another caller (its own sessions), not a cross-tenant access.
	ownScope := map[string]bool{"POST /api/v1/auth/logout": true, "GET /api/v1/auth/me": true,
		"GET /api/v1/auth/sessions": true, "DELETE /api/v1/auth/sessions": true, "DELETE /api/v1/auth/sessions/{session_id}": true,
		"POST /api/v1/auth/password/change": true,
		"POST /api/v1/auth/mfa/totp":        true, "POST /api/v1/auth/mfa/totp/confirm": true, "DELETE /api/v1/auth/mfa/totp": true}
	param := regexp.MustCompile(`\{[a-z_]+\}`)
	checked := 0
	var keys []string
	for path := range doc.Paths {
		keys = append(keys, path)
	}
	sort.Strings(keys)
	for _, path := range keys {
		for method, op := range doc.Paths[path] {
			method = strings.ToUpper(method)
			if len(op.Security) == 1 && len(op.Security[0]) == 0 {
				continue // public
			}
			name := method + " " + path
			if ownScope[name] {
				continue
			}
			url := strings.Replace(path, "{id}", aID, 1)
			url = param.ReplaceAllStringFunc(url, func(p string) string {
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
			r := c.do(method, url, ownerB, body)
			require.Equal(t, 403, r.status, "%s with another tenant's OWNER token: %s", name, r.body)
			r = c.do(method, url, "", body)
			require.Equal(t, 401, r.status, "%s without a token: %s", name, r.body)
			checked++
		}
	}
	require.Greater(t, checked, 30, "the walk covered the protected API")
	// A itself is untouched.
	got := c.expect(200, c.do("GET", "/api/v1/tenants/"+aID, op, nil)).json(t)
	require.Equal(t, "ACTIVE", got["status"])
}

type isolationInput struct {
	body  any
	query string
}

// validInput is a well-formed request for each operation that requires input, so the walk
// tests authorisation rather than validation.
var validInput = map[string]isolationInput{
	"POST /api/v1/tenants":                       {body: map[string]any{"name": "X", "slug": "x-tenant", "admin_email": "x@x.example"}},
	"GET /api/v1/tenants/{id}/costs":             {query: "?start_date=2026-01-01&end_date=2026-01-02"},
	"POST /api/v1/tenants/{id}/gdpr/erase":       {body: map[string]any{"data_subject_id": uuid.NewString()}},
	"POST /api/v1/tenants/{id}/gdpr/export":      {body: map[string]any{"format": "json"}},
	"POST /api/v1/tenants/{id}/gdpr/legal-holds": {body: map[string]any{"reason": "litigation"}},
	"POST /api/v1/gdpr/breaches": {body: map[string]any{"detected_at": "2026-01-01T00:00:00Z", "description": "lost laptop",
		"categories": []string{"e-mail"}, "affected_tenants": []string{}, "approx_subjects": 1}},
	"POST /api/v1/gdpr/breaches/{breach_id}/notified":               {body: map[string]any{}},
	"POST /api/v1/tenants/{id}/gdpr/requests":                       {body: map[string]any{"type": "ACCESS", "email": "someone@example.eu"}},
	"POST /api/v1/tenants/{id}/gdpr/requests/{rid}/extend":          {body: map[string]any{"reason": "complex request"}},
	"POST /api/v1/tenants/{id}/gdpr/requests/{rid}/reject":          {body: map[string]any{"reason": "manifestly unfounded"}},
	"POST /api/v1/tenants/{id}/gdpr/requests/{rid}/verify-identity": {body: map[string]any{"method": "signed-in account"}},
	"POST /api/v1/tenants/{id}/gdpr/requests/{rid}/complete":        {body: map[string]any{"outcome": "done"}},
	"PUT /api/v1/tenants/{id}/gdpr/retention":                       {body: map[string]any{"default_retention_days": 365, "audit_log_retention_days": 365, "backup_retention_days": 30, "pii_retention_days": 365}},
	"POST /api/v1/tenants/{id}/invitations":                         {body: map[string]any{"email": "new@x.example", "role": "MEMBER"}},
	"POST /api/v1/tenants/{id}/invoices":                            {body: map[string]any{"period": "2026-01"}},
	"PUT /api/v1/tenants/{id}/prices/{resource}":                    {body: map[string]any{"model": "per_unit", "unit_price": "0.5"}},
	"POST /api/v1/service-accounts":                                 {body: map[string]any{"name": "metering"}},
	"POST /api/v1/tenants/{id}/anomalies/{anomaly_id}/feedback":     {body: map[string]any{"verdict": "EXPECTED"}},
	"PATCH /api/v1/tenants/{id}/users/{user_id}":                    {body: map[string]any{"full_name": "X"}},
	"POST /api/v1/auth/password/change":                             {body: map[string]any{"current_password": "Old-Passw0rd!", "new_password": "New-Passw0rd!"}},
	"PUT /api/v1/tenants/{id}/anomaly-alerts": {body: map[string]any{"subscriptions": []map[string]any{{"threshold_pct": "20", "combine": "OR", "frequency": "DAILY",
		"channels": []map[string]any{{"type": "webhook", "url": "https://hooks.example.com/x", "secret": "0123456789abcdef"}}}}}},
	"PUT /api/v1/billing/seller": {body: map[string]any{"legal_name": "EU SaaS GmbH", "email": "billing@eusaas.example", "vat_id": "DE136695976",
		"address": map[string]any{"line1": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin", "country": "DE"}}},
	"PUT /api/v1/tenants/{id}/billing-profile": {body: map[string]any{"legal_name": "Kunde AG", "email": "ap@kunde.example", "customer_type": "CONSUMER",
		"address": map[string]any{"line1": "1 Main Street", "city": "Paris", "country": "FR"}}},
	"POST /api/v1/billing/tax-rates": {body: map[string]any{"country": "DE", "percent": "19", "from": "2030-01-01"}},
	"POST /api/v1/billing/plans": {body: map[string]any{"code": "starter", "name": "Starter", "monthly_fee": "30.00",
		"included": map[string]any{"CPU": "100"}, "prices": map[string]any{"CPU": map[string]any{"model": "per_unit", "unit_price": "0.05"}},
		"entitlements": map[string]any{"max_users": 5, "storage_limit_gb": 10, "api_rate_limit": 600}}},
	"PATCH /api/v1/billing/plans/{code}":                       {body: map[string]any{"monthly_fee": "35.00"}},
	"POST /api/v1/billing/metrics":                             {body: map[string]any{"code": "GPU_HOURS", "name": "GPU time", "unit": "GPU-hour", "aggregation": "SUM", "price": map[string]any{"model": "per_unit", "unit_price": "1.20"}}},
	"POST /api/v1/tenants/{id}/invoices/{inv_id}/credit-notes": {body: map[string]any{"reason": "outage"}},
	"PUT /api/v1/tenants/{id}/sso":                             {body: map[string]any{"issuer": "https://idp.example.com", "client_id": "eusaas", "client_secret": "s3cret", "allowed_domains": []string{"example.com"}}},
	"POST /api/v1/tenants/{id}/api-keys":                       {body: map[string]any{"name": "backend", "scopes": []string{"usage:write", "costs:read"}}},
	"POST /api/v1/auth/mfa/totp/confirm":                       {body: map[string]any{"code": "123456"}},
	"DELETE /api/v1/auth/mfa/totp":                             {body: map[string]any{"current_password": "Old-Passw0rd!"}},
	"POST /api/v1/auth/login/mfa":                              {body: map[string]any{"mfa_token": "not-a-token", "code": "123456"}},
	"POST /api/v1/tenants/{id}/usage":                          {body: map[string]any{"events": []map[string]any{{"id": "e1", "resource_type": "CPU", "quantity": "1", "timestamp": time.Now().UTC().Format(time.RFC3339)}}}},
}
