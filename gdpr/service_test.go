package gdpr_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/gdpr/gdprtest"
	"github.com/eusaas/eusaas/gdpr/memgdpr"
	"github.com/eusaas/eusaas/jobs"
	"github.com/eusaas/eusaas/jobs/memjobs"
	"github.com/eusaas/eusaas/memtx"
)

type env struct {
	svc    *gdpr.Service
	store  *memgdpr.Store
	arch   *memgdpr.Archives
	tables *memgdpr.Tables
	runner *memjobs.Runner
	rec    *gdprtest.Recorder
	clock  *eusaas.FakeClock
	tenant eusaas.TenantID
	erased *fakeErasers
	leases *memgdpr.Leases
	// frozen are the tenants DEPROVISIONING (gdpr.DeprovisioningLister).
	frozen []eusaas.TenantID
	// checkpoint, when set, is the service's Options.Checkpoint.
	checkpoint func(ctx context.Context, point string) error
}

type fakeErasers struct{ users, audit, billing []string }

func (f *fakeErasers) EraseUser(_ context.Context, _ eusaas.TenantID, id string) (map[string]int, error) {
	f.users = append(f.users, id)
	return map[string]int{"users": 1, "sessions": 2}, nil
}

type userEraser struct{ f *fakeErasers }

func (u userEraser) EraseSubject(ctx context.Context, t eusaas.TenantID, id string) (map[string]int, error) {
	return u.f.EraseUser(ctx, t, id)
}

type auditEraser struct{ f *fakeErasers }

func (a auditEraser) EraseSubject(_ context.Context, _ eusaas.TenantID, id string) (int, error) {
	a.f.audit = append(a.f.audit, id)
	return 4, nil
}

type billingP struct{ f *fakeErasers }

func (b billingP) PseudonymizeSubject(_ context.Context, _ eusaas.TenantID, id string) (int, error) {
	b.f.billing = append(b.f.billing, id)
	return 1, nil
}

type auditSource struct{}

func (auditSource) Entries(_ context.Context, _ eusaas.TenantID, fn func([]byte) error) error {
	for i := 0; i < 3; i++ {
		if err := fn([]byte(fmt.Sprintf(`{"seq":%d,"action":"LOGIN"}`, i))); err != nil {
			return err
		}
	}
	return nil
}

func (auditSource) LatestCheckpoint(context.Context, eusaas.TenantID) ([]byte, error) {
	return []byte(`{"seq":2,"signature":"x"}`), nil
}

func newEnv(t *testing.T) *env { return newEnvWith(t, nil) }

func newEnvWith(t *testing.T, archives gdpr.ArchiveStore) *env {
	return newEnvAudit(t, archives, auditSource{})
}

func newEnvAudit(t *testing.T, archives gdpr.ArchiveStore, audit gdpr.AuditSource) *env {
	e := &env{store: memgdpr.NewStore(), arch: memgdpr.NewArchives(), tables: memgdpr.NewTables(),
		rec: &gdprtest.Recorder{}, clock: eusaas.NewFakeClock(time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)),
		tenant: eusaas.NewTenantID(), erased: &fakeErasers{}, leases: memgdpr.NewLeases()}
	e.tables.Define(gdpr.Table{Name: "users", Columns: []string{"id", "email", "password_hash", "created_at", "deleted_at"}, SubjectColumn: "id"})
	e.tables.Define(gdpr.Table{Name: "notes", Columns: []string{"id", "user_id", "body"}, SubjectColumn: "user_id"})
	e.tables.Define(gdpr.Table{Name: "settings", Columns: []string{"key", "value"}})
	insert := func(table string, row map[string]any) {
		t.Helper()
		require.NoError(t, e.tables.Insert(e.tenant, table, row))
	}
	for i := 1; i <= 3; i++ {
		insert("users", map[string]any{"id": fmt.Sprint("u", i), "email": fmt.Sprintf("u%d@example.eu", i), "password_hash": "$argon2id$SECRET",
			"created_at": e.clock.Now().AddDate(-3, 0, 0)})
		insert("notes", map[string]any{"id": int64(i), "user_id": fmt.Sprint("u", i), "body": "a \"quoted\", <tagged> & multi\nline note"})
	}
	insert("settings", map[string]any{"key": "theme"}) // value NULL
	data := memgdpr.NewTenantData(e.tables)
	reg := jobs.NewRegistry()
	_, key, _ := ed25519.GenerateKey(nil)
	e.runner = memjobs.NewRunner(reg, memjobs.Options{Clock: e.clock})
	if archives == nil {
		archives = e.arch
	}
	svc, err := gdpr.NewService(gdpr.Deps{Tx: memtx.NewTxRunner(), Requests: e.store, Policies: e.store, Holds: e.store, Keys: e.store, Archives: archives, Data: data,
		Queue: e.runner, Recorder: e.rec, Subjects: data, Audit: audit, Users: userEraser{e.erased},
		AuditEraser: auditEraser{e.erased}, Billing: billingP{e.erased}, Retainers: []gdpr.Retainer{data}, DSRs: e.store,
		Tenants: envTenants{e}, Leases: e.leases}, gdpr.Options{Clock: e.clock, SigningKey: key, BaseURL: "https://api.example.eu",
		LeaseTTL: leaseTTL, DataMap: testDataMap, SubProcessors: []gdpr.SubProcessor{{Name: "Mailer GmbH", Purpose: "e-mail delivery", Location: "DE"}},
		Checkpoint: func(ctx context.Context, point string) error {
			if e.checkpoint != nil {
				return e.checkpoint(ctx, point)
			}
			return nil
		}})
	require.NoError(t, err)
	e.svc = svc
	e.svc.RegisterJobs(reg)
	return e
}

func (e *env) download(t *testing.T, r gdpr.Request) []byte {
	t.Helper()
	url := e.svc.DownloadURL(r)
	require.True(t, strings.HasPrefix(url, "https://api.example.eu/api/v1/gdpr/downloads/"), url)
	rc, n, _, err := e.svc.OpenDownload(context.Background(), strings.TrimPrefix(url, "https://api.example.eu/api/v1/gdpr/downloads/"))
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.Equal(t, n, int64(len(b)))
	return b
}

func TestExportArchiveVerifiesAndDetectsTampering(t *testing.T) {
	ctx := context.Background()
	for _, f := range gdpr.Formats {
		t.Run(string(f), func(t *testing.T) {
			e := newEnv(t)
			r, err := e.svc.RequestExport(ctx, e.tenant, gdpr.ExportRequest{Format: f, IncludeAuditLogs: true})
			require.NoError(t, err)
			require.Equal(t, gdpr.StatusPending, r.Status)
			require.Equal(t, time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), r.DueAt, "due one calendar month later, clamped to 28 February, a Saturday: the next Monday")
			require.Equal(t, 1, e.runner.WorkAvailable(ctx))
			r, err = e.svc.Request(ctx, e.tenant, gdpr.KindExport, r.ID)
			require.NoError(t, err)
			require.Equal(t, gdpr.StatusCompleted, r.Status, r.ErrorMessage)
			require.Equal(t, 100, r.Progress)
			require.Equal(t, e.clock.Now().Add(72*time.Hour), r.ExpiresAt)

			archive := e.download(t, r)
			res, err := gdpr.VerifyArchive(bytes.NewReader(archive), int64(len(archive)), e.svc.PublicKey())
			require.NoError(t, err)
			m := res.Manifest
			require.Equal(t, e.tenant.String(), m.TenantID)
			require.Equal(t, []string{"notes", "settings", "users"}, m.Tables)
			rows := map[string]int64{}
			for _, mf := range m.Files {
				rows[mf.Name] = mf.Rows
			}
			require.Equal(t, map[string]int64{"data/notes." + string(f): 3, "data/settings." + string(f): 1, "data/users." + string(f): 3,
				"audit/entries.json": 3, "audit/checkpoint.json": 1, "schema.json": 0}, rows)
			require.Equal(t, gdpr.SchemaName, m.Schema, "the manifest names schema.json")

			// The data files parse in their format.
			zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
			require.NoError(t, err)
			for _, zf := range zr.File {
				if !strings.HasPrefix(zf.Name, "data/") {
					continue
				}
				rc, err := zf.Open()
				require.NoError(t, err)
				body, _ := io.ReadAll(rc)
				rc.Close()
				require.NotContains(t, string(body), "SECRET", "password hashes never leave in an export")
				require.NotContains(t, string(body), "password_hash")
				switch f {
				case gdpr.FormatJSON:
					var v []map[string]any
					require.NoError(t, json.Unmarshal(body, &v), string(body))
					switch zf.Name {
					case "data/settings.json":
						require.Contains(t, v[0], "value")
						require.Nil(t, v[0]["value"], "NULL is null")
					case "data/notes.json":
						require.Equal(t, float64(1), v[0]["id"], "a number stays a number")
					case "data/users.json":
						require.Equal(t, "2023-01-31T10:00:00Z", v[0]["created_at"], "RFC 3339 UTC")
						require.Nil(t, v[0]["deleted_at"])
					}
				case gdpr.FormatCSV:
					recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
					require.NoError(t, err)
					require.Greater(t, len(recs), 1)
				case gdpr.FormatXML:
					d := xml.NewDecoder(bytes.NewReader(body))
					for {
						if _, err := d.Token(); err == io.EOF {
							break
						} else {
							require.NoError(t, err, string(body))
						}
					}
				}
			}

			// One flipped byte inside any member is detected.
			for _, zf := range zr.File {
				off, err := zf.DataOffset()
				require.NoError(t, err)
				bad := bytes.Clone(archive)
				bad[off+int64(zf.CompressedSize64)/2] ^= 0x01
				_, err = gdpr.VerifyArchive(bytes.NewReader(bad), int64(len(bad)), e.svc.PublicKey())
				require.ErrorIs(t, err, gdpr.ErrArchiveInvalid, "tampered %s not detected", zf.Name)
			}
			// A different key does not verify it.
			pub, _, _ := ed25519.GenerateKey(nil)
			_, err = gdpr.VerifyArchive(bytes.NewReader(archive), int64(len(archive)), pub)
			require.ErrorIs(t, err, gdpr.ErrArchiveInvalid)
		})
	}
}

// subjectAuditSource is an audit source that can scope to subjects: one entry per subject.
type subjectAuditSource struct {
	auditSource
	asked *[]string
}

func (a subjectAuditSource) SubjectEntries(_ context.Context, _ eusaas.TenantID, subjects []string, fn func([]byte) error) error {
	*a.asked = append(*a.asked, subjects...)
	for _, s := range subjects {
		if err := fn([]byte(fmt.Sprintf(`{"subject":%q}`, s))); err != nil {
			return err
		}
	}
	return nil
}

// A subject-scoped export with include_audit_logs carries only the subjects' audit entries,
// never the whole tenant's log (other persons' IP addresses and e-mails); an audit source
// that cannot scope contributes none.
func TestExportBySubjectScopesAudit(t *testing.T) {
	ctx := context.Background()
	var asked []string
	for name, src := range map[string]gdpr.AuditSource{"unscoped": auditSource{}, "scoped": subjectAuditSource{asked: &asked}} {
		t.Run(name, func(t *testing.T) {
			e := newEnvAudit(t, nil, src)
			r, err := e.svc.RequestExport(ctx, e.tenant, gdpr.ExportRequest{Format: gdpr.FormatJSON, Subjects: []string{"u2"}, IncludeAuditLogs: true})
			require.NoError(t, err)
			e.runner.WorkAvailable(ctx)
			r, err = e.svc.Request(ctx, e.tenant, gdpr.KindExport, r.ID)
			require.NoError(t, err)
			require.Equal(t, gdpr.StatusCompleted, r.Status, r.ErrorMessage)
			want := 0
			if name == "scoped" {
				want = 1
				require.Equal(t, []string{"u2"}, asked)
			}
			require.Equal(t, want, r.Counts["audit_entries"])
			archive := e.download(t, r)
			_, err = gdpr.VerifyArchive(bytes.NewReader(archive), int64(len(archive)), e.svc.PublicKey())
			require.NoError(t, err)
		})
	}
}

func TestExportBySubjectAndExpiry(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	r, err := e.svc.RequestExport(ctx, e.tenant, gdpr.ExportRequest{Format: "JSON", Subjects: []string{"u2"}})
	require.NoError(t, err)
	e.runner.WorkAvailable(ctx)
	r, err = e.svc.Request(ctx, e.tenant, gdpr.KindExport, r.ID)
	require.NoError(t, err)
	require.Equal(t, gdpr.StatusCompleted, r.Status)
	require.Equal(t, map[string]int{"notes": 1, "users": 1}, r.Counts, "only the subject's rows, subject-less tables skipped")
	archive := e.download(t, r)
	res, err := gdpr.VerifyArchive(bytes.NewReader(archive), int64(len(archive)), nil)
	require.NoError(t, err)
	require.True(t, res.KeyFromArchive)
	require.Equal(t, []string{"u2"}, res.Manifest.Subjects)

	// Another tenant cannot read it; an unknown id is 404.
	_, err = e.svc.Request(ctx, eusaas.NewTenantID(), gdpr.KindExport, r.ID)
	require.ErrorIs(t, err, gdpr.ErrNotFound)
	_, err = e.svc.Request(ctx, e.tenant, gdpr.KindSubjectErasure, r.ID)
	require.ErrorIs(t, err, gdpr.ErrNotFound)

	// Expiry: the cleanup job removes the archive and the token stops working.
	token := strings.TrimPrefix(e.svc.DownloadURL(r), "https://api.example.eu/api/v1/gdpr/downloads/")
	e.clock.Advance(72 * time.Hour)
	require.NoError(t, e.svc.CleanupExports(ctx))
	r, err = e.svc.Request(ctx, e.tenant, gdpr.KindExport, r.ID)
	require.NoError(t, err)
	require.Equal(t, gdpr.StatusExpired, r.Status)
	require.Empty(t, e.arch.Names())
	_, _, _, err = e.svc.OpenDownload(ctx, token)
	require.ErrorIs(t, err, gdpr.ErrBadToken)
	_, _, _, err = e.svc.OpenDownload(ctx, token[:len(token)-2]+"AA")
	require.ErrorIs(t, err, gdpr.ErrBadToken)
}

func TestExportBadInput(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	_, err := e.svc.RequestExport(ctx, e.tenant, gdpr.ExportRequest{Format: "pdf"})
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	require.Equal(t, "body.format", eusaas.FieldsOf(err)[0].Location)
	_, err = e.svc.RequestExport(ctx, e.tenant, gdpr.ExportRequest{Format: gdpr.FormatCSV, Subjects: []string{"u1", "nobody"}})
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	require.Equal(t, []eusaas.FieldViolation{{Location: "body.data_subjects[1]", Message: "not a data subject of this tenant"}}, eusaas.FieldsOf(err))
	require.Empty(t, e.runner.Jobs())
}

type failingArchives struct{ gdpr.ArchiveStore }

func (failingArchives) Create(context.Context, string) (gdpr.ArchiveWriter, error) {
	return nil, eusaas.E(eusaas.Unavailable, "disk unavailable")
}

func TestExportRetriesThenFails(t *testing.T) {
	ctx := context.Background()
	e := newEnvWith(t, failingArchives{})
	r, err := e.svc.RequestExport(ctx, e.tenant, gdpr.ExportRequest{Format: gdpr.FormatJSON})
	require.NoError(t, err)
	require.Equal(t, 1, e.runner.WorkAvailable(ctx))
	for attempt := 1; attempt < jobs.DefaultMaxAttempts; attempt++ {
		got, err := e.svc.Request(ctx, e.tenant, gdpr.KindExport, r.ID)
		require.NoError(t, err)
		require.Equal(t, gdpr.StatusProcessing, got.Status, "attempt %d is retried", attempt)
		e.clock.Advance(jobs.Backoff(attempt))
		require.GreaterOrEqual(t, e.runner.WorkAvailable(ctx), 1) // periodic jobs may come due too
	}
	got, err := e.svc.Request(ctx, e.tenant, gdpr.KindExport, r.ID)
	require.NoError(t, err)
	require.Equal(t, gdpr.StatusFailed, got.Status)
	require.Equal(t, "export failed: disk unavailable", got.ErrorMessage)
	require.Empty(t, e.svc.DownloadURL(got))
}

func TestSubjectErasure(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	r, created, err := e.svc.RequestErasure(ctx, e.tenant, "u1", "user asked")
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, gdpr.StatusPending, r.Status)
	again, created, err := e.svc.RequestErasure(ctx, e.tenant, "u1", "")
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, r.ID, again.ID, "a second request answers with the existing one")
	require.Equal(t, 1, e.runner.WorkAvailable(ctx))
	r, err = e.svc.Request(ctx, e.tenant, gdpr.KindSubjectErasure, r.ID)
	require.NoError(t, err)
	require.Equal(t, gdpr.StatusCompleted, r.Status)
	require.Equal(t, map[string]int{"auth.users": 1, "auth.sessions": 2, "audit.personal_data": 4, "billing.pseudonymised": 1, gdpr.CountExports: 0}, r.Counts)
	cert, err := r.Certificate.Verify(e.svc.PublicKey())
	require.NoError(t, err)
	require.Equal(t, "u1", cert.SubjectID)
	require.Equal(t, gdpr.ActionSubjectErased, cert.AuditEntries[0].Action)
	require.Equal(t, []string{"u1"}, e.erased.users)
	require.Equal(t, []string{"u1"}, e.erased.audit)
	require.Equal(t, []string{"u1"}, e.erased.billing)

	// Erasing an erased subject: the existing result, no new job.
	again, _, err = e.svc.RequestErasure(ctx, e.tenant, "u1", "")
	require.NoError(t, err)
	require.Equal(t, r.ID, again.ID)
	require.Equal(t, 0, e.runner.WorkAvailable(ctx))

	_, _, err = e.svc.RequestErasure(ctx, e.tenant, "ghost", "")
	require.Equal(t, "body.data_subject_id", eusaas.FieldsOf(err)[0].Location)
	_, _, err = e.svc.RequestErasure(ctx, e.tenant, "", "")
	require.Equal(t, "body.data_subject_id", eusaas.FieldsOf(err)[0].Location)

	h, err := e.svc.PlaceHold(ctx, e.tenant, "tax audit")
	require.NoError(t, err)
	_, _, err = e.svc.RequestErasure(ctx, e.tenant, "u2", "")
	require.ErrorIs(t, err, gdpr.ErrLegalHold)
	require.Contains(t, eusaas.MessageOf(err), h.ID)
}

func TestRetention(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	p, err := e.svc.RetentionPolicy(ctx, e.tenant)
	require.NoError(t, err)
	require.Equal(t, gdpr.DefaultPolicy(e.tenant), p)

	_, err = e.svc.SetRetentionPolicy(ctx, gdpr.Policy{TenantID: e.tenant, DefaultRetentionDays: 0, AuditLogRetentionDays: 29,
		BackupRetentionDays: 366, PIIRetentionDays: 3651})
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	var locs []string
	for _, f := range eusaas.FieldsOf(err) {
		locs = append(locs, f.Location)
	}
	require.Equal(t, []string{"body.default_retention_days", "body.audit_log_retention_days", "body.backup_retention_days", "body.pii_retention_days"}, locs)

	actx := eusaas.WithActor(ctx, eusaas.Actor{Kind: eusaas.ActorUser, ID: "admin-1", TenantID: e.tenant})
	p, err = e.svc.SetRetentionPolicy(actx, gdpr.Policy{TenantID: e.tenant, DefaultRetentionDays: 30, AuditLogRetentionDays: 30,
		BackupRetentionDays: 7, PIIRetentionDays: 365})
	require.NoError(t, err)
	require.Equal(t, "admin-1", p.UpdatedBy)
	got, err := e.svc.RetentionPolicy(ctx, e.tenant)
	require.NoError(t, err)
	require.Equal(t, p, got)

	// Users were created three years ago: past 365 days of PII retention.
	require.NoError(t, e.svc.EnforceRetention(ctx))
	ev := e.rec.Last(gdpr.ActionRetentionExecuted)
	require.Equal(t, 3, ev.Changes["users.soft_deleted"])
	require.Equal(t, 3, e.tables.Count(e.tenant, "users"), "soft deletion keeps the rows during the grace period")
	e.clock.Advance(31 * 24 * time.Hour)
	require.NoError(t, e.svc.EnforceRetention(ctx))
	ev = e.rec.Last(gdpr.ActionRetentionExecuted)
	require.Equal(t, 3, ev.Changes["users.hard_deleted"])
	require.Equal(t, 0, e.tables.Count(e.tenant, "users"))
}

func TestOverdue(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	_, err := e.svc.RequestExport(ctx, e.tenant, gdpr.ExportRequest{Format: gdpr.FormatJSON})
	require.NoError(t, err)
	_, _, err = e.svc.RequestErasure(ctx, e.tenant, "u3", "")
	require.NoError(t, err)
	e.clock.Advance(40 * 24 * time.Hour)
	n, err := e.svc.Overdue(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	e.runner.WorkAvailable(ctx)
	n, err = e.svc.Overdue(ctx)
	require.NoError(t, err)
	require.Equal(t, 0, n, "fulfilled requests are not overdue")
}

func TestDueDate(t *testing.T) {
	for in, want := range map[string]string{
		// 15 Feb 2026 is a Sunday, 28 Feb 2026 a Saturday, 31 Jan 2027 a Sunday: the next Monday.
		"2026-01-15": "2026-02-16", "2026-01-31": "2026-03-02", "2028-01-31": "2028-02-29",
		"2026-03-31": "2026-04-30", "2026-12-31": "2027-02-01",
		// 30 April -> 30 May 2026, a Saturday -> Monday 1 June; 30 April 2027 -> Sunday 30 May -> 31 May.
		"2026-04-30": "2026-06-01", "2027-04-30": "2027-05-31", "2026-05-31": "2026-06-30",
	} {
		d, _ := time.Parse(time.DateOnly, in)
		require.Equal(t, want, gdpr.DueDate(d).Format(time.DateOnly), in)
	}
}

func TestResumeReenqueuesUnfinished(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	_, err := e.svc.RequestExport(ctx, e.tenant, gdpr.ExportRequest{Format: gdpr.FormatXML})
	require.NoError(t, err)
	require.NoError(t, e.svc.Resume(ctx))
	require.Equal(t, 2, e.runner.WorkAvailable(ctx), "the duplicate run is a no-op")
	require.Len(t, e.arch.Names(), 1)
}

func TestSecretColumn(t *testing.T) {
	for name, secret := range map[string]bool{
		"password_hash": true, "token_hash": true, "Password": true, "client_secret": true, "refresh_token": true,
		"email": false, "user_id": false, "token_id": false, "full_name": false, "created_at": false,
	} {
		require.Equal(t, secret, gdpr.SecretColumn(name), name)
	}
}

// A wiring mistake must be an error at start-up naming what is missing, not a panic (as it
// was without a signing key) or a nil dereference in a job.
func TestNewServiceRefusesMissingPorts(t *testing.T) {
	svc, err := gdpr.NewService(gdpr.Deps{}, gdpr.Options{})
	require.Nil(t, svc)
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	require.ErrorContains(t, err, "gdpr: missing required ports: [Requests Policies Holds Keys Archives Data Queue SigningKey]")

	store := memgdpr.NewStore()
	deps := gdpr.Deps{Requests: store, Policies: store, Holds: store, Keys: store, Archives: memgdpr.NewArchives(),
		Data: memgdpr.NewTenantData(memgdpr.NewTables()), Queue: &gdprtest.Queue{}}
	_, key, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	_, err = gdpr.NewService(deps, gdpr.Options{SigningKey: key.Seed()})
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err), "a 32-byte seed is not a private key")
	require.ErrorContains(t, err, "SigningKey is 32 bytes")
	svc, err = gdpr.NewService(deps, gdpr.Options{SigningKey: key})
	require.NoError(t, err)
	require.Equal(t, key.Public(), svc.PublicKey())
}

// TestLegalHoldPausesDeletion: while a hold exists nothing of its tenant is deleted: the
// tenant's erasure is refused naming the hold, retention deletes nothing (its run records
// the hold that paused it) and a due backup key is not shredded. Released, both resume.
func TestLegalHoldPausesDeletion(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	_, err := e.svc.SetRetentionPolicy(ctx, gdpr.Policy{TenantID: e.tenant, DefaultRetentionDays: 30, AuditLogRetentionDays: 30,
		BackupRetentionDays: 7, PIIRetentionDays: 365})
	require.NoError(t, err)
	material := bytes.Repeat([]byte{5}, 32)
	require.NoError(t, e.store.CreateKey(ctx, gdpr.Key{TenantID: e.tenant, Material: material,
		CreatedAt: e.clock.Now().AddDate(0, 0, -8), DestroyAfter: e.clock.Now().AddDate(0, 0, -1)}))

	h, err := e.svc.PlaceHold(ctx, e.tenant, "litigation")
	require.NoError(t, err)
	err = e.svc.Deprovision(ctx, e.tenant)
	require.ErrorIs(t, err, gdpr.ErrLegalHold)
	require.Contains(t, eusaas.MessageOf(err), h.ID)
	require.Contains(t, eusaas.MessageOf(err), "litigation")

	counts, err := e.svc.EnforceTenantRetention(ctx, e.tenant)
	require.NoError(t, err)
	require.Empty(t, counts)
	require.NoError(t, e.svc.EnforceRetention(ctx))
	ev := e.rec.Last(gdpr.ActionRetentionExecuted)
	require.Equal(t, h.ID, ev.Changes["paused_by_legal_hold"])
	require.NotContains(t, ev.Changes, "users.soft_deleted")
	e.clock.Advance(31 * 24 * time.Hour) // past the grace period too: still nothing deleted
	require.NoError(t, e.svc.EnforceRetention(ctx))
	require.Equal(t, 3, e.tables.Count(e.tenant, "users"))
	require.NoError(t, e.svc.ShredKeys(ctx))
	k, err := e.store.Key(ctx, e.tenant)
	require.NoError(t, err)
	require.Equal(t, material, k.Material, "a held tenant's backup key is kept")
	require.Empty(t, e.rec.Last(gdpr.ActionBackupKeyDestroyed).Action, "no BACKUP_KEY_DESTROYED while held")

	require.NoError(t, e.svc.ReleaseHold(ctx, e.tenant, h.ID))
	require.NoError(t, e.svc.EnforceRetention(ctx))
	ev = e.rec.Last(gdpr.ActionRetentionExecuted)
	require.Equal(t, 3, ev.Changes["users.soft_deleted"])
	require.NotContains(t, ev.Changes, "paused_by_legal_hold")
	require.NoError(t, e.svc.ShredKeys(ctx))
	k, err = e.store.Key(ctx, e.tenant)
	require.NoError(t, err)
	require.Nil(t, k.Material)
	require.Equal(t, gdpr.ActionBackupKeyDestroyed, e.rec.Last(gdpr.ActionBackupKeyDestroyed).Action)
}

// TestErasureDeletesExports: export archives are copies of personal data, so erasure takes
// them along. A subject's erasure deletes the exports scoped to that subject and the
// tenant-wide ones (both hold their data), keeps other subjects' exports, and counts them in
// its certificate; the tenant's erasure deletes every remaining export, pending ones
// included. Erased exports' download URLs answer 404 (NotFound), not 409.
func TestErasureDeletesExports(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	export := func(subjects ...string) (gdpr.Request, string) {
		t.Helper()
		r, err := e.svc.RequestExport(ctx, e.tenant, gdpr.ExportRequest{Format: "JSON", Subjects: subjects})
		require.NoError(t, err)
		e.runner.WorkAvailable(ctx)
		r, err = e.svc.Request(ctx, e.tenant, gdpr.KindExport, r.ID)
		require.NoError(t, err)
		require.Equal(t, gdpr.StatusCompleted, r.Status)
		e.download(t, r)
		return r, strings.TrimPrefix(e.svc.DownloadURL(r), "https://api.example.eu/api/v1/gdpr/downloads/")
	}
	gone := func(r gdpr.Request, token string) {
		t.Helper()
		_, _, _, err := e.svc.OpenDownload(ctx, token)
		require.ErrorIs(t, err, gdpr.ErrNotFound)
		_, _, err = e.arch.Open(ctx, r.Archive)
		require.Equal(t, eusaas.NotFound, eusaas.KindOf(err), "archive %s still stored", r.Archive)
		got, err := e.svc.Request(ctx, e.tenant, gdpr.KindExport, r.ID)
		require.NoError(t, err)
		require.Equal(t, gdpr.StatusExpired, got.Status)
		require.Empty(t, e.svc.DownloadURL(got))
	}
	whole, wholeTok := export()
	mine, mineTok := export("u1")
	theirs, theirsTok := export("u2")
	require.Len(t, e.arch.Names(), 3)

	r, _, err := e.svc.RequestErasure(ctx, e.tenant, "u1", "")
	require.NoError(t, err)
	e.runner.WorkAvailable(ctx)
	r, err = e.svc.Request(ctx, e.tenant, gdpr.KindSubjectErasure, r.ID)
	require.NoError(t, err)
	require.Equal(t, gdpr.StatusCompleted, r.Status)
	require.Equal(t, 2, r.Counts[gdpr.CountExports])
	cert, err := r.Certificate.Verify(e.svc.PublicKey())
	require.NoError(t, err)
	require.Equal(t, 2, cert.Counts[gdpr.CountExports], "the certificate counts the exports")
	gone(whole, wholeTok)
	gone(mine, mineTok)
	e.download(t, theirs) // another subject's export stays
	require.Equal(t, []string{theirs.Archive}, e.arch.Names())

	pending, err := e.svc.RequestExport(ctx, e.tenant, gdpr.ExportRequest{Format: "CSV"})
	require.NoError(t, err) // its job has not run yet
	require.NoError(t, e.svc.Deprovision(ctx, e.tenant))
	require.NoError(t, e.svc.RunTenantErasure(ctx, e.tenant))
	te, err := e.svc.TenantErasure(ctx, e.tenant)
	require.NoError(t, err)
	require.Equal(t, gdpr.StatusCompleted, te.Status)
	tcert, err := te.Certificate.Verify(e.svc.PublicKey())
	require.NoError(t, err)
	require.Equal(t, 1, tcert.Counts[gdpr.CountExports])
	require.Equal(t, 1, tcert.Counts[gdpr.CountJobs], "the pending export's job is canceled; the saga's own job is kept")
	require.Equal(t, 3, tcert.Counts["users"])
	ev := e.rec.Last(gdpr.ActionTenantErasureCompleted)
	require.Equal(t, 1, ev.Changes["exports_deleted"])
	require.Equal(t, 3, ev.Changes["tables"], "exports are not counted as a table")
	gone(theirs, theirsTok)
	require.Equal(t, 1, e.runner.WorkAvailable(ctx), "only the saga's job is left, and it finds the work done")
	p, err := e.svc.Request(ctx, e.tenant, gdpr.KindExport, pending.ID)
	require.NoError(t, err)
	require.Equal(t, gdpr.StatusExpired, p.Status)
	for _, name := range e.arch.Names() {
		require.True(t, strings.HasPrefix(name, "backups/"), "only the sealed erasure backup remains: %s", name)
	}
}
