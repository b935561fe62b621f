package main

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPlansEndToEnd: an operator creates plans, puts a tenant on one with PATCH
// /tenants/{id}: its entitlements become the tenant's limits; an unknown plan is a 422 and
// changes nothing (not even the other fields of the same request). Memory mode.
func TestPlansEndToEnd(t *testing.T) {
	planWalk(t, startApp(t, map[string]string{"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword}))
}

// TestPlansEndToEndPostgres is the same walk in Postgres mode.
func TestPlansEndToEndPostgres(t *testing.T) {
	cfg := migratedPostgres(t)
	planWalk(t, startApp(t, cfg))
}

func planWalk(t *testing.T, c *client) {
	op := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(t)["access_token"].(string)
	starter := validInput["POST /api/v1/billing/plans"].body.(map[string]any)
	got := c.expect(201, c.do("POST", "/api/v1/billing/plans", op, starter)).json(t)
	require.Equal(t, "30.00", got["monthly_fee"])
	require.Equal(t, "100", got["included"].(map[string]any)["CPU"])
	c.expect(409, c.do("POST", "/api/v1/billing/plans", op, starter))
	bad := func(change map[string]any) map[string]any {
		m := map[string]any{"code": "pro", "name": "Pro", "monthly_fee": "90.00"}
		for k, v := range change {
			m[k] = v
		}
		return m
	}
	c.expect(422, c.do("POST", "/api/v1/billing/plans", op, bad(map[string]any{"monthly_fee": "-1"})))
	c.expect(422, c.do("POST", "/api/v1/billing/plans", op, bad(map[string]any{"monthly_fee": "abc"})))
	c.expect(422, c.do("POST", "/api/v1/billing/plans", op, bad(map[string]any{"included": map[string]any{"NOPE": "1"}})))
	c.expect(422, c.do("POST", "/api/v1/billing/plans", op, bad(map[string]any{"prices": map[string]any{"CPU": map[string]any{"model": "per_unit", "unit_price": "-1"}}})))
	c.expect(422, c.do("POST", "/api/v1/billing/plans", op, bad(map[string]any{"code": "Not A Code"})))
	c.expect(201, c.do("POST", "/api/v1/billing/plans", op, bad(map[string]any{"entitlements": map[string]any{"max_users": 50, "storage_limit_gb": 100, "api_rate_limit": 6000}, "hard_limits": true})))
	require.Len(t, c.expect(200, c.do("GET", "/api/v1/billing/plans", op, nil)).json(t)["items"], 2)
	c.expect(404, c.do("GET", "/api/v1/billing/plans/nope", op, nil))
	up := c.expect(200, c.do("PATCH", "/api/v1/billing/plans/starter", op, map[string]any{"monthly_fee": "35.00"})).json(t)
	require.Equal(t, "35.00", up["monthly_fee"])
	c.expect(422, c.do("PATCH", "/api/v1/billing/plans/starter", op, map[string]any{"monthly_fee": "-3"}))
	c.expect(422, c.do("PATCH", "/api/v1/billing/plans/starter", op, map[string]any{"included": map[string]any{"CPU": "x"}}))
	require.Equal(t, "35.00", c.expect(200, c.do("GET", "/api/v1/billing/plans/starter", op, nil)).json(t)["monthly_fee"], "refused patches changed nothing")

	tid := c.createTenant(op, map[string]any{"name": "Planned", "slug": "planned", "admin_email": "owner@planned.example"})["id"].(string)
	path := "/api/v1/tenants/" + tid
	before := c.expect(200, c.do("GET", path, op, nil)).json(t)
	require.Equal(t, "", before["plan_code"])
	// Unknown plan: 422, and the name in the same request is not applied either.
	r := c.expect(422, c.do("PATCH", path, op, map[string]any{"plan_code": "platinum", "name": "Renamed"}))
	require.Contains(t, string(r.body), "body.plan_code")
	after := c.expect(200, c.do("GET", path, op, nil)).json(t)
	require.Equal(t, before["name"], after["name"])
	require.Equal(t, before["settings"], after["settings"])
	require.Equal(t, "", after["plan_code"])

	moved := c.expect(200, c.do("PATCH", path, op, map[string]any{"plan_code": "pro"})).json(t)
	require.Equal(t, "pro", moved["plan_code"])
	set := moved["settings"].(map[string]any)
	require.EqualValues(t, 50, set["max_users"])
	require.EqualValues(t, 100, set["storage_limit_gb"])
	require.EqualValues(t, 6000, set["api_rate_limit"])

	// Pro has hard limits: storage beyond 100 GB on a day is refused, other events of the
	// batch are not affected.
	ts := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	ev := func(id, rt, q string) map[string]any {
		return map[string]any{"id": id, "resource_type": rt, "quantity": q, "timestamp": ts}
	}
	res := c.expect(200, c.do("POST", path+"/usage", op, map[string]any{"events": []any{ev("s1", "STORAGE", "60"), ev("s2", "STORAGE", "50"), ev("c1", "CPU", "1")}})).json(t)
	require.EqualValues(t, 2, res["accepted"])
	require.EqualValues(t, 1, res["rejected"])
	refused := res["results"].([]any)[1].(map[string]any)
	require.Equal(t, "rejected", refused["status"])
	require.Contains(t, refused["reason"], "storage_limit_exceeded")
	// Concurrent batches are checked one after the other (the check runs in the recording
	// transaction with the month's STORAGE total locked): ten batches of 15 GB for one day
	// under the 100 GB limit → exactly six accepted, the day at 90 GB.
	day2 := time.Now().UTC().Add(-26 * time.Hour).Format(time.RFC3339)
	var wg sync.WaitGroup
	accepted := make([]float64, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := c.do("POST", path+"/usage", op, map[string]any{"events": []any{map[string]any{"id": fmt.Sprint("cs", i), "resource_type": "STORAGE", "quantity": "15", "timestamp": day2}}})
			if r.status == 200 {
				accepted[i] = r.json(t)["accepted"].(float64)
			}
		}()
	}
	wg.Wait()
	n := 0.0
	for _, a := range accepted {
		n += a
	}
	require.EqualValues(t, 6, n, "accepted batches of 15 GB under a 100 GB limit")
	// An explicit setting in the same request wins over the plan's entitlement.
	moved = c.expect(200, c.do("PATCH", path, op, map[string]any{"plan_code": "starter", "settings": map[string]any{"max_users": 7}})).json(t)
	require.Equal(t, "starter", moved["plan_code"])
	require.EqualValues(t, 7, moved["settings"].(map[string]any)["max_users"])
	require.EqualValues(t, 10, moved["settings"].(map[string]any)["storage_limit_gb"])
	// Starter reports instead: accepted, with a warning.
	res = c.expect(200, c.do("POST", path+"/usage", op, map[string]any{"events": []any{ev("s3", "STORAGE", "5")}})).json(t)
	require.EqualValues(t, 1, res["accepted"])
	require.Contains(t, res["results"].([]any)[0].(map[string]any)["warning"], "storage_limit_exceeded")

	// Editing the plan's entitlements gives the tenants on it the new limits (the tenant's
	// own max_users of 7 too: the plan's limits are the tenant's once the plan changes),
	// audited as a tenant update; a plan edit without entitlement changes leaves them.
	c.expect(200, c.do("PATCH", "/api/v1/billing/plans/starter", op, map[string]any{"entitlements": map[string]any{"max_users": 12, "storage_limit_gb": 20, "api_rate_limit": 900}}))
	set = c.expect(200, c.do("GET", path, op, nil)).json(t)["settings"].(map[string]any)
	require.EqualValues(t, 12, set["max_users"])
	require.EqualValues(t, 20, set["storage_limit_gb"])
	require.EqualValues(t, 900, set["api_rate_limit"])
	audit := c.expect(200, c.do("GET", "/api/v1/tenants/"+tid+"/audit-log?action=TENANT_UPDATED", op, nil)).json(t)["items"].([]any)
	require.Contains(t, fmt.Sprint(audit), "api_rate_limit", "the limits' change is audited on the tenant")
	c.expect(200, c.do("PATCH", path, op, map[string]any{"settings": map[string]any{"max_users": 8}}))
	c.expect(200, c.do("PATCH", "/api/v1/billing/plans/starter", op, map[string]any{"monthly_fee": "36.00"}))
	require.EqualValues(t, 8, c.expect(200, c.do("GET", path, op, nil)).json(t)["settings"].(map[string]any)["max_users"])
}
