package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCustomMetricEndToEnd: an operator defines a GPU-hours metric; its usage is ingested,
// rated at the metric's price and invoiced as its own line (memory mode).
func TestCustomMetricEndToEnd(t *testing.T) {
	metricWalk(t, startApp(t, map[string]string{"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword}))
}

// TestCustomMetricEndToEndPostgres is the same walk in Postgres mode.
func TestCustomMetricEndToEndPostgres(t *testing.T) {
	cfg := migratedPostgres(t)
	metricWalk(t, startApp(t, cfg))
}

func metricWalk(t *testing.T, c *client) {
	op := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(t)["access_token"].(string)
	gpu := validInput["POST /api/v1/billing/metrics"].body.(map[string]any)
	created := c.expect(201, c.do("POST", "/api/v1/billing/metrics", op, gpu)).json(t)
	require.Equal(t, "GPU_HOURS", created["code"])
	require.Equal(t, false, created["built_in"])
	// Bad input: the same code again, a built-in's code, UNIQUE_COUNT without field, an
	// unknown aggregation, a negative price; nothing stored.
	c.expect(409, c.do("POST", "/api/v1/billing/metrics", op, gpu))
	bad := func(change map[string]any) map[string]any {
		m := map[string]any{"code": "SEATS", "name": "Seats", "unit": "seat", "aggregation": "MAX"}
		for k, v := range change {
			m[k] = v
		}
		return m
	}
	c.expect(422, c.do("POST", "/api/v1/billing/metrics", op, bad(map[string]any{"code": "CPU"})))
	c.expect(422, c.do("POST", "/api/v1/billing/metrics", op, bad(map[string]any{"aggregation": "UNIQUE_COUNT"})))
	c.expect(422, c.do("POST", "/api/v1/billing/metrics", op, bad(map[string]any{"aggregation": "AVG"})))
	c.expect(422, c.do("POST", "/api/v1/billing/metrics", op, bad(map[string]any{"code": "lower"})))
	c.expect(422, c.do("POST", "/api/v1/billing/metrics", op, bad(map[string]any{"price": map[string]any{"model": "per_unit", "unit_price": "-1"}})))
	list := c.expect(200, c.do("GET", "/api/v1/billing/metrics", op, nil)).json(t)["items"].([]any)
	require.Len(t, list, 6, "five built-ins and GPU_HOURS; none of the refused ones")
	require.Equal(t, "CPU", list[0].(map[string]any)["code"])
	require.Equal(t, true, list[0].(map[string]any)["built_in"])
	require.Equal(t, "GPU_HOURS", list[5].(map[string]any)["code"])

	tid := c.createTenant(op, map[string]any{"name": "GPU Lab", "slug": "gpu-lab", "admin_email": "owner@gpu.example"})["id"].(string)
	path := "/api/v1/tenants/" + tid
	now := time.Now().UTC()
	ts := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).Add(-2 * time.Hour)
	ev := func(id, rt, q string) map[string]any {
		return map[string]any{"id": id, "resource_type": rt, "quantity": q, "timestamp": ts.Format(time.RFC3339)}
	}
	// An unknown metric refuses the whole request (nothing recorded).
	c.expect(422, c.do("POST", path+"/usage", op, map[string]any{"events": []any{ev("a", "GPU_HOURS", "1"), ev("b", "TPU_HOURS", "1")}}))
	res := c.expect(200, c.do("POST", path+"/usage", op, map[string]any{"events": []any{ev("g1", "GPU_HOURS", "6.25"), ev("g2", "GPU_HOURS", "4.25"), ev("c1", "CPU", "100")}})).json(t)
	require.EqualValues(t, 3, res["accepted"])
	res = c.expect(200, c.do("POST", path+"/usage", op, map[string]any{"events": []any{ev("g1", "GPU_HOURS", "6.25")}})).json(t)
	require.EqualValues(t, 1, res["duplicates"], "exactly once")

	costs := c.expect(200, c.do("GET", path+"/costs?start_date="+ts.Format("2006-01-02")+"&end_date="+ts.Format("2006-01-02"), op, nil)).json(t)
	require.Equal(t, "14.6", costs["total_amount"]) // 10.5 GPU-hours at 1.20 + 100 vCPU-hours at 0.02
	draft := c.expect(201, c.do("POST", path+"/invoices", op, map[string]any{"period": ts.Format("2006-01")})).json(t)
	inv := c.expect(200, c.do("POST", path+"/invoices/"+draft["id"].(string)+"/issue", op, nil)).json(t)
	lines := inv["line_items"].([]any)
	require.Len(t, lines, 2)
	gl := lines[1].(map[string]any)
	require.Equal(t, "GPU_HOURS", gl["service"])
	require.Equal(t, "GPU-hour", gl["unit"])
	require.Equal(t, "10.5", gl["quantity"])
	require.Equal(t, "12.60", gl["amount"])
	require.Equal(t, "14.60", inv["subtotal"])
}
