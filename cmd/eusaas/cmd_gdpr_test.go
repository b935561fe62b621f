package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/internal/pgtest"
	"github.com/eusaas/eusaas/jobs"
	"github.com/eusaas/eusaas/jobs/memjobs"
	"github.com/eusaas/eusaas/tenancy"
)

// TestGDPRWiringAndVerifyExport wires the gdpr module in memory mode, runs an export through
// the in-process job runner, then checks the archive with `eusaas gdpr verify-export`, and
// that one flipped byte makes the command fail.
func TestGDPRWiringAndVerifyExport(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	app := newTestApp(t, map[string]string{"APP_GDPR_ARCHIVE_DIR": dir, "APP_PUBLIC_URL": "https://eu.example"})
	res := app.createActive(t, tenancy.CreateInput{Name: "Acme", Slug: "acme-export", AdminEmail: "owner@acme.eu"})
	tenant := res.Tenant.ID
	svc := app.platform.GDPR

	r, err := svc.RequestExport(ctx, tenant, gdpr.ExportRequest{Format: gdpr.FormatJSON})
	require.NoError(t, err)
	require.Equal(t, 1, app.stores.runner.WorkAvailable(ctx))
	r, err = svc.Request(ctx, tenant, gdpr.KindExport, r.ID)
	require.NoError(t, err)
	require.Equal(t, gdpr.StatusCompleted, r.Status, r.ErrorMessage)
	require.True(t, strings.HasPrefix(svc.DownloadURL(r), "https://eu.example/api/v1/gdpr/downloads/"))
	mfs, err := app.registry.Gather()
	require.NoError(t, err)
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	require.Contains(t, names, "gdpr_requests_overdue")

	file := filepath.Join(dir, filepath.FromSlash(r.Archive))
	pub := base64.StdEncoding.EncodeToString(svc.PublicKey())
	var out, errOut bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errOut, Getenv: env(nil)}
	require.Equal(t, 0, m.Run(ctx, []string{"gdpr", "verify-export", "--public-key", pub, file}), errOut.String())
	require.Contains(t, out.String(), "OK: tenant "+tenant.String())
	require.Contains(t, out.String(), "data/auth_invitations.json", "the owner invitation is tenant data")

	body, err := os.ReadFile(file)
	require.NoError(t, err)
	i := bytes.Index(body, []byte("manifest.json"))   // inside the stored manifest's local header...
	j := bytes.Index(body[i:], []byte(`"tenant_id"`)) // ...then its content
	require.Greater(t, j, 0)
	body[i+j+2] ^= 0x20
	bad := filepath.Join(t.TempDir(), "bad.zip")
	require.NoError(t, os.WriteFile(bad, body, 0o600))
	out.Reset()
	require.Equal(t, 1, m.Run(ctx, []string{"gdpr", "verify-export", "--public-key", pub, bad}))
	require.Contains(t, out.String(), "FAILED")

	require.Equal(t, 2, m.Run(ctx, []string{"gdpr", "verify-export", "--public-key", "nope", file}))
}

func TestMigrateJobsIdempotent(t *testing.T) {
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(t))
	require.NoError(t, db.MigratePlatform(ctx))
	require.NoError(t, migrateJobs(ctx, db))
	require.NoError(t, migrateJobs(ctx, db))
	var n int
	require.NoError(t, db.Pool.QueryRow(ctx, "SELECT count(*) FROM eusaas.river_job").Scan(&n))
	require.Zero(t, n)
}

func TestRunJobsStopsWithContext(t *testing.T) {
	reg := jobs.NewRegistry()
	runner := memjobs.NewRunner(reg, memjobs.Options{})
	jr := &jobRuntime{Registry: reg, Start: runner.Start, Stop: runner.Stop}
	done := make(chan struct{})
	jr.Registry.Handle("test.ping", func(context.Context, jobs.Job) error { close(done); return nil })
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- runJobs(ctx, jr, slog.New(slog.DiscardHandler)) }()
	require.NoError(t, runner.Enqueue(ctx, "test.ping", nil, nil))
	<-done
	cancel()
	require.NoError(t, <-errc)
}

// Outside memory mode an unset APP_PUBLIC_URL is warned about at start (download links would
// point at localhost:8000); set, or in memory mode, it is not.
func TestPublicURLWarning(t *testing.T) {
	for _, tc := range []struct {
		vars   map[string]string
		memory bool
		warn   bool
	}{
		{nil, false, true},
		{map[string]string{"APP_PUBLIC_URL": "https://api.example.eu"}, false, false},
		{nil, true, false},
	} {
		c, err := loadGDPRConfig(env(tc.vars))
		require.NoError(t, err)
		var buf bytes.Buffer
		warnPublicURL(c, tc.memory, slog.New(slog.NewTextHandler(&buf, nil)))
		if tc.warn {
			require.Contains(t, buf.String(), "APP_PUBLIC_URL not set")
			require.Contains(t, buf.String(), "http://localhost:8000")
		} else {
			require.Empty(t, buf.String())
		}
	}
}
