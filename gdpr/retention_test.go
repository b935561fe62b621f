package gdpr_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/gdpr"
)

// pii_retention_days bounds export archives too: a completed export older than the period is
// deleted by retention (counted and audited, its download refused), unless a legal hold
// pauses retention for the tenant.
func TestRetentionDeletesExportsPastPIIRetention(t *testing.T) {
	ctx := context.Background()
	for _, held := range []bool{false, true} {
		t.Run(map[bool]string{false: "free", true: "held"}[held], func(t *testing.T) {
			e := newEnv(t)
			_, err := e.svc.SetRetentionPolicy(ctx, gdpr.Policy{TenantID: e.tenant, DefaultRetentionDays: 3650, AuditLogRetentionDays: 3650,
				BackupRetentionDays: 30, PIIRetentionDays: 1})
			require.NoError(t, err)
			r, err := e.svc.RequestExport(ctx, e.tenant, gdpr.ExportRequest{Format: gdpr.FormatCSV})
			require.NoError(t, err)
			e.runner.WorkAvailable(ctx)
			r, err = e.svc.Request(ctx, e.tenant, gdpr.KindExport, r.ID)
			require.NoError(t, err)
			require.Equal(t, gdpr.StatusCompleted, r.Status)
			if held {
				_, err := e.svc.PlaceHold(ctx, e.tenant, "tax audit")
				require.NoError(t, err)
			}
			counts, err := e.svc.EnforceTenantRetention(ctx, e.tenant)
			require.NoError(t, err)
			require.Zero(t, counts[gdpr.CountExportsRetained], "younger than a day")

			e.clock.Advance(25 * time.Hour) // past pii_retention_days, within the 72 h download TTL
			counts, err = e.svc.EnforceTenantRetention(ctx, e.tenant)
			require.NoError(t, err)
			got, err := e.svc.Request(ctx, e.tenant, gdpr.KindExport, r.ID)
			require.NoError(t, err)
			if held {
				require.Empty(t, counts)
				require.Equal(t, gdpr.StatusCompleted, got.Status)
				require.Len(t, e.arch.Names(), 1, "the held tenant's archive stays")
				return
			}
			require.Equal(t, 1, counts[gdpr.CountExportsRetained])
			require.Equal(t, 1, e.rec.Last(gdpr.ActionRetentionExecuted).Changes[gdpr.CountExportsRetained])
			require.Equal(t, gdpr.StatusExpired, got.Status)
			require.Empty(t, e.arch.Names(), "the archive is deleted")
			_, _, _, err = e.svc.OpenDownload(ctx, e.svc.DownloadURL(r)[len("https://api.example.eu/api/v1/gdpr/downloads/"):])
			require.ErrorIs(t, err, gdpr.ErrNotFound)
			counts, err = e.svc.EnforceTenantRetention(ctx, e.tenant)
			require.NoError(t, err)
			require.Zero(t, counts[gdpr.CountExportsRetained], "idempotent")
		})
	}
}

// A subject under an Art. 18 restriction (a completed RESTRICTION request) keeps their rows
// through retention: stored, neither soft- nor hard-deleted, while the others' go.
func TestRetentionKeepsRestrictedSubjects(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	_, err := e.svc.SetRetentionPolicy(ctx, gdpr.Policy{TenantID: e.tenant, DefaultRetentionDays: 3650, AuditLogRetentionDays: 3650,
		BackupRetentionDays: 30, PIIRetentionDays: 365})
	require.NoError(t, err)
	d, err := e.svc.CreateDSR(ctx, e.tenant, gdpr.DSRInput{Type: gdpr.DSRRestriction, SubjectID: "u2"})
	require.NoError(t, err)
	_, err = e.svc.VerifyIdentity(ctx, e.tenant, d.ID, "", "signed-in account")
	require.NoError(t, err)
	restricted, err := e.svc.RestrictedSubjects(ctx, e.tenant)
	require.NoError(t, err)
	require.Equal(t, []string{"u2"}, restricted)

	counts, err := e.svc.EnforceTenantRetention(ctx, e.tenant) // users were created three years ago
	require.NoError(t, err)
	require.Equal(t, 2, counts["users.soft_deleted"])
	e.clock.Advance(31 * 24 * time.Hour)
	counts, err = e.svc.EnforceTenantRetention(ctx, e.tenant)
	require.NoError(t, err)
	require.Equal(t, 2, counts["users.hard_deleted"])
	require.Equal(t, 1, e.tables.Count(e.tenant, "users"), "u2's row is kept")
}
