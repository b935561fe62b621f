package platform_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly/anomalytest"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/jobs"
	"github.com/eusaas/eusaas/jobs/memjobs"
	"github.com/eusaas/eusaas/platform"
	"github.com/eusaas/eusaas/tenancy"
)

// newPlatform wires every module on the memory store set with throwaway keys.
func newPlatform(t *testing.T) (*platform.Platform, *memjobs.Runner) {
	t.Helper()
	return newPlatformWith(t, platform.Config{})
}

// newPlatformWith is newPlatform with c's settings beside the throwaway keys.
func newPlatformWith(t *testing.T, c platform.Config) (*platform.Platform, *memjobs.Runner) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	keys, err := auth.NewKeySet(key, eusaas.SystemClock)
	require.NoError(t, err)
	_, signer, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	_, auditKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	stores, runner := platform.Memory(nil)
	c.AuthKeys, c.Audit, c.GDPR = keys, audit.Options{Signer: auditKey}, gdpr.Options{SigningKey: signer}
	p, err := platform.New(context.Background(), stores, c)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p, runner
}

// A store set missing ports is refused with every missing port named, never a panic.
func TestNewRefusesMissingPorts(t *testing.T) {
	_, err := platform.New(context.Background(), platform.Stores{}, platform.Config{})
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	for _, name := range []string{"Tenants", "Users", "Usage", "Anomalies", "Audit", "Requests", "Policies", "Holds", "Queue", "Config.AuthKeys"} {
		require.ErrorContains(t, err, name)
	}
}

// TestAuthTenancyWiring: tenancy and auth reference each other through the platform: a tenant
// created through tenancy (whose owner invitation auth issues) is resolved by auth for
// registration and login.
func TestAuthTenancyWiring(t *testing.T) {
	ctx := context.Background()
	p, _ := newPlatform(t)
	_, err := platform.TenantResolver{Tenancy: p.Tenancy}.Resolve(ctx, "no-such-tenant")
	require.Equal(t, eusaas.NotFound, eusaas.KindOf(err))
	res, err := p.Tenancy.Create(ctx, tenancy.CreateInput{Name: "Acme", Slug: "acme", AdminEmail: "owner@example.com"})
	require.NoError(t, err)
	require.NotEmpty(t, res.Invitation.Token, "tenancy got the owner invitation from auth")
	u, err := p.Auth.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "acme", Email: "owner@example.com",
		Password: "Correct-Horse-9", FullName: "Olga", InvitationToken: res.Invitation.Token})
	require.NoError(t, err)
	require.Equal(t, auth.RoleOwner, u.Role)
	_, err = p.Auth.Login(ctx, auth.LoginInput{TenantIDOrSlug: "acme", Email: "owner@example.com", Password: "Correct-Horse-9"})
	require.NoError(t, err)
}

// TestAsyncProvisioningOwnerInvitation: with AsyncProvisioning the owner invitation comes
// back from Create at once, is refused while the tenant is PROVISIONING, and works once the
// provisioning job (run twice, as a retry would) made it ACTIVE.
func TestAsyncProvisioningOwnerInvitation(t *testing.T) {
	ctx := context.Background()
	p, runner := newPlatformWith(t, platform.Config{AsyncProvisioning: true})
	res, err := p.Tenancy.Create(ctx, tenancy.CreateInput{Name: "Acme", Slug: "acme", AdminEmail: "Owner@Example.com"})
	require.NoError(t, err)
	require.Equal(t, tenancy.StatusProvisioning, res.Tenant.Status)
	require.NotEmpty(t, res.Invitation.Token)
	reg := auth.RegisterInput{TenantIDOrSlug: "acme", Email: "owner@example.com", Password: "Correct-Horse-9",
		FullName: "Olga", InvitationToken: res.Invitation.Token}
	_, err = p.Auth.Register(ctx, reg)
	require.Error(t, err, "not usable before the tenant is ACTIVE")

	require.Equal(t, 1, runner.WorkAvailable(ctx))
	got, err := p.Tenancy.Get(ctx, res.Tenant.ID)
	require.NoError(t, err)
	require.Equal(t, tenancy.StatusActive, got.Status)
	// A second run of the same job (a retry after a crash) changes nothing.
	h, ok := p.Jobs.Handler(tenancy.JobProvision)
	require.True(t, ok)
	done := runner.Jobs()
	require.Len(t, done, 1)
	require.Contains(t, string(done[0].Args), `"digest"`, "the job carries the invitation's hash")
	require.NotContains(t, string(done[0].Args), res.Invitation.Token, "never the token")
	require.NoError(t, h(ctx, jobs.Job{ID: "retry", Kind: tenancy.JobProvision, Args: done[0].Args, Attempt: 2, MaxAttempts: 5}))

	u, err := p.Auth.Register(ctx, reg)
	require.NoError(t, err)
	require.Equal(t, auth.RoleOwner, u.Role)
	_, err = p.Auth.Register(ctx, reg)
	require.Error(t, err, "the invitation is single use")
}

// TestGDPRSagaAsTenancyDeprovisioner wires the saga behind tenancy's DELETE with the real
// tenancy and audit services in memory mode: the tenant ends DELETED by way of the job
// runner, and the audit chain holds the intent and completion entries and still verifies.
func TestGDPRSagaAsTenancyDeprovisioner(t *testing.T) {
	ctx := context.Background()
	p, runner := newPlatform(t)
	ten, aud, svc := p.Tenancy, p.Audit, p.GDPR

	res, err := ten.Create(ctx, tenancy.CreateInput{Name: "Acme", Slug: "acme-gdpr", AdminEmail: "owner@acme.eu"})
	require.NoError(t, err)
	id := res.Tenant.ID

	// An export with the audit log streams the tenant's chain through the audit adapter.
	ex, err := svc.RequestExport(ctx, id, gdpr.ExportRequest{Format: gdpr.FormatJSON, IncludeAuditLogs: true})
	require.NoError(t, err)
	runner.WorkAvailable(ctx)
	ex, err = svc.Request(ctx, id, gdpr.KindExport, ex.ID)
	require.NoError(t, err)
	require.Equal(t, gdpr.StatusCompleted, ex.Status, ex.ErrorMessage)
	require.GreaterOrEqual(t, ex.Counts["audit_entries"], 2, "tenant creation and the export request are in the chain")

	_, err = ten.Deprovision(ctx, id)
	require.NoError(t, err)
	runner.WorkAvailable(ctx)
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
	// The certificate cites the audit entries by their chain hash (platform.HashRecorder).
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
	runner.WorkAvailable(ctx)
	l, err = aud.List(ctx, id, audit.Filter{}, eusaas.Page{})
	require.NoError(t, err)
	require.Equal(t, n, l.Total, "a repeated erasure records nothing")
	rep, err := aud.Verify(ctx, id)
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep)
}

// TestGDPRAuditRetention: the platform gives gdpr a retainer for the audit log's personal
// side data; it erases the values of entries older than audit_log_retention_days (plus
// grace), leaves younger ones, and the chain still verifies.
func TestGDPRAuditRetention(t *testing.T) {
	ctx := context.Background()
	pl, _ := newPlatform(t)
	aud := pl.Audit
	var rt gdpr.Retainer = platform.AuditRetainer{Audit: aud}

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
	p, _ := newPlatform(t)
	aud := p.Audit
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
	require.NoError(t, platform.AuditSource{Audit: aud}.SubjectEntries(ctx, tenant, []string{"subj"}, func(b []byte) error {
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

// TestMemoryRetainers: the memory store set's own retention reaches gdpr: auth sessions
// expired past the grace period are deleted, anomalies past default_retention_days are
// soft-deleted; live rows stay.
func TestMemoryRetainers(t *testing.T) {
	ctx := context.Background()
	tenant := eusaas.NewTenantID()
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	grace := 30 * 24 * time.Hour
	stores, _ := platform.Memory(nil)
	as := stores.Sessions
	expired := auth.Session{ID: uuid.New(), TenantID: tenant, UserID: uuid.New(), TokenHash: []byte{1},
		CreatedAt: now.AddDate(0, -3, 0), RotatedAt: now.AddDate(0, -3, 0), ExpiresAt: now.Add(-grace - time.Hour)}
	live := auth.Session{ID: uuid.New(), TenantID: tenant, UserID: uuid.New(), TokenHash: []byte{2},
		CreatedAt: now, RotatedAt: now, ExpiresAt: now.Add(time.Hour)}
	require.NoError(t, as.CreateSession(ctx, expired))
	require.NoError(t, as.CreateSession(ctx, live))
	old := anomalytest.Sample(tenant, "CPU", 0)
	old.DetectedAt = now.AddDate(0, 0, -10)
	_, _, err := stores.Anomalies.Insert(ctx, old)
	require.NoError(t, err)

	p := gdpr.DefaultPolicy(tenant)
	p.DefaultRetentionDays = 5
	got := map[string]int{}
	for _, r := range stores.Retainers {
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

// pii_retention_days bounds the personal values auth keeps beyond their use (memory mode;
// the Postgres adapter's generic retention does the same): sessions opened before the period
// plus grace lose their IP and user agent but keep working, invitations made before it are
// deleted with the invitee's e-mail; younger ones and other tenants are untouched.
func TestMemoryPIIRetention(t *testing.T) {
	ctx := context.Background()
	tenant, other := eusaas.NewTenantID(), eusaas.NewTenantID()
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	grace := 30 * 24 * time.Hour
	stores, _ := platform.Memory(nil)
	old := now.AddDate(0, 0, -10).Add(-grace)
	mk := func(tn eusaas.TenantID, at time.Time, b byte) (auth.Session, auth.Invitation) {
		s := auth.Session{ID: uuid.New(), TenantID: tn, UserID: uuid.New(), TokenHash: []byte{b}, CreatedAt: at, RotatedAt: at,
			ExpiresAt: now.AddDate(1, 0, 0), UserAgent: "Firefox", IP: "203.0.113.7"}
		inv := auth.Invitation{ID: uuid.New(), TenantID: tn, Email: fmt.Sprintf("p%d@example.eu", b), Role: auth.RoleMember,
			TokenHash: []byte{b}, CreatedBy: "system", CreatedAt: at, ExpiresAt: now.AddDate(1, 0, 0)}
		require.NoError(t, stores.Sessions.CreateSession(ctx, s))
		require.NoError(t, stores.Invitations.CreateInvitation(ctx, inv))
		return s, inv
	}
	oldS, _ := mk(tenant, old, 1)
	newS, newI := mk(tenant, now.AddDate(0, 0, -1), 2)
	otherS, _ := mk(other, old, 3)

	p := gdpr.DefaultPolicy(tenant)
	p.PIIRetentionDays = 7
	got := map[string]int{}
	for _, r := range stores.Retainers {
		c, err := r.EnforceRetention(ctx, tenant, p, now, grace)
		require.NoError(t, err)
		for k, v := range c {
			got[k] += v
		}
	}
	require.Equal(t, map[string]int{"auth_sessions.personal_erased": 1, "auth_invitations.hard_deleted": 1}, got)
	s, err := stores.Sessions.GetSession(ctx, tenant, oldS.ID)
	require.NoError(t, err, "the session itself is kept")
	require.Empty(t, s.IP)
	require.Empty(t, s.UserAgent)
	s, err = stores.Sessions.GetSession(ctx, tenant, newS.ID)
	require.NoError(t, err)
	require.Equal(t, "203.0.113.7", s.IP)
	pending, err := stores.Invitations.ListPendingInvitations(ctx, tenant, now, eusaas.Page{Page: 1, Size: 10})
	require.NoError(t, err)
	require.Len(t, pending.Items, 1)
	require.Equal(t, newI.ID, pending.Items[0].ID)
	s, err = stores.Sessions.GetSession(ctx, other, otherS.ID)
	require.NoError(t, err)
	require.Equal(t, "203.0.113.7", s.IP, "another tenant's policy run touches nothing of it")
	for _, r := range stores.Retainers {
		c, err := r.EnforceRetention(ctx, tenant, p, now, grace)
		require.NoError(t, err)
		require.Empty(t, c, "idempotent")
	}
}

// settings.data_retention_days reaches raw usage through UsageRetainer: attributes of events
// older than it are erased (counted for RETENTION_EXECUTED), younger ones kept.
func TestUsageRetainer(t *testing.T) {
	ctx := context.Background()
	tenant := eusaas.NewTenantID()
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	stores, _ := platform.Memory(nil)
	rate := billing.PriceBook(billing.DefaultPrices()).Rate
	var events []billing.UsageEvent
	for i, at := range []time.Time{now.AddDate(0, 0, -10), now.AddDate(0, 0, -1)} {
		events = append(events, billing.UsageEvent{ID: fmt.Sprint("e", i), ResourceType: billing.CPU, Quantity: decimal.NewFromInt(1),
			Timestamp: at, Attributes: map[string]string{"user": "u-1"}})
	}
	_, err := stores.Usage.Record(ctx, tenant, events, rate)
	require.NoError(t, err)
	rt := platform.UsageRetainer{Store: stores.Usage.(platform.AttributeEraser),
		Days: func(_ context.Context, id eusaas.TenantID) (int, error) {
			require.Equal(t, tenant, id)
			return 7, nil
		}}
	counts, err := rt.EnforceRetention(ctx, tenant, gdpr.DefaultPolicy(tenant), now, 30*24*time.Hour)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"billing_usage_events.attributes_erased": 1}, counts)
	counts, err = rt.EnforceRetention(ctx, tenant, gdpr.DefaultPolicy(tenant), now, 30*24*time.Hour)
	require.NoError(t, err)
	require.Empty(t, counts, "idempotent")
}
