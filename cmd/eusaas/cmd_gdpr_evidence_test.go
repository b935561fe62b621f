package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/tenancy"
)

// TestGDPRVerifyEvidence runs a data-subject request to REJECTED in memory mode, checks
// its evidence bundle with `eusaas gdpr verify-evidence` (as the bundle and as the whole API
// response), that an edited bundle fails, and that the DSR gauges are exported.
func TestGDPRVerifyEvidence(t *testing.T) {
	ctx := context.Background()
	app := newTestApp(t, nil)
	res := app.createActive(t, tenancy.CreateInput{Name: "Acme", Slug: "acme-dsr", AdminEmail: "owner@acme.eu"})
	svc := app.platform.GDPR
	d, err := svc.CreateDSR(ctx, res.Tenant.ID, gdpr.DSRInput{Type: gdpr.DSRAccess, Email: "someone@example.eu"})
	require.NoError(t, err)
	d, err = svc.RejectDSR(ctx, res.Tenant.ID, d.ID, "the identity could not be established")
	require.NoError(t, err)

	dir := t.TempDir()
	bundle, err := json.Marshal(d.Evidence)
	require.NoError(t, err)
	file := filepath.Join(dir, "evidence.json")
	require.NoError(t, os.WriteFile(file, bundle, 0o600))
	whole := filepath.Join(dir, "response.json")
	resp, err := json.Marshal(map[string]any{"id": d.ID, "status": "REJECTED", "evidence": d.Evidence})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(whole, resp, 0o600))

	pub := base64.StdEncoding.EncodeToString(svc.PublicKey())
	var out, errOut bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errOut, Getenv: env(nil)}
	for _, f := range []string{file, whole} {
		out.Reset()
		require.Equal(t, 0, m.Run(ctx, []string{"gdpr", "verify-evidence", "--public-key", pub, f}), out.String()+errOut.String())
		require.Contains(t, out.String(), "OK: ACCESS request "+d.ID)
		require.Contains(t, out.String(), "REJECTED")
	}
	out.Reset()
	require.Equal(t, 0, m.Run(ctx, []string{"gdpr", "verify-evidence", file}))
	require.Contains(t, out.String(), "compare it with the published key")

	forged := bytes.Replace(bundle, []byte(`"on_time":true`), []byte(`"on_time":false`), 1)
	require.NotEqual(t, bundle, forged)
	bad := filepath.Join(dir, "forged.json")
	require.NoError(t, os.WriteFile(bad, forged, 0o600))
	out.Reset()
	require.Equal(t, 1, m.Run(ctx, []string{"gdpr", "verify-evidence", "--public-key", pub, bad}))
	require.Contains(t, out.String(), "FAILED")
	require.Equal(t, 2, m.Run(ctx, []string{"gdpr", "verify-evidence", "--public-key", "nope", file}))

	mfs, err := app.registry.Gather()
	require.NoError(t, err)
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	require.Contains(t, names, "gdpr_dsr_overdue")
	require.Contains(t, names, "gdpr_dsr_due_soon")
	require.False(t, strings.Contains(string(bundle), "someone@example.eu"), "the evidence holds no e-mail address")
}
