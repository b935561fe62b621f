package auth_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

func principalOf(u auth.User) auth.Principal {
	return auth.Principal{Kind: eusaas.ActorUser, UserID: u.ID.String(), TenantID: u.TenantID, Role: u.Role}
}

func ptrTo[T any](v T) *T { return &v }

func TestUserAdministration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	owner := e.user(t, "owner@example.com", auth.RoleOwner)
	admin := e.user(t, "admin@example.com", auth.RoleAdmin)
	member := e.user(t, "member@example.com", auth.RoleMember)
	viewer := e.user(t, "viewer@example.com", auth.RoleViewer)
	other := eusaas.NewTenantID()

	// Everyone in the tenant reads; nobody reads another tenant.
	for _, u := range []auth.User{owner, admin, member, viewer} {
		l, err := e.svc.ListUsers(ctx, principalOf(u), e.tenant, auth.UserQuery{})
		require.NoError(t, err)
		require.Equal(t, 4, l.Total)
		require.Empty(t, l.Items[0].PasswordHash, "hashes never leave the service")
		_, err = e.svc.ListUsers(ctx, principalOf(u), other, auth.UserQuery{})
		requireKind(t, eusaas.PermissionDenied, err)
	}
	_, err := e.svc.ListUsers(ctx, principalOf(owner), e.tenant, auth.UserQuery{Filter: auth.UserFilter{Role: "BOSS"}})
	requireKind(t, eusaas.InvalidArgument, err)
	got, err := e.svc.GetUser(ctx, principalOf(viewer), e.tenant, member.ID)
	require.NoError(t, err)
	require.Equal(t, member.Email, got.Email)
	_, err = e.svc.GetUser(ctx, principalOf(viewer), e.tenant, uuid.New())
	require.ErrorIs(t, err, auth.ErrUserNotFound)

	// Only OWNER/ADMIN write; ADMIN never touches OWNER.
	_, err = e.svc.UpdateUser(ctx, principalOf(member), e.tenant, viewer.ID, auth.UserPatch{FullName: ptrTo("V")})
	requireKind(t, eusaas.PermissionDenied, err)
	_, err = e.svc.UpdateUser(ctx, principalOf(admin), e.tenant, member.ID, auth.UserPatch{Role: ptrTo(auth.RoleOwner)})
	requireKind(t, eusaas.PermissionDenied, err)
	_, err = e.svc.UpdateUser(ctx, principalOf(admin), e.tenant, owner.ID, auth.UserPatch{IsActive: ptrTo(false)})
	requireKind(t, eusaas.PermissionDenied, err)
	requireKind(t, eusaas.PermissionDenied, e.svc.DeleteUser(ctx, principalOf(admin), e.tenant, owner.ID))
	_, err = e.svc.UpdateUser(ctx, principalOf(admin), e.tenant, member.ID, auth.UserPatch{})
	requireKind(t, eusaas.InvalidArgument, err)
	_, err = e.svc.UpdateUser(ctx, principalOf(admin), e.tenant, member.ID, auth.UserPatch{FullName: ptrTo("a\x00b")})
	requireKind(t, eusaas.InvalidArgument, err)
	up, err := e.svc.UpdateUser(ctx, principalOf(admin), e.tenant, member.ID, auth.UserPatch{Role: ptrTo(auth.RoleViewer), FullName: ptrTo("  Mia  ")})
	require.NoError(t, err)
	require.Equal(t, auth.RoleViewer, up.Role)
	require.Equal(t, "Mia", up.FullName)

	// The last active OWNER stays.
	_, err = e.svc.UpdateUser(ctx, principalOf(owner), e.tenant, owner.ID, auth.UserPatch{Role: ptrTo(auth.RoleAdmin)})
	require.ErrorIs(t, err, auth.ErrLastOwner)
	requireKind(t, eusaas.FailedPrecondition, err)
	require.ErrorIs(t, e.svc.DeleteUser(ctx, principalOf(owner), e.tenant, owner.ID), auth.ErrLastOwner)

	// Deactivation ends the user's sessions and access at once.
	pair := e.login(t, "viewer@example.com")
	vp, err := e.svc.Authenticate(ctx, "Bearer "+pair.AccessToken)
	require.NoError(t, err)
	_, err = e.svc.UpdateUser(ctx, principalOf(admin), e.tenant, viewer.ID, auth.UserPatch{IsActive: ptrTo(false)})
	require.NoError(t, err)
	_, err = e.svc.Authenticate(ctx, "Bearer "+pair.AccessToken)
	require.Error(t, err, "the access token of a deactivated user stops working")
	_, err = e.svc.Refresh(ctx, pair.RefreshToken)
	require.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
	_ = vp

	// Removal deletes the account and its sessions; the id is then unknown.
	mp := e.login(t, "member@example.com")
	require.NoError(t, e.svc.DeleteUser(ctx, principalOf(owner), e.tenant, member.ID))
	_, err = e.svc.GetUser(ctx, principalOf(owner), e.tenant, member.ID)
	require.ErrorIs(t, err, auth.ErrUserNotFound)
	_, err = e.svc.Refresh(ctx, mp.RefreshToken)
	require.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
	require.ErrorIs(t, e.svc.DeleteUser(ctx, principalOf(owner), e.tenant, member.ID), auth.ErrUserNotFound)

	// Operators administer any tenant.
	_, err = e.svc.UpdateUser(ctx, auth.Principal{Kind: eusaas.ActorOperator, UserID: uuid.NewString()}, e.tenant, admin.ID, auth.UserPatch{Role: ptrTo(auth.RoleOwner)})
	require.NoError(t, err)
	_, err = e.svc.UpdateUser(ctx, principalOf(owner), e.tenant, owner.ID, auth.UserPatch{Role: ptrTo(auth.RoleAdmin)})
	require.NoError(t, err, "another active OWNER remains now")

	acts := e.rec.actions()
	require.Contains(t, acts, auth.ActionUserUpdated)
	require.Contains(t, acts, auth.ActionUserRemoved)
	for _, ev := range e.rec.events {
		for _, v := range ev.Personal {
			require.NotContains(t, v, "$argon2id")
		}
	}
}

func TestInvitationAdministration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	owner := e.user(t, "owner@example.com", auth.RoleOwner)
	admin := e.user(t, "admin@example.com", auth.RoleAdmin)
	member := e.user(t, "member@example.com", auth.RoleMember)
	ownerInv, _, err := e.svc.Invite(ctx, principalOf(owner), auth.InviteInput{TenantID: e.tenant, Email: "o2@example.com", Role: auth.RoleOwner})
	require.NoError(t, err)
	inv, tok, err := e.svc.Invite(ctx, principalOf(admin), auth.InviteInput{TenantID: e.tenant, Email: "new@example.com", Role: auth.RoleMember})
	require.NoError(t, err)

	_, err = e.svc.ListInvitations(ctx, principalOf(member), e.tenant, eusaas.Page{})
	require.NoError(t, err, "MEMBER and VIEWER read the user administration (issue 12 item 1)")
	_, err = e.svc.ListInvitations(ctx, auth.Principal{Kind: eusaas.ActorService, UserID: "svc"}, e.tenant, eusaas.Page{})
	requireKind(t, eusaas.PermissionDenied, err)
	l, err := e.svc.ListInvitations(ctx, principalOf(admin), e.tenant, eusaas.Page{})
	require.NoError(t, err)
	require.Equal(t, 2, l.Total, "the used ones of the fixture users are not pending")
	require.Empty(t, l.Items[0].TokenHash)

	requireKind(t, eusaas.PermissionDenied, e.svc.RevokeInvitation(ctx, principalOf(admin), e.tenant, ownerInv.ID))
	require.NoError(t, e.svc.RevokeInvitation(ctx, principalOf(admin), e.tenant, inv.ID))
	require.ErrorIs(t, e.svc.RevokeInvitation(ctx, principalOf(admin), e.tenant, inv.ID), auth.ErrInvitationNotFound)
	_, err = e.svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "acme", Email: "new@example.com", Password: pw, FullName: "N", InvitationToken: tok})
	require.ErrorIs(t, err, auth.ErrInvalidInvitation, "a revoked invitation registers nobody")
	l, err = e.svc.ListInvitations(ctx, principalOf(owner), e.tenant, eusaas.Page{})
	require.NoError(t, err)
	require.Equal(t, 1, l.Total, "the refused revocation of the OWNER invitation was rolled back")
	require.Contains(t, e.rec.actions(), auth.ActionInvitationRevoked)
}
