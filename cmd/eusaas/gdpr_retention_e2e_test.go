package main

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/gdpr"
)

// A tenant under a legal hold: DELETE /tenants/{id} answers a 409 problem naming the hold and
// the tenant stays ACTIVE (not frozen); released, the erasure goes through.
func TestTenantErasureRefusedUnderLegalHold(t *testing.T) {
	c := startApp(t, map[string]string{"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword})
	op := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(t)["access_token"].(string)
	id := c.createTenant(op, map[string]any{"name": "Held", "slug": "held", "admin_email": "o@held.example"})["id"].(string)
	hold := c.expect(201, c.do("POST", "/api/v1/tenants/"+id+"/gdpr/legal-holds", op, map[string]any{"reason": "litigation"})).json(t)
	p := c.expect(409, c.do("DELETE", "/api/v1/tenants/"+id, op, nil)).json(t)
	require.Contains(t, p["detail"], hold["id"], "the problem names the hold")
	require.Equal(t, "ACTIVE", c.expect(200, c.do("GET", "/api/v1/tenants/"+id, op, nil)).json(t)["status"])
	c.expect(204, c.do("DELETE", "/api/v1/tenants/"+id+"/gdpr/legal-holds/"+hold["id"].(string), op, nil))
	r := c.do("DELETE", "/api/v1/tenants/"+id, op, nil)
	require.Contains(t, []int{200, 202}, r.status, "body: %s", r.body)
}

// The new variables are checked at start-up and named when wrong.
func TestJobsAndTestHookConfig(t *testing.T) {
	for name, vars := range map[string]map[string]string{
		"APP_JOBS_WORKERS":        {"APP_POSTGRES_HOST": "127.0.0.1", "APP_JOBS_WORKERS": "0"},
		"APP_TEST_GDPR_PAUSE_AT":  {"APP_TEST_GDPR_PAUSE_AT": "tenant_erasure/no_such_step"},
		"APP_TEST_GDPR_PAUSE_DIR": {"APP_TEST_GDPR_PAUSE_AT": gdpr.Checkpoints[0]},
	} {
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			m := &Main{Stdout: io.Discard, Stderr: &stderr, Getenv: env(vars)}
			require.NotZero(t, m.Run(context.Background(), []string{"serve"}))
			require.Contains(t, stderr.String(), name)
		})
	}
	cfg, err := LoadConfig(env(map[string]string{"APP_POSTGRES_HOST": "127.0.0.1", "APP_JOBS_WORKERS": "32"}))
	require.NoError(t, err)
	require.Equal(t, 32, cfg.JobsWorkers)
	cfg, err = LoadConfig(env(nil))
	require.NoError(t, err)
	require.Nil(t, cfg.GDPR.testPause(nil), "inert unless set")
}
