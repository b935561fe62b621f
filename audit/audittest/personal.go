package audittest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
)

func testEraseSubject(t *testing.T, h Harness) {
	ctx := context.Background()
	t.Parallel()
	e := newEnv(t, h, audit.Options{})
	tenant := eusaas.NewTenantID()
	const (
		ip    = "203.0.113.77"
		ua    = "Mozilla/5.0 (EraseMeBrowser 42)"
		email = "erase.me@example.org"
		keep  = "keep.me@example.org"
	)
	mk := func(subject, mail, ua string) eusaas.AuditEvent {
		ev := event(tenant, audit.ActionLogin, 0)
		ev.Actor.ID = subject
		ev.Subject = subject
		ev.Personal = map[string]string{"email": mail}
		ev.Meta = eusaas.RequestMeta{IP: ip, UserAgent: ua}
		return ev
	}
	erasedEntry, err := e.svc.RecordEntry(ctx, mk("subject-1", email, ua))
	require.NoError(t, err)
	_, err = e.svc.RecordEntry(ctx, mk("subject-2", keep, "curl/8.0"))
	require.NoError(t, err)
	// An operator acting on the tenant: platform chain, tenant taken from the resource.
	require.NoError(t, e.svc.Record(ctx, eusaas.AuditEvent{Actor: eusaas.Actor{Kind: eusaas.ActorOperator, ID: "op"},
		Action: audit.ActionUpdate, ResourceType: audit.ResourceTenant, ResourceID: tenant.String(),
		Subject: "subject-1", Personal: map[string]string{"email": email}}))
	f, ok := erasedEntry.Field(audit.FieldIPAddress)
	require.True(t, ok)
	require.Equal(t, ip, f.Value)
	for _, v := range []string{ip, ua, email, keep} {
		has, err := e.Contains(ctx, v)
		require.NoError(t, err)
		require.True(t, has, "Contains must find %q before erasure (else the check below proves nothing)", v)
	}

	n, err := e.svc.EraseSubject(ctx, tenant, "subject-1")
	require.NoError(t, err)
	require.Equal(t, 4, n, "email, ip and user agent on the tenant chain, email on the platform chain")
	n, err = e.svc.EraseSubject(ctx, tenant, "subject-1")
	require.NoError(t, err)
	require.Zero(t, n, "idempotent")

	requireOK(t, e.verify(t, tenant), 2)
	requireOK(t, e.verify(t, audit.PlatformChain), 1)
	_, ok, err = e.Keys.SubjectKey(ctx, tenant, "subject-1", false)
	require.NoError(t, err)
	require.False(t, ok, "key deleted")
	for _, v := range []string{email, ua} {
		has, err := e.Contains(ctx, v)
		require.NoError(t, err)
		require.False(t, has, "%q still stored after erasure", v)
	}
	// The other subject's values stay (including the same IP, which is theirs too).
	for _, v := range []string{keep, ip} {
		has, err := e.Contains(ctx, v)
		require.NoError(t, err)
		require.True(t, has, "%q of another subject was erased", v)
	}
	l, err := e.svc.List(ctx, tenant, audit.Filter{}, eusaas.Page{})
	require.NoError(t, err)
	for _, en := range l.Items {
		for _, pf := range en.Personal {
			if en.Subject == "subject-1" {
				require.True(t, pf.Erased, "%s shown as erased", pf.Name)
				require.Empty(t, pf.Value)
			} else {
				require.False(t, pf.Erased)
				require.NotEmpty(t, pf.Value)
			}
		}
	}
	lp, err := e.svc.List(ctx, audit.PlatformChain, audit.Filter{TenantID: tenant}, eusaas.Page{})
	require.NoError(t, err)
	require.Len(t, lp.Items, 1)
	require.True(t, lp.Items[0].Personal[0].Erased)
	// A second erasure of the other subject removes the IP everywhere.
	_, err = e.svc.EraseSubject(ctx, tenant, "subject-2")
	require.NoError(t, err)
	has, err := e.Contains(ctx, ip)
	require.NoError(t, err)
	require.False(t, has)
	requireOK(t, e.verify(t, tenant), 2)
}

func testEraseSubjectLinked(t *testing.T, h Harness) {
	ctx := context.Background()
	t.Parallel()
	e := newEnv(t, h, audit.Options{})
	if _, ok := e.Store.(audit.LinkedEraser); !ok {
		t.Skip("store does not implement audit.LinkedEraser")
	}
	tenant, other := eusaas.NewTenantID(), eusaas.NewTenantID()
	const (
		mail    = "invitee@example.org"
		inviter = "inviter@example.org"
		ip      = "192.0.2.44"
	)
	// The inviter invites the subject: one entry, the inviter's subject, both persons' data.
	inv := event(tenant, "INVITATION_CREATED", 0)
	inv.Actor.ID, inv.Personal, inv.Meta = "inviter", map[string]string{"email": mail}, eusaas.RequestMeta{IP: ip}
	_, err := e.svc.RecordEntry(ctx, inv)
	require.NoError(t, err)
	// An operator names the address on the platform chain (a tenant's admin_email).
	require.NoError(t, e.svc.Record(ctx, eusaas.AuditEvent{Actor: eusaas.Actor{Kind: eusaas.ActorOperator, ID: "op"},
		Action: audit.ActionUpdate, ResourceType: audit.ResourceTenant, ResourceID: tenant.String(),
		Personal: map[string]string{"admin_email": mail}}))
	// The subject registers with it; the inviter's own address stays theirs.
	reg := event(tenant, "USER_REGISTERED", 1)
	reg.Actor.ID, reg.Subject, reg.Personal = "invitee", "invitee", map[string]string{"email": mail}
	_, err = e.svc.RecordEntry(ctx, reg)
	require.NoError(t, err)
	own := event(tenant, "USER_REGISTERED", 2)
	own.Actor.ID, own.Subject, own.Personal = "inviter", "inviter", map[string]string{"email": inviter}
	_, err = e.svc.RecordEntry(ctx, own)
	require.NoError(t, err)
	// A failed login naming the address: the system actor, a per-entry subject.
	require.NoError(t, e.svc.Record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: "LOGIN_FAILED",
		ResourceType: "session", Personal: map[string]string{"email": mail}}))
	// The same address in another tenant is another tenant's record.
	elsewhere := event(other, "INVITATION_CREATED", 3)
	elsewhere.Personal = map[string]string{"email": mail}
	_, err = e.svc.RecordEntry(ctx, elsewhere)
	require.NoError(t, err)

	n, err := e.svc.EraseSubject(ctx, tenant, "invitee")
	require.NoError(t, err)
	require.Equal(t, 4, n, "own email, the invitation's and the failed login's email, the platform admin_email")
	n, err = e.svc.EraseSubject(ctx, tenant, "invitee")
	require.NoError(t, err)
	require.Zero(t, n, "idempotent")
	values := func(chain eusaas.TenantID, f audit.Filter) []string {
		l, err := e.svc.List(ctx, chain, f, eusaas.Page{})
		require.NoError(t, err)
		var out []string
		for _, en := range l.Items {
			for _, pf := range en.Personal {
				if !pf.Erased {
					out = append(out, pf.Value)
				}
			}
		}
		return out
	}
	require.ElementsMatch(t, []string{ip, inviter}, values(tenant, audit.Filter{}), "the inviter's values stay, the invitee's are gone")
	require.Empty(t, values(audit.PlatformChain, audit.Filter{TenantID: tenant}))
	require.Equal(t, []string{mail}, values(other, audit.Filter{}), "tenant isolation")
	requireOK(t, e.verify(t, tenant), 4)
	requireOK(t, e.verify(t, audit.PlatformChain), 1)
}

func testPersonalRetention(t *testing.T, h Harness) {
	ctx := context.Background()
	t.Parallel()
	e := newEnv(t, h, audit.Options{})
	if _, ok := e.Store.(audit.PersonalPruner); !ok {
		t.Skip("store does not implement audit.PersonalPruner")
	}
	tenant, other := eusaas.NewTenantID(), eusaas.NewTenantID()
	mk := func(tenant eusaas.TenantID, mail string) eusaas.AuditEvent {
		ev := event(tenant, audit.ActionLogin, 0)
		ev.Personal = map[string]string{"email": mail}
		return ev
	}
	const (
		oldMail   = "old.value@example.org"
		newMail   = "new.value@example.org"
		otherMail = "other.tenant@example.org"
	)
	_, err := e.svc.RecordEntry(ctx, mk(tenant, oldMail))
	require.NoError(t, err)
	// A restricted data subject's value recorded before the cutoff is kept (Art. 18).
	held := mk(tenant, "restricted.subject@example.org")
	held.Subject = "restricted-subject"
	_, err = e.svc.RecordEntry(ctx, held)
	require.NoError(t, err)
	_, err = e.svc.RecordEntry(ctx, mk(other, otherMail))
	require.NoError(t, err)
	e.clock.Advance(48 * time.Hour)
	cutoff := e.clock.Now().Add(-time.Hour)
	_, err = e.svc.RecordEntry(ctx, mk(tenant, newMail))
	require.NoError(t, err)

	n, err := e.svc.ErasePersonalBefore(ctx, tenant, cutoff, "restricted-subject")
	require.NoError(t, err)
	require.Equal(t, 1, n, "only the value recorded before the cutoff, not the restricted subject's")
	kept, err := e.Contains(ctx, "restricted.subject@example.org")
	require.NoError(t, err)
	require.True(t, kept, "a restricted subject's value outlives retention")
	n, err = e.svc.ErasePersonalBefore(ctx, tenant, cutoff, "restricted-subject")
	require.NoError(t, err)
	require.Zero(t, n, "idempotent")
	for v, want := range map[string]bool{oldMail: false, newMail: true, otherMail: true} {
		has, err := e.Contains(ctx, v)
		require.NoError(t, err)
		require.Equal(t, want, has, "%q stored after retention", v)
	}
	requireOK(t, e.verify(t, tenant), 3)
	l, err := e.svc.List(ctx, tenant, audit.Filter{}, eusaas.Page{})
	require.NoError(t, err)
	require.Len(t, l.Items, 3) // newest first: new, held, old
	require.True(t, l.Items[2].Personal[0].Erased, "the old value shows as erased")
	require.False(t, l.Items[1].Personal[0].Erased, "the restricted subject's value is kept")
	require.False(t, l.Items[0].Personal[0].Erased)
}
