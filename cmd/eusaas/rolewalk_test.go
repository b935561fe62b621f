package main

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// The principals of the role walk, one letter each in the expectation table.
const (
	walkOwner    = "O"
	walkAdmin    = "A"
	walkMember   = "M"
	walkViewer   = "V"
	walkOperator = "P" // platform operator
	walkService  = "S" // platform service account (client credentials)
	walkAPIKey   = "K" // the tenant's API key with scopes usage:write and costs:read
)

var walkPrincipals = []string{walkOwner, walkAdmin, walkMember, walkViewer, walkOperator, walkService, walkAPIKey}

// Shorthands of the table. SPEC: OWNER all; ADMIN all but tenant administration; MEMBER and
// VIEWER read billing, GDPR status, audit (and, issue 12, the user list); operators manage
// all tenants. Issue 12: user changes, invitations and API keys are OWNER/ADMIN; service
// accounts only ingest usage; a tenant API key only what its scopes say, on its tenant.
const (
	everyone  = "OAMVPSK" // public routes
	accounts  = "OAMVP"   // the caller's own account: users and operators
	readers   = "OAMVP"   // tenant reads every role has (billing, GDPR status, audit, users)
	writers   = "OAP"     // tenant writes: OWNER and ADMIN
	ownerOnly = "OP"      // tenant administration
	operator  = "P"
)

// roleWalkExpect is, for every operation of the served document, who may call it. An
// operation missing here fails the walk, so a new route must say who may call it.
var roleWalkExpect = map[string]string{
	"auth-jwks": everyone, "get-audit-checkpoint-key": everyone, "get-audit-note-key": everyone, "auth-email-verify": everyone,
	"auth-login": everyone, "auth-login-mfa": everyone, "auth-password-forgot": everyone, "auth-password-reset": everyone,
	"auth-refresh": everyone, "auth-register": everyone, "auth-token": everyone, "download-gdpr-export": everyone,
	"get-gdpr-signing-key": everyone, "health": everyone, "start-sso": everyone, "sso-callback": everyone,

	// Single sign-on decides who may sign in and whether passwords still work: tenant
	// administration, the OWNER's (and operators').
	"put-tenant-sso": ownerOnly, "get-tenant-sso": ownerOnly, "delete-tenant-sso": ownerOnly,

	"auth-me": accounts, "auth-mfa-totp-enrol": accounts, "auth-mfa-totp-confirm": accounts, "auth-mfa-totp-disable": accounts,
	"auth-password-change": accounts, "auth-revoke-other-sessions": accounts, "auth-list-sessions": accounts, "auth-revoke-session": accounts,
	// A service token can be revoked by its holder too; an API key is revoked by its tenant.
	"auth-logout": "OAMVPS",

	"list-platform-audit-log": operator, "platform-audit-consistency": operator, "verify-platform-audit-log": operator,
	"prove-platform-audit-entry": operator, "get-seller": operator, "put-seller": operator, "list-tax-rates": operator,
	"put-tax-rate": operator, "list-plans": operator, "create-plan": operator, "get-plan": operator, "update-plan": operator,
	"list-metrics": operator, "create-metric": operator, "list-gdpr-breaches": operator, "create-gdpr-breach": operator, "get-gdpr-breach": operator,
	"notify-gdpr-breach": operator, "get-gdpr-records-of-processing": operator, "get-gdpr-records-of-processing-markdown": operator,
	"get-tenant-erasure": operator, "list-service-accounts": operator, "create-service-account": operator,
	"revoke-service-account": operator, "list-tenants": operator, "create-tenant": operator,
	"activate-tenant": operator, "suspend-tenant": operator,

	"delete-tenant": ownerOnly,
	"get-tenant":    writers, "update-tenant": writers,

	"list-anomalies": readers, "acknowledge-anomaly": writers, "anomaly-feedback": writers,
	"get-anomaly-alerts": readers, "put-anomaly-alerts": writers,

	"list-api-keys": writers, "create-api-key": writers, "revoke-api-key": writers,

	"list-tenant-audit-log": readers, "tenant-audit-consistency": readers, "verify-tenant-audit-log": readers,
	"prove-tenant-audit-entry": readers,

	"get-billing-profile": readers, "put-billing-profile": writers,
	"get-costs": readers + walkAPIKey, "get-current-costs": readers + walkAPIKey, "get-cost-projection": readers + walkAPIKey,
	"list-credit-notes": readers, "get-credit-note": readers, "get-credit-note-cii": readers, "get-credit-note-ubl": readers, "get-credit-note-pdf": readers,
	"list-invoices": readers, "get-invoice": readers, "get-invoice-cii": readers, "get-invoice-ubl": readers, "get-invoice-pdf": readers,
	"draft-invoice": operator, "create-credit-note": operator, "issue-invoice": operator, "pay-invoice": operator,
	"void-invoice": operator, "set-price": operator,
	"ingest-usage": operator + walkService + walkAPIKey,

	"create-gdpr-erasure": writers, "get-gdpr-erasure": readers, "create-gdpr-export": writers, "get-gdpr-export": readers,
	// Legal holds are the platform's (an operator answers to the authority); data-subject
	// requests carry outside people's contact details, so reading them is part of handling
	// them (gdpr:write), not the GDPR status every role reads.
	"list-legal-holds": operator, "create-legal-hold": operator, "delete-legal-hold": operator,
	"list-gdpr-requests": writers, "create-gdpr-request": writers, "get-gdpr-request": writers,
	"complete-gdpr-request": writers, "extend-gdpr-request": writers, "reject-gdpr-request": writers,
	"verify-gdpr-request-identity": writers, "get-gdpr-retention": readers, "put-gdpr-retention": writers,

	"list-invitations": readers, "create-invitation": writers, "delete-invitation": writers,
	"list-tenant-users": readers, "get-tenant-user": readers, "update-tenant-user": writers, "delete-tenant-user": writers,
}

// roleWalkLast are the operations that change who can call what (the caller's token, the
// tenant's status or existence): they run after every other, in this order, each with the
// principals it refuses before those it allows.
var roleWalkLast = []string{"auth-logout", "suspend-tenant", "activate-tenant", "delete-tenant"}

// TestRoleRouteWalk walks every operation of the served OpenAPI document as each kind of
// principal and checks that exactly the expected ones are allowed (anything but 401 and 403:
// a 404 for a made-up id or a 422 still means the caller got past authorisation).
func TestRoleRouteWalk(t *testing.T) {
	roleWalk(t, startApp(t, map[string]string{"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword}))
}

// TestRoleRouteWalkPostgres is the walk in Postgres mode (Redis denylist, limiter and rate
// limits).
func TestRoleRouteWalkPostgres(t *testing.T) {
	c, _ := startPostgresApp(t, &syncBuffer{})
	roleWalk(t, c)
}

func roleWalk(t *testing.T, c *client) {
	tokens := roleWalkPrincipals(t, c)
	aID := tokens["tenant"]

	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(c.expect(200, c.do("GET", "/openapi.json", "", nil)).body, &doc))
	type op struct{ id, method, path string }
	var ops []op
	for path, ms := range doc.Paths {
		for method, o := range ms {
			ops = append(ops, op{o.OperationID, strings.ToUpper(method), path})
		}
	}
	last := map[string]int{}
	for i, id := range roleWalkLast {
		last[id] = i + 1
	}
	sort.Slice(ops, func(i, j int) bool {
		if last[ops[i].id] != last[ops[j].id] {
			return last[ops[i].id] < last[ops[j].id]
		}
		return ops[i].id < ops[j].id
	})

	param := regexp.MustCompile(`\{[a-z_]+\}`)
	var wrong []string
	seen := map[string]bool{}
	for _, o := range ops {
		seen[o.id] = true
		want, ok := roleWalkExpect[o.id]
		if !ok {
			wrong = append(wrong, o.id+": not in roleWalkExpect (say who may call it)")
			continue
		}
		url := strings.Replace(o.path, "{id}", aID, 1)
		url = param.ReplaceAllStringFunc(url, func(p string) string {
			switch p {
			case "{resource}":
				return "CPU"
			case "{token}":
				return "not-a-token"
			}
			return uuid.NewString()
		})
		var body any
		if o.method == "POST" || o.method == "PUT" || o.method == "PATCH" {
			body = map[string]any{}
		}
		if v, ok := validInput[o.method+" "+o.path]; ok {
			body = v.body
			url += v.query
		}
		// Refusing principals first: an allowed call may end the token or the tenant.
		order := append([]string(nil), walkPrincipals...)
		sort.SliceStable(order, func(i, j int) bool {
			return !strings.Contains(want, order[i]) && strings.Contains(want, order[j])
		})
		// A public route may answer 401 or 403 for bad credentials in its input (a made-up
		// mfa_token, refresh token or download token): there, allowed means the bearer
		// changes nothing — the anonymous answer.
		anon := 0
		if want == everyone {
			anon = c.do(o.method, url, "", body).status
		}
		got := ""
		for _, who := range order {
			r := c.do(o.method, url, tokens[who], body)
			require.NotEqual(t, 500, r.status, "%s as %s: %s", o.id, who, r.body)
			if (r.status != 401 && r.status != 403) || (anon != 0 && r.status == anon) {
				got += who
			}
			if o.id == "auth-logout" && r.status == 204 {
				tokens[who] = roleWalkRelogin(t, c, tokens, who)
			}
		}
		if norm(got) != norm(want) {
			wrong = append(wrong, o.id+": allowed "+norm(got)+", want "+norm(want))
		}
	}
	for id := range roleWalkExpect {
		if !seen[id] {
			wrong = append(wrong, id+": in roleWalkExpect but not served")
		}
	}
	sort.Strings(wrong)
	require.Empty(t, wrong, "role × route walk over %d operations and %d principals", len(ops), len(walkPrincipals))
	require.Greater(t, len(ops), 90)
}

// norm is a principal set in the table's order.
func norm(s string) string {
	out := ""
	for _, p := range walkPrincipals {
		if strings.Contains(s, p) {
			out += p
		}
	}
	return out
}

// roleWalkPrincipals makes tenant A with an OWNER, ADMIN, MEMBER and VIEWER, the operator, a
// service account and an API key of A, and returns their bearer tokens (and A's id under
// "tenant", the credentials under "svc-id"/"svc-secret").
func roleWalkPrincipals(t *testing.T, c *client) map[string]string {
	op := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(t)["access_token"].(string)
	a := c.createTenant(op, map[string]any{"name": "Walk", "slug": "walk", "admin_email": "owner@walk.example"})
	id := a["id"].(string)
	const pass = "Walker-Passw0rd!"
	register := func(email, token string) string {
		c.expect(201, c.do("POST", "/api/v1/auth/register", "", map[string]any{"email": email, "password": pass, "full_name": "W",
			"invitation_token": token}, "X-Tenant-ID", "walk"))
		return c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": pass},
			"X-Tenant-ID", "walk")).json(t)["access_token"].(string)
	}
	tok := map[string]string{"tenant": id, walkOperator: op}
	tok[walkOwner] = register("owner@walk.example", a["owner_invitation"].(map[string]any)["token"].(string))
	for who, role := range map[string]string{walkAdmin: "ADMIN", walkMember: "MEMBER", walkViewer: "VIEWER"} {
		email := strings.ToLower(role) + "@walk.example"
		inv := c.expect(201, c.do("POST", "/api/v1/tenants/"+id+"/invitations", tok[walkOwner], map[string]any{"email": email, "role": role})).json(t)
		tok[who] = register(email, inv["token"].(string))
	}
	sa := c.expect(201, c.do("POST", "/api/v1/service-accounts", op, map[string]any{"name": "walker"})).json(t)
	tok["svc-id"], tok["svc-secret"] = sa["client_id"].(string), sa["client_secret"].(string)
	tok[walkService] = roleWalkRelogin(t, c, tok, walkService)
	key := c.expect(201, c.do("POST", "/api/v1/tenants/"+id+"/api-keys", tok[walkOwner],
		map[string]any{"name": "walker", "scopes": []string{"usage:write", "costs:read"}})).json(t)
	tok[walkAPIKey] = key["key"].(string)
	return tok
}

// roleWalkRelogin gets a fresh token for a principal whose token a logout ended.
func roleWalkRelogin(t *testing.T, c *client, tok map[string]string, who string) string {
	const pass = "Walker-Passw0rd!"
	switch who {
	case walkService:
		return c.expect(200, c.do("POST", "/api/v1/auth/token", "", map[string]any{"grant_type": "client_credentials",
			"client_id": tok["svc-id"], "client_secret": tok["svc-secret"]})).json(t)["access_token"].(string)
	case walkOperator:
		return c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(t)["access_token"].(string)
	}
	email := map[string]string{walkOwner: "owner", walkAdmin: "admin", walkMember: "member", walkViewer: "viewer"}[who] + "@walk.example"
	return c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": pass},
		"X-Tenant-ID", "walk")).json(t)["access_token"].(string)
}
