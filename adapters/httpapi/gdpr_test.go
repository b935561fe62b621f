package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/adapters/httpapi/httpapitest"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/gdpr/gdprtest"
	"github.com/eusaas/eusaas/gdpr/memgdpr"
	"github.com/eusaas/eusaas/jobs"
	"github.com/eusaas/eusaas/jobs/memjobs"
	"github.com/eusaas/eusaas/memtx"
)

type gdprHarness struct {
	*httpapitest.Harness
	svc    *gdpr.Service
	runner *memjobs.Runner
	tables *memgdpr.Tables
	life   *gdprtest.Lifecycle
}

func newGDPRHarness(t *testing.T) *gdprHarness {
	h := &gdprHarness{Harness: httpapitest.New(t), tables: memgdpr.NewTables(), life: gdprtest.NewLifecycle()}
	h.tables.Define(gdpr.Table{Name: "users", Columns: []string{"id", "email"}, SubjectColumn: "id"})
	store, data := memgdpr.NewStore(), memgdpr.NewTenantData(h.tables)
	reg := jobs.NewRegistry()
	h.runner = memjobs.NewRunner(reg, memjobs.Options{})
	_, key, _ := ed25519.GenerateKey(nil)
	svc, err := gdpr.NewService(gdpr.Deps{Tx: memtx.NewTxRunner(), Requests: store, Policies: store, Holds: store, Keys: store, Archives: memgdpr.NewArchives(),
		Data: data, Subjects: data, Queue: h.runner, Recorder: &gdprtest.Recorder{}, Lifecycle: h.life, DSRs: store, Breaches: store},
		gdpr.Options{SigningKey: key, BaseURL: "http://api.test"})
	require.NoError(t, err)
	h.svc = svc
	h.svc.RegisterJobs(reg)
	httpapi.RegisterGDPR(h.Server, h.svc)
	return h
}

func (h *gdprHarness) tenant() eusaas.TenantID {
	id := h.NewTenant()
	h.life.Status[id] = "ACTIVE"
	for i := 1; i <= 2; i++ {
		if err := h.tables.Insert(id, "users", map[string]any{"id": fmt.Sprint("u", i), "email": fmt.Sprintf("u%d@example.eu", i)}); err != nil {
			h.T.Fatal(err)
		}
	}
	return id
}

func TestGDPRExportFlow(t *testing.T) {
	h := newGDPRHarness(t)
	a := h.tenant()
	admin, _ := h.User(a, auth.RoleAdmin)
	viewer, _ := h.User(a, auth.RoleViewer)
	base := "/api/v1/tenants/" + a.String() + "/gdpr"

	r := h.Do("POST", base+"/export", map[string]any{"format": "csv", "include_audit_logs": true}, admin)
	require.Equal(t, 202, r.Status, string(r.Body))
	var job httpapi.GDPRExportJob
	r.JSON(t, &job)
	require.Equal(t, "PENDING", job.Status)
	require.Nil(t, job.DownloadURL)

	require.Equal(t, 403, h.Do("POST", base+"/export", map[string]any{"format": "csv"}, viewer).Status, "viewers only read")
	require.Equal(t, 1, h.runner.WorkAvailable(context.Background()))

	r = h.Do("GET", base+"/export/"+job.JobID, nil, viewer)
	require.Equal(t, 200, r.Status, string(r.Body))
	r.JSON(t, &job)
	require.Equal(t, "COMPLETED", job.Status)
	require.NotNil(t, job.DownloadURL)
	require.WithinDuration(t, time.Now().Add(72*time.Hour), *job.ExpiresAt, time.Minute)

	u, err := url.Parse(*job.DownloadURL)
	require.NoError(t, err)
	d := h.Do("GET", u.Path, nil, "") // no bearer token
	require.Equal(t, 200, d.Status, string(d.Body))
	require.Equal(t, "application/zip", d.Header.Get("Content-Type"))
	res, err := gdpr.VerifyArchive(bytes.NewReader(d.Body), int64(len(d.Body)), h.svc.PublicKey())
	require.NoError(t, err)
	require.Equal(t, a.String(), res.Manifest.TenantID)

	// The published key is the one that verifies.
	var key struct {
		PublicKey string `json:"public_key"`
	}
	k := h.Do("GET", "/api/v1/gdpr/signing-key", nil, "")
	require.Equal(t, 200, k.Status)
	k.JSON(t, &key)
	raw, _ := base64.StdEncoding.DecodeString(key.PublicKey)
	_, err = gdpr.VerifyArchive(bytes.NewReader(d.Body), int64(len(d.Body)), ed25519.PublicKey(raw))
	require.NoError(t, err)

	// A forged or altered token is refused.
	bad := h.Do("GET", u.Path[:len(u.Path)-3]+"xyz", nil, "")
	require.Equal(t, 403, bad.Status)
	require.Equal(t, "invalid_download_token", bad.Problem(t).Code)
}

func TestGDPRBadInputAndIsolation(t *testing.T) {
	h := newGDPRHarness(t)
	a, b := h.tenant(), h.tenant()
	adminA, _ := h.User(a, auth.RoleAdmin)
	adminB, _ := h.User(b, auth.RoleAdmin)
	base := "/api/v1/tenants/" + a.String() + "/gdpr"

	r := h.Do("POST", base+"/export", map[string]any{"format": "pdf"}, adminA)
	require.Equal(t, 422, r.Status)
	require.Equal(t, "body.format", r.Problem(t).Errors[0].Location)
	r = h.Do("POST", base+"/export", map[string]any{"format": "json", "data_subjects": []string{"u1", "stranger"}}, adminA)
	require.Equal(t, 422, r.Status)
	require.Equal(t, "body.data_subjects[1]", r.Problem(t).Errors[0].Location)
	r = h.Do("POST", base+"/erase", map[string]any{"data_subject_id": "stranger"}, adminA)
	require.Equal(t, 422, r.Status)
	require.Equal(t, "body.data_subject_id", r.Problem(t).Errors[0].Location)
	r = h.Do("PUT", base+"/retention", map[string]any{"default_retention_days": 0, "audit_log_retention_days": 10,
		"backup_retention_days": 400, "pii_retention_days": 30}, adminA)
	require.Equal(t, 422, r.Status)
	var locs []string
	for _, e := range r.Problem(t).Errors {
		locs = append(locs, e.Location)
	}
	require.ElementsMatch(t, []string{"body.default_retention_days", "body.audit_log_retention_days", "body.backup_retention_days"}, locs)

	r = h.Do("POST", base+"/export", map[string]any{"format": "json"}, adminA)
	require.Equal(t, 202, r.Status)
	var job httpapi.GDPRExportJob
	r.JSON(t, &job)

	// Tenant B's token on A's paths: 403. A's job under B's path: 404.
	policy := map[string]any{"default_retention_days": 90, "audit_log_retention_days": 365, "backup_retention_days": 14, "pii_retention_days": 60}
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", base + "/export/" + job.JobID, nil}, {"POST", base + "/export", map[string]any{"format": "json"}},
		{"POST", base + "/erase", map[string]any{"data_subject_id": "u1"}},
		{"GET", base + "/retention", nil}, {"PUT", base + "/retention", policy}, {"GET", base + "/erase/" + job.JobID, nil},
	} {
		require.Equal(t, 403, h.Do(c.method, c.path, c.body, adminB).Status, c.method+" "+c.path)
	}
	require.Equal(t, 404, h.Do("GET", "/api/v1/tenants/"+b.String()+"/gdpr/export/"+job.JobID, nil, adminB).Status)
	require.Equal(t, 404, h.Do("GET", base+"/erase/"+job.JobID, nil, adminA).Status, "an export id is no erasure")
	require.Equal(t, 404, h.Do("GET", base+"/export/not-a-uuid", nil, adminA).Status)
	require.Equal(t, 401, h.Do("GET", base+"/retention", nil, "").Status)
}

func TestGDPRErasureAndRetention(t *testing.T) {
	h := newGDPRHarness(t)
	a := h.tenant()
	owner, ownerID := h.User(a, auth.RoleOwner)
	base := "/api/v1/tenants/" + a.String() + "/gdpr"

	r := h.Do("POST", base+"/erase", map[string]any{"data_subject_id": "u1", "reason": "asked"}, owner)
	require.Equal(t, 202, r.Status, string(r.Body))
	var job httpapi.GDPRErasureJob
	r.JSON(t, &job)
	require.Equal(t, "PENDING", job.Status)
	require.Equal(t, "u1", job.DataSubjectID)
	h.runner.WorkAvailable(context.Background())
	r = h.Do("GET", base+"/erase/"+job.JobID, nil, owner)
	require.Equal(t, 200, r.Status)
	r.JSON(t, &job)
	require.Equal(t, "COMPLETED", job.Status)
	require.NotNil(t, job.Certificate)
	_, err := job.Certificate.Verify(h.svc.PublicKey())
	require.NoError(t, err)

	again := h.Do("POST", base+"/erase", map[string]any{"data_subject_id": "u1"}, owner)
	require.Equal(t, 200, again.Status, "an erased subject: the existing result")
	var same httpapi.GDPRErasureJob
	again.JSON(t, &same)
	require.Equal(t, job.JobID, same.JobID)

	r = h.Do("GET", base+"/retention", nil, owner)
	require.Equal(t, 200, r.Status)
	var p httpapi.GDPRRetention
	r.JSON(t, &p)
	require.Equal(t, 365, p.DefaultRetentionDays)
	require.Nil(t, p.UpdatedAt)
	r = h.Do("PUT", base+"/retention", map[string]any{"default_retention_days": 90, "audit_log_retention_days": 365,
		"backup_retention_days": 14, "pii_retention_days": 60}, owner)
	require.Equal(t, 200, r.Status, string(r.Body))
	r.JSON(t, &p)
	require.Equal(t, 14, p.BackupRetentionDays)
	require.Equal(t, ownerID, *p.UpdatedBy)
}

func TestGDPROperatorHoldsAndCertificate(t *testing.T) {
	h := newGDPRHarness(t)
	a := h.tenant()
	op := h.Operator()
	owner, _ := h.User(a, auth.RoleOwner)
	holds := "/api/v1/tenants/" + a.String() + "/gdpr/legal-holds"

	require.Equal(t, 403, h.Do("POST", holds, map[string]any{"reason": "x"}, owner).Status, "operators only")
	r := h.Do("POST", holds, map[string]any{"reason": "litigation"}, op)
	require.Equal(t, 201, r.Status, string(r.Body))
	var hold httpapi.GDPRLegalHold
	r.JSON(t, &hold)

	ctx := context.Background()
	err := h.svc.Deprovision(ctx, a)
	require.ErrorIs(t, err, gdpr.ErrLegalHold)
	r = h.Do("POST", "/api/v1/tenants/"+a.String()+"/gdpr/erase", map[string]any{"data_subject_id": "u2"}, owner)
	require.Equal(t, 409, r.Status)
	require.Contains(t, r.Problem(t).Detail, hold.ID)

	require.Equal(t, 404, h.Do("GET", "/api/v1/gdpr/tenant-erasures/"+a.String(), nil, op).Status)
	require.Equal(t, 204, h.Do("DELETE", holds+"/"+hold.ID, nil, op).Status)
	require.NoError(t, h.svc.Deprovision(ctx, a))
	h.runner.WorkAvailable(ctx)
	h.Gate.Set(a, "DELETED")

	r = h.Do("GET", "/api/v1/gdpr/tenant-erasures/"+a.String(), nil, op)
	require.Equal(t, 200, r.Status, string(r.Body))
	var te httpapi.GDPRTenantErasure
	r.JSON(t, &te)
	require.Equal(t, "COMPLETED", te.Status)
	require.Len(t, te.Steps, 7)
	require.Equal(t, "ACTIVE", *te.BackupKeyStatus)
	cert, err := te.Certificate.Verify(h.svc.PublicKey())
	require.NoError(t, err)
	require.Equal(t, 2, cert.Counts["users"])
	require.Equal(t, 403, h.Do("GET", "/api/v1/gdpr/tenant-erasures/"+a.String(), nil, owner).Status)
}

// Operators pass TenantAccess for any id; the routes that create GDPR state still answer 404
// for an unknown or DELETED tenant and store nothing (no policy, no job, no hold).
func TestGDPROperatorUnknownOrDeletedTenant(t *testing.T) {
	h := newGDPRHarness(t)
	op := h.Operator()
	gone := h.tenant()
	h.Gate.Set(gone, "DELETED")
	live := h.tenant()
	ctx := context.Background()
	for _, id := range []eusaas.TenantID{eusaas.NewTenantID(), gone} {
		base := "/api/v1/tenants/" + id.String() + "/gdpr/"
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"POST", "export", map[string]any{"format": "json"}},
			{"POST", "erase", map[string]any{"data_subject_id": "u1"}},
			{"GET", "retention", nil},
			{"PUT", "retention", map[string]any{"default_retention_days": 10, "audit_log_retention_days": 30, "backup_retention_days": 7, "pii_retention_days": 1}},
			{"POST", "legal-holds", map[string]any{"reason": "x"}},
		} {
			r := h.Do(c.method, base+c.path, c.body, op)
			require.Equal(t, 404, r.Status, "%s %s: %s", c.method, c.path, r.Body)
			require.Equal(t, "tenant_not_found", r.Problem(t).Code)
		}
		p, err := h.svc.RetentionPolicy(ctx, id)
		require.NoError(t, err)
		require.True(t, p.UpdatedAt.IsZero(), "no policy stored")
		holds, err := h.svc.Holds(ctx, id)
		require.NoError(t, err)
		require.Empty(t, holds)
	}
	require.Zero(t, h.runner.WorkAvailable(ctx), "no job enqueued")
	// A live tenant still works for the operator.
	r := h.Do("PUT", "/api/v1/tenants/"+live.String()+"/gdpr/retention",
		map[string]any{"default_retention_days": 10, "audit_log_retention_days": 30, "backup_retention_days": 7, "pii_retention_days": 1}, op)
	require.Equal(t, 200, r.Status, string(r.Body))
}
