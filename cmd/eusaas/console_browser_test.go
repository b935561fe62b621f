package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// consoleNodeModules is where .ci/run installs playwright-core and axe-core (outside the
// clone); CONSOLE_NODE_MODULES overrides it.
const consoleNodeModules = "/root/.cache/eusaas-ci/node"

// TestConsoleBrowser drives the console in headless Chromium (testdata/console/e2e.mjs)
// against a real server on 127.0.0.1: an owner signs in, sees the cost chart drawn,
// acknowledges an anomaly, downloads the UBL invoice, invites a user; an operator suspends
// and reactivates a tenant; a VIEWER sees no write action. The script fails on any request
// that leaves 127.0.0.1, on any console error (CSP violations included) and on any serious
// or critical axe-core finding. With CONSOLE_SCREENSHOTS=<dir> it writes the PNGs of
// docs/console/.
//
// It skips, saying why, when node, Chromium or the npm packages are missing; .ci/run
// installs them, so in CI it runs.
func TestConsoleBrowser(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed (.ci/run installs it)")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("no Chromium at %s (apt-get install chromium; .ci/run does)", chromium)
	}
	mods := os.Getenv("CONSOLE_NODE_MODULES")
	if mods == "" {
		mods = consoleNodeModules
	}
	for _, pkg := range []string{"playwright-core", "axe-core"} {
		if _, err := os.Stat(filepath.Join(mods, "node_modules", pkg, "package.json")); err != nil {
			t.Skipf("npm package %s is not installed under %s (.ci/run installs it)", pkg, mods)
		}
	}
	// APP_MFA_KEY: the walk enrols a second factor.
	w := newConsoleWorldEnv(t, map[string]string{"APP_MFA_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="})
	fx, err := json.Marshal(map[string]any{
		"acme": w.acme, "globex": w.globex, "invoice": w.invoiceID,
		"owner":    map[string]string{"email": ownerEmail, "password": ownerPass},
		"viewer":   map[string]string{"email": viewerEmail, "password": viewerPass},
		"operator": map[string]string{"email": opEmail, "password": opPassword},
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "console", "e2e.mjs"), w.srv.URL)
	cmd.Env = append(os.Environ(), "CONSOLE_NODE_MODULES="+mods, "CHROMIUM="+chromium, "CONSOLE_FIXTURE="+string(fx))
	if dir := os.Getenv("CONSOLE_SCREENSHOTS"); dir != "" {
		abs, err := filepath.Abs(dir)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(abs, 0o755))
		cmd.Env = append(cmd.Env, "CONSOLE_SCREENSHOTS="+abs)
	}
	out, err := cmd.CombinedOutput()
	t.Logf("browser test output:\n%s", out)
	require.NoError(t, err, "the browser test failed (output above)")
}
