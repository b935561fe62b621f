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
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/anomaly/anomalytest"
	"github.com/eusaas/eusaas/anomaly/memanomaly"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/auth/memauth"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/gdpr/memgdpr"
	"github.com/eusaas/eusaas/internal/pgtest"
	"github.com/eusaas/eusaas/jobs"
	"github.com/eusaas/eusaas/jobs/memjobs"
	"github.com/eusaas/eusaas/memtx"
	"github.com/eusaas/eusaas/tenancy"
)

// TestGDPRWiringAndVerifyExport wires the gdpr module in memory mode, runs an export through
// the in-process job runner, then checks the archive with `eusaas gdpr verify-export`, and
// that one flipped byte makes the command fail.
func TestGDPRWiringAndVerifyExport(t *testing.T) {
	ctx := context.Background()
	tables := memgdpr.NewTables()
	tables.Define(gdpr.Table{Name: "users", Columns: []string{"id", "email"}, SubjectColumn: "id"})
	tenant := eusaas.NewTenantID()
	for _, id := range []string{"a", "b", "c"} {
		require.NoError(t, tables.Insert(tenant, "users", map[string]any{"id": id, "email": id + "@example.eu"}))
	}
	dir := t.TempDir()
	cfg, err := loadGDPRConfig(env(map[string]string{"APP_GDPR_ARCHIVE_DIR": dir, "APP_PUBLIC_URL": "https://eu.example"}))
	require.NoError(t, err)
	tx := memtx.NewTxRunner()
	app := &App{memTx: tx, tx: tx, log: slog.New(slog.DiscardHandler)}
	jr := newJobRuntime(nil, eusaas.SystemClock)
	reg := prometheus.NewRegistry()
	svc, err := wireGDPR(ctx, app, cfg, jr, reg, gdprPorts{MemorySources: []eusaas.DataSource{tables}})
	require.NoError(t, err)

	r, err := svc.RequestExport(ctx, tenant, gdpr.ExportRequest{Format: gdpr.FormatJSON})
	require.NoError(t, err)
	require.Equal(t, 1, jr.Queue.(*memjobs.Runner).WorkAvailable(ctx))
	r, err = svc.Request(ctx, tenant, gdpr.KindExport, r.ID)
	require.NoError(t, err)
	require.Equal(t, gdpr.StatusCompleted, r.Status, r.ErrorMessage)
	require.True(t, strings.HasPrefix(svc.DownloadURL(r), "https://eu.example/api/v1/gdpr/downloads/"))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	require.Equal(t, "gdpr_requests_overdue", mfs[0].GetName())

	file := filepath.Join(dir, filepath.FromSlash(r.Archive))
	pub := base64.StdEncoding.EncodeToString(svc.PublicKey())
	var out, errOut bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errOut, Getenv: env(nil)}
	require.Equal(t, 0, m.Run(ctx, []string{"gdpr", "verify-export", "--public-key", pub, file}), errOut.String())
	require.Contains(t, out.String(), "OK: tenant "+tenant.String())
	require.Contains(t, out.String(), "data/users.json")

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
	jr := newJobRuntime(nil, eusaas.SystemClock)
	done := make(chan struct{})
	jr.Registry.Handle("test.ping", func(context.Context, jobs.Job) error { close(done); return nil })
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- runJobs(ctx, jr, slog.New(slog.DiscardHandler)) }()
	require.NoError(t, jr.Queue.Enqueue(ctx, "test.ping", nil, nil))
	<-done
	cancel()
	require.NoError(t, <-errc)
}

// TestGDPRSagaAsTenancyDeprovisioner wires the saga behind tenancy's DELETE with the real
// tenancy and audit services in memory mode: the tenant ends DELETED by way of the job
// runner, and the audit chain holds the intent and completion entries and still verifies.
func TestGDPRSagaAsTenancyDeprovisioner(t *testing.T) {
	ctx := context.Background()
	tx := memtx.NewTxRunner()
	app := &App{memTx: tx, tx: tx, log: slog.New(slog.DiscardHandler)}
	acfg, err := LoadAuditConfig(env(nil))
	require.NoError(t, err)
	aud, err := app.wireAudit(ctx, acfg)
	require.NoError(t, err)
	t.Cleanup(app.Close)
	ten, err := app.wireTenancy(aud, nil)
	require.NoError(t, err)
	cfg, err := loadGDPRConfig(env(map[string]string{"APP_GDPR_ARCHIVE_DIR": t.TempDir()}))
	require.NoError(t, err)
	jr := newJobRuntime(nil, eusaas.SystemClock)
	svc, err := wireGDPR(ctx, app, cfg, jr, nil, gdprPortsFrom(gdprModules{Tenancy: ten, Audit: aud}, aud))
	require.NoError(t, err)
	ten.SetDeprovisioner(svc)

	res, err := ten.Create(ctx, tenancy.CreateInput{Name: "Acme", Slug: "acme-gdpr", AdminEmail: "owner@acme.eu"})
	require.NoError(t, err)
	id := res.Tenant.ID

	// An export with the audit log streams the tenant's chain through the audit adapter.
	ex, err := svc.RequestExport(ctx, id, gdpr.ExportRequest{Format: gdpr.FormatJSON, IncludeAuditLogs: true})
	require.NoError(t, err)
	jr.Queue.(*memjobs.Runner).WorkAvailable(ctx)
	ex, err = svc.Request(ctx, id, gdpr.KindExport, ex.ID)
	require.NoError(t, err)
	require.Equal(t, gdpr.StatusCompleted, ex.Status, ex.ErrorMessage)
	require.GreaterOrEqual(t, ex.Counts["audit_entries"], 2, "tenant creation and the export request are in the chain")

	_, err = ten.Deprovision(ctx, id)
	require.NoError(t, err)
	jr.Queue.(*memjobs.Runner).WorkAvailable(ctx)
	got, err := ten.Get(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tenancy.Status("DELETED"), got.Status)

	r, err := svc.TenantErasure(ctx, id)
	require.NoError(t, err)
	require.Equal(t, gdpr.StatusCompleted, r.Status)
	_, err = r.Certificate.Verify(svc.PublicKey())
	require.NoError(t, err)
	chain := map[string]string{} // action -> hash of its entry in the tenant's chain
	for _, action := range []string{gdpr.ActionTenantErasureRequested, gdpr.ActionTenantErasureCompleted} {
		l, err := aud.List(ctx, id, audit.Filter{Action: action}, eusaas.Page{})
		require.NoError(t, err)
		require.Equal(t, 1, l.Total, action)
		chain[action] = l.Items[0].Hash.String()
	}
	// The certificate cites the audit entries by their chain hash (gdprHashRecorder).
	require.NotEmpty(t, r.AuditEntries)
	for _, ce := range r.AuditEntries {
		require.Len(t, ce.Hash, 64, "%s cited without its hash", ce.Action)
		if h, ok := chain[ce.Action]; ok {
			require.Equal(t, h, ce.Hash, ce.Action)
		}
	}
	require.Equal(t, chain[gdpr.ActionTenantErasureRequested], r.AuditEntries[0].Hash, "the intent entry comes first")
	// Erasing the DELETED tenant again is a no-op answered with the tombstone.
	again, err := ten.Deprovision(ctx, id)
	require.NoError(t, err)
	require.Equal(t, got, again)
	l, err := aud.List(ctx, id, audit.Filter{}, eusaas.Page{})
	require.NoError(t, err)
	n := l.Total
	jr.Queue.(*memjobs.Runner).WorkAvailable(ctx)
	l, err = aud.List(ctx, id, audit.Filter{}, eusaas.Page{})
	require.NoError(t, err)
	require.Equal(t, n, l.Total, "a repeated erasure records nothing")
	rep, err := aud.Verify(ctx, id)
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep)
}

// TestGDPRAuditRetention: gdprPortsFrom gives gdpr a retainer for the audit log's personal
// side data; it erases the values of entries older than audit_log_retention_days (plus
// grace), leaves younger ones, and the chain still verifies.
func TestGDPRAuditRetention(t *testing.T) {
	ctx := context.Background()
	tx := memtx.NewTxRunner()
	app := &App{memTx: tx, tx: tx, log: slog.New(slog.DiscardHandler)}
	acfg, err := LoadAuditConfig(env(nil))
	require.NoError(t, err)
	aud, err := app.wireAudit(ctx, acfg)
	require.NoError(t, err)
	t.Cleanup(app.Close)
	ports := gdprPortsFrom(gdprModules{Audit: aud}, aud)
	var rt gdpr.Retainer
	for _, r := range ports.Retainers {
		if _, ok := r.(gdprAuditRetainer); ok {
			rt = r
		}
	}
	require.NotNil(t, rt, "the audit retainer is wired")

	tenant := eusaas.NewTenantID()
	require.NoError(t, aud.Record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.Actor{Kind: eusaas.ActorUser, ID: "u1", TenantID: tenant},
		Action: "LOGIN", ResourceType: "session", ResourceID: "s1", Personal: map[string]string{"email": "old@example.eu"},
		Meta: eusaas.RequestMeta{IP: "198.51.100.7", UserAgent: "Old/1.0"}}))
	p := gdpr.DefaultPolicy(tenant)
	p.AuditLogRetentionDays = 30
	now := time.Now()
	counts, err := rt.EnforceRetention(ctx, tenant, p, now.AddDate(0, 0, 29), 0)
	require.NoError(t, err)
	require.Empty(t, counts, "within the retention period")
	counts, err = rt.EnforceRetention(ctx, tenant, p, now.AddDate(0, 0, 31), 48*time.Hour)
	require.NoError(t, err)
	require.Empty(t, counts, "within the grace period")
	counts, err = rt.EnforceRetention(ctx, tenant, p, now.AddDate(0, 0, 33), 48*time.Hour)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"audit_personal.hard_deleted": 3}, counts, "email, ip and user agent")
	l, err := aud.List(ctx, tenant, audit.Filter{}, eusaas.Page{})
	require.NoError(t, err)
	require.Len(t, l.Items, 1)
	for _, f := range l.Items[0].Personal {
		require.True(t, f.Erased, f.Name)
	}
	rep, err := aud.Verify(ctx, tenant)
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep)
}

// TestGDPRAuditSubjectEntries: a subject-scoped export gets the subject's own entries and
// entries about them, with other persons' personal values withheld; the rest of the log not.
func TestGDPRAuditSubjectEntries(t *testing.T) {
	ctx := context.Background()
	tx := memtx.NewTxRunner()
	app := &App{memTx: tx, tx: tx, log: slog.New(slog.DiscardHandler)}
	acfg, err := LoadAuditConfig(env(nil))
	require.NoError(t, err)
	aud, err := app.wireAudit(ctx, acfg)
	require.NoError(t, err)
	t.Cleanup(app.Close)
	tenant := eusaas.NewTenantID()
	user := func(id string) eusaas.Actor { return eusaas.Actor{Kind: eusaas.ActorUser, ID: id, TenantID: tenant} }
	ownerMeta := eusaas.RequestMeta{IP: "198.51.100.1", UserAgent: "OwnerBrowser/1"}
	for _, ev := range []eusaas.AuditEvent{
		{Actor: user("owner"), Action: "LOGIN", ResourceType: "session", ResourceID: "s1", Meta: ownerMeta},
		{Actor: user("subj"), Action: "LOGIN", ResourceType: "session", ResourceID: "s2", Meta: eusaas.RequestMeta{IP: "203.0.113.9"}},
		{Actor: user("owner"), Action: "USER_ROLE_CHANGED", ResourceType: "user", ResourceID: "subj", Meta: ownerMeta},
	} {
		ev.TenantID = tenant
		require.NoError(t, aud.Record(ctx, ev))
	}
	var got []string
	require.NoError(t, gdprAudit{aud}.SubjectEntries(ctx, tenant, []string{"subj"}, func(b []byte) error {
		got = append(got, string(b))
		return nil
	}))
	require.Len(t, got, 2, "the subject's login and the change about them, not the owner's login")
	require.Contains(t, got[0], "203.0.113.9", "the subject's own values stay")
	require.Contains(t, got[1], "USER_ROLE_CHANGED")
	for _, b := range got {
		require.NotContains(t, b, "198.51.100.1", "the owner's IP address is withheld")
		require.NotContains(t, b, "OwnerBrowser")
	}
}

// TestGDPRMemoryRetainers: in memory mode the auth and anomaly stores' own retention reaches
// gdpr's retention run through the wiring's adapters: an expired session goes after the
// grace period, an old anomaly is soft-deleted after default_retention_days.
func TestGDPRMemoryRetainers(t *testing.T) {
	ctx := context.Background()
	tenant := eusaas.NewTenantID()
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	grace := 30 * 24 * time.Hour
	as := memauth.NewStore()
	expired := auth.Session{ID: uuid.New(), TenantID: tenant, UserID: uuid.New(), TokenHash: []byte{1},
		CreatedAt: now.AddDate(0, -3, 0), RotatedAt: now.AddDate(0, -3, 0), ExpiresAt: now.Add(-grace - time.Hour)}
	live := auth.Session{ID: uuid.New(), TenantID: tenant, UserID: uuid.New(), TokenHash: []byte{2},
		CreatedAt: now, RotatedAt: now, ExpiresAt: now.Add(time.Hour)}
	require.NoError(t, as.CreateSession(ctx, expired))
	require.NoError(t, as.CreateSession(ctx, live))
	an := memanomaly.NewStore()
	old := anomalytest.Sample(tenant, "CPU", 0)
	old.DetectedAt = now.AddDate(0, 0, -10)
	_, _, err := an.Insert(ctx, old)
	require.NoError(t, err)

	p := gdpr.DefaultPolicy(tenant)
	p.DefaultRetentionDays = 5
	got := map[string]int{}
	for _, r := range []gdpr.Retainer{gdprExpiryRetainer{as}, gdprDefaultRetainer{an}} {
		c, err := r.EnforceRetention(ctx, tenant, p, now, grace)
		require.NoError(t, err)
		for k, v := range c {
			got[k] += v
		}
	}
	require.Equal(t, map[string]int{"auth_sessions.hard_deleted": 1, "anomalies.soft_deleted": 1}, got)
	_, err = as.GetSession(ctx, tenant, expired.ID)
	require.Equal(t, eusaas.NotFound, eusaas.KindOf(err))
	_, err = as.GetSession(ctx, tenant, live.ID)
	require.NoError(t, err)
}
