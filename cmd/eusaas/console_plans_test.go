package main

import (
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConsolePlansAndMetrics: an operator creates a plan and a custom metric on the plans
// page, moves a tenant onto the plan from the tenant list, then edits the plan's
// entitlements — the tenant's settings page shows the new limit. A refused plan (negative
// fee) is the API's message, nothing created; a tenant user has no plans page (403) and no
// menu entry; a post without the CSRF token is refused.
func TestConsolePlansAndMetrics(t *testing.T) {
	w := newConsoleWorld(t)
	op := w.browser(t)
	op.signIn("", opEmail, opPassword)
	op.get("/console/tenants")
	require.Contains(t, op.last, `href="/console/plans"`)
	res := op.get("/console/plans")
	require.Equal(t, http.StatusOK, res.StatusCode, op.last)
	requireConsoleHeaders(t, res, "/console/plans")
	main := func() string { return regexp.MustCompile(`(?s)<main.*</main>`).FindString(op.last) }

	res = op.post("/console/plans", url.Values{"csrf": {op.csrf()}, "code": {"team"}, "name": {"Team"}, "monthly_fee": {"-5"}, "hard_limits_shown": {"1"}})
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, op.last, `class="flash error"`, main())
	require.NotContains(t, op.last, `data-plan="team"`, "nothing created")

	res = op.post("/console/plans", url.Values{"csrf": {op.csrf()}, "code": {"team"}, "name": {"Team"}, "monthly_fee": {"49.00"},
		"included": {"CPU=100\nMEMORY=50"}, "max_users": {"10"}, "storage_limit_gb": {"20"}, "api_rate_limit": {"600"}, "hard_limits_shown": {"1"}, "hard_limits": {"on"}})
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, op.last, `data-plan="team"`, main())
	require.Contains(t, op.last, "49.00 EUR")

	res = op.post("/console/metrics", url.Values{"csrf": {op.csrf()}, "code": {"GPU_HOURS"}, "name": {"GPU"}, "unit": {"GPU-hour"}, "aggregation": {"SUM"}})
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, op.last, `data-metric="GPU_HOURS"`, main())

	op.get("/console/tenants")
	require.Contains(t, op.last, `action="/console/tenants/`+w.acme+`/plan"`, "the plan selector on the tenant list")
	res = op.post("/console/tenants/"+w.acme+"/plan", url.Values{"csrf": {op.csrf()}, "plan_code": {"team"}})
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, op.last, "<code>team</code>", main())

	res = op.post("/console/plans/team", url.Values{"csrf": {op.csrf()}, "name": {"Team"}, "monthly_fee": {"49.00"}, "included": {"CPU=100\nMEMORY=50"},
		"max_users": {"25"}, "storage_limit_gb": {"20"}, "api_rate_limit": {"600"}, "hard_limits_shown": {"1"}, "hard_limits": {"on"}})
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.NotContains(t, op.last, `class="flash error"`, main())
	require.Contains(t, op.last, `id="pu-team" name="max_users" value="25"`)
	owner := w.browser(t)
	owner.signIn("acme", ownerEmail, ownerPass)
	owner.get("/console/t/" + w.acme + "/settings")
	require.Contains(t, owner.last, "<dt>Maximum users</dt><dd>25</dd>", "the plan's new limit reached the tenant")

	require.NotContains(t, owner.last, `href="/console/plans"`)
	require.Equal(t, http.StatusForbidden, owner.get("/console/plans").StatusCode)
	require.Equal(t, http.StatusForbidden, op.post("/console/plans", url.Values{"code": {"nocsrf"}}).StatusCode)
}
