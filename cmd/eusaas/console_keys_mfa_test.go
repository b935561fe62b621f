package main

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestConsoleAPIKeysAndMFA walks the API keys page (create: the key shown once and working
// against the API; revoke) and the second factor (enrol, confirm with a code the test
// computes itself from the shown secret, recovery codes once, sign in with password + code,
// disable), and checks that a VIEWER is offered neither keys nor their actions.
func TestConsoleAPIKeysAndMFA(t *testing.T) {
	w := newConsoleWorldEnv(t, map[string]string{"APP_MFA_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="})
	keys := "/console/t/" + w.acme + "/api-keys"

	owner := w.browser(t)
	owner.signIn("acme", ownerEmail, ownerPass)
	t.Run("API keys", func(t *testing.T) {
		res := owner.get(keys)
		require.Equal(t, http.StatusOK, res.StatusCode, owner.last)
		requireConsoleHeaders(t, res, keys)
		require.Contains(t, owner.last, `href="`+keys+`"`, "in the menu")
		require.Contains(t, owner.last, "data-write")
		res = owner.post(keys, url.Values{"csrf": {owner.csrf()}, "name": {"reporter"}, "scopes": {"costs:read"}})
		require.Equal(t, http.StatusOK, res.StatusCode)
		m := regexp.MustCompile(`id="once-secret">(eusk_[A-Za-z0-9]+)<`).FindStringSubmatch(owner.last)
		require.NotNil(t, m, "the key is shown once: %s", owner.last)
		key := m[1]
		require.Contains(t, owner.last, `data-key="reporter"`)
		require.Contains(t, owner.last, "costs:read")
		// The key works against the API within its scope.
		w.api.expect(200, w.api.do("GET", "/api/v1/tenants/"+w.acme+"/costs/current", key, nil))
		owner.get(keys)
		require.NotContains(t, owner.last, key, "shown once only")
		id := regexp.MustCompile(`/api-keys/([0-9a-f-]{36})/revoke`).FindStringSubmatch(owner.last)
		require.NotNil(t, id)
		// Without the CSRF token nothing happens.
		require.Equal(t, http.StatusForbidden, owner.post(keys+"/"+id[1]+"/revoke", url.Values{}).StatusCode)
		w.api.expect(200, w.api.do("GET", "/api/v1/tenants/"+w.acme+"/costs/current", key, nil))
		owner.get(keys)
		owner.post(keys+"/"+id[1]+"/revoke", url.Values{"csrf": {owner.csrf()}})
		require.NotContains(t, owner.last, `data-key="reporter"`)
		w.api.expect(401, w.api.do("GET", "/api/v1/tenants/"+w.acme+"/costs/current", key, nil))
		// A bad form comes back as the API's problem, not a 500.
		res = owner.post(keys, url.Values{"csrf": {owner.csrf()}, "name": {"none"}})
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, owner.last, `class="flash error"`)
	})

	t.Run("a VIEWER has no API keys", func(t *testing.T) {
		v := w.browser(t)
		v.signIn("acme", viewerEmail, viewerPass)
		require.NotContains(t, v.last, `href="`+keys+`"`)
		require.Equal(t, http.StatusForbidden, v.get(keys).StatusCode)
		require.Equal(t, http.StatusForbidden, v.post(keys, url.Values{"csrf": {v.csrf()}, "name": {"x"}, "scopes": {"costs:read"}}).StatusCode)
	})

	t.Run("MFA: enrol, confirm, sign in with a code, disable", func(t *testing.T) {
		res := owner.get("/console/account")
		require.Equal(t, http.StatusOK, res.StatusCode)
		requireConsoleHeaders(t, res, "/console/account")
		owner.post("/console/account/mfa/enrol", url.Values{"csrf": {owner.csrf()}})
		m := regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`).FindStringSubmatch(owner.last)
		require.NotNil(t, m, owner.last)
		secret := m[1]
		require.Contains(t, html.UnescapeString(owner.last), "otpauth://totp/")
		require.Contains(t, html.UnescapeString(owner.last), `src="data:image/svg+xml;base64,`, "the QR code, as a data: image the CSP allows")
		owner.post("/console/account/mfa/confirm", url.Values{"csrf": {owner.csrf()}, "code": {"000000x"}})
		require.Contains(t, owner.last, `class="flash error"`)
		owner.post("/console/account/mfa/confirm", url.Values{"csrf": {owner.csrf()}, "code": {totpAt(t, secret, time.Now())}})
		require.Contains(t, owner.last, `id="recovery-codes"`, owner.last)
		require.NotContains(t, owner.last, secret, "the secret is forgotten after confirming")
		recovery := regexp.MustCompile(`<li><code>([^<]+)</code></li>`).FindAllStringSubmatch(owner.last, -1)
		require.Len(t, recovery, 10)
		owner.get("/console/account")
		require.NotContains(t, owner.last, recovery[0][1], "recovery codes are shown once")

		// Sign out, sign in again: the password alone leads to the code step.
		owner.post("/console/signout", url.Values{"csrf": {owner.csrf()}})
		owner.get("/console/signin")
		owner.post("/console/signin", url.Values{"csrf": {owner.csrf()}, "tenant": {"acme"}, "email": {ownerEmail}, "password": {ownerPass}})
		require.True(t, strings.HasSuffix(owner.lastURL, "/console/mfa"), owner.lastURL)
		// The code of the step used to confirm is consumed (replay); the server accepts the
		// neighbouring step, whose code is fresh.
		owner.post("/console/mfa", url.Values{"csrf": {owner.csrf()}, "code": {totpAt(t, secret, time.Now().Add(30*time.Second))}})
		require.Contains(t, owner.lastURL, "/overview", owner.last)

		owner.get("/console/account")
		owner.post("/console/account/mfa/disable", url.Values{"csrf": {owner.csrf()}, "current_password": {ownerPass}})
		require.Contains(t, owner.last, `class="flash"`, owner.last)
		owner.post("/console/signout", url.Values{"csrf": {owner.csrf()}})
		owner.signIn("acme", ownerEmail, ownerPass)
		require.Contains(t, owner.lastURL, "/overview", "no second factor any more")
	})
}

// TestConsoleSearchAndCompleteDSR checks that the operator's tenant search finds a tenant
// beyond the API's first page of 100 (the console walks the pages), and that a GDPR request
// is completed by hand with its outcome.
func TestConsoleSearchAndCompleteDSR(t *testing.T) {
	w := newConsoleWorld(t)
	// 100 more tenants before the one searched for: it is on the API's second page.
	for i := range 100 {
		w.api.expect(201, w.api.do("POST", "/api/v1/tenants", w.op, map[string]any{"name": fmt.Sprintf("Bulk %03d", i),
			"slug": fmt.Sprintf("bulk-%03d", i), "admin_email": fmt.Sprintf("owner%03d@bulk.example", i)}))
	}
	w.api.createTenant(w.op, map[string]any{"name": "Needle AG", "slug": "needle", "admin_email": "owner@needle.example"})
	op := w.browser(t)
	op.signIn("", opEmail, opPassword)
	op.get("/console/tenants")
	require.NotContains(t, op.last, `data-tenant="needle"`, "not on the first page")
	op.get("/console/tenants?q=needle")
	require.Contains(t, op.last, `data-tenant="needle"`, "the search walks every page")
	op.get("/console/tenants?q=Bulk+09")
	require.Equal(t, 10, strings.Count(op.last, `data-tenant="bulk-09`))

	owner := w.browser(t)
	owner.signIn("acme", ownerEmail, ownerPass)
	gd := "/console/t/" + w.acme + "/gdpr"
	owner.get(gd)
	viewer := regexp.MustCompile(`<option value="([0-9a-f-]{36})">` + regexp.QuoteMeta(viewerEmail)).FindStringSubmatch(owner.last)
	require.NotNil(t, viewer)
	owner.post(gd+"/requests", url.Values{"csrf": {owner.csrf()}, "type": {"RECTIFICATION"}, "data_subject_id": {viewer[1]}})
	id := regexp.MustCompile(`data-request="([0-9a-f-]{36})"`).FindStringSubmatch(owner.last)
	require.NotNil(t, id)
	require.NotContains(t, owner.last, "/"+id[1]+"/complete", "not before the identity is verified")
	owner.post(gd+"/requests/"+id[1]+"/verify-identity", url.Values{"csrf": {owner.csrf()}, "method": {"signed letter"}})
	require.Contains(t, owner.last, "/"+id[1]+"/complete", owner.last)
	require.Equal(t, http.StatusForbidden, owner.post(gd+"/requests/"+id[1]+"/complete", url.Values{"outcome": {"x"}}).StatusCode)
	owner.get(gd)
	owner.post(gd+"/requests/"+id[1]+"/complete", url.Values{"csrf": {owner.csrf()}})
	require.Contains(t, owner.last, `class="flash error"`, "a rectification needs its outcome (the API's problem)")
	owner.post(gd+"/requests/"+id[1]+"/complete", url.Values{"csrf": {owner.csrf()}, "outcome": {"address corrected"}})
	require.Contains(t, owner.last, "Request completed", owner.last)
	require.NotContains(t, owner.last, "/"+id[1]+"/complete")
}

// TestConsoleBillingProfileAndSeller edits the tenant's billing profile and the seller
// through the console: the API's field errors come back beside their fields with the values
// as typed; a VIEWER gets neither form.
func TestConsoleBillingProfileAndSeller(t *testing.T) {
	w := newConsoleWorld(t)
	bp := "/console/t/" + w.acme + "/billing-profile"
	owner := w.browser(t)
	owner.signIn("acme", ownerEmail, ownerPass)
	owner.get("/console/t/" + w.acme + "/settings")
	require.Contains(t, owner.last, `href="`+bp+`"`)
	res := owner.get(bp)
	require.Equal(t, http.StatusOK, res.StatusCode, owner.last)
	requireConsoleHeaders(t, res, bp)
	form := url.Values{"csrf": {owner.csrf()}, "legal_name": {"Acme Trading GmbH"}, "customer_type": {"BUSINESS"}, "email": {"billing@acme.example"},
		"address.line1": {"Hauptstraße 1"}, "address.postal_code": {"10115"}, "address.city": {"Berlin"}, "address.country": {"XX"}}
	res = owner.post(bp, form)
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, owner.last)
	require.Regexp(t, `id="f-address-country-err">[^<]+<`, owner.last, "the error beside the country field")
	require.Contains(t, owner.last, `value="Acme Trading GmbH"`, "typed values kept")
	form.Set("address.country", "DE")
	res = owner.post(bp, form)
	require.Equal(t, http.StatusOK, res.StatusCode, regexp.MustCompile(`(?s)<main.*</main>`).FindString(owner.last))
	require.Contains(t, owner.lastURL, "/settings", owner.last)
	require.Contains(t, owner.last, "Acme Trading GmbH")

	v := w.browser(t)
	v.signIn("acme", viewerEmail, viewerPass)
	v.get("/console/t/" + w.acme + "/settings")
	require.NotContains(t, v.last, `href="`+bp+`"`)
	require.Equal(t, http.StatusForbidden, v.get(bp).StatusCode)
	require.Equal(t, http.StatusForbidden, owner.post(bp, url.Values{"legal_name": {"no csrf"}}).StatusCode)

	op := w.browser(t)
	op.signIn("", opEmail, opPassword)
	op.get("/console/platform")
	require.Contains(t, op.last, `href="/console/seller"`)
	res = op.get("/console/seller")
	require.Equal(t, http.StatusOK, res.StatusCode, op.last)
	sf := url.Values{"csrf": {op.csrf()}, "legal_name": {"EU SaaS GmbH"}, "vat_id": {"DE136695976"}, "email": {"not-an-email"},
		"address.line1": {"Weg 2"}, "address.postal_code": {"80331"}, "address.city": {"München"}, "address.country": {"DE"}}
	res = op.post("/console/seller", sf)
	require.GreaterOrEqual(t, res.StatusCode, 400, op.last)
	require.Less(t, res.StatusCode, 500, op.last)
	require.Contains(t, op.last, `class="field-error"`, op.last)
	sf.Set("email", "invoices@eusaas.example")
	res = op.post("/console/seller", sf)
	require.Equal(t, http.StatusOK, res.StatusCode, regexp.MustCompile(`(?s)<main.*</main>`).FindString(op.last))
	require.Contains(t, op.lastURL, "/platform", op.last)
	require.Contains(t, op.last, "EU SaaS GmbH")
	require.Equal(t, http.StatusForbidden, owner.get("/console/seller").StatusCode)
}
