package auth

import (
	"context"
	"strings"
	"unicode"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// Audit actions of user administration.
const (
	ActionUserUpdated       = "USER_UPDATED"
	ActionUserRemoved       = "USER_REMOVED"
	ActionInvitationRevoked = "INVITATION_REVOKED"
)

// UserQuery is a request for one page of a tenant's users.
type UserQuery struct {
	Filter UserFilter
	Page   eusaas.Page
}

// UserPatch is an administrator's change to a user; nil fields stay as they are.
type UserPatch = UserChange

func errUsersDenied() error {
	return eusaas.E(eusaas.PermissionDenied, "not allowed to manage this tenant's users")
}

// ListUsers returns one page of the tenant's users. Needs PermUsersRead on the tenant.
func (s *Service) ListUsers(ctx context.Context, p Principal, tenant eusaas.TenantID, q UserQuery) (eusaas.List[User], error) {
	if !p.Can(tenant, PermUsersRead) {
		return eusaas.List[User]{}, errUsersDenied()
	}
	var v eusaas.Violations
	if q.Filter.Role != "" && !q.Filter.Role.Valid() {
		v.Add("query.role", "must be one of OWNER, ADMIN, MEMBER, VIEWER")
	}
	page, err := q.Page.Normalize()
	if err != nil {
		return eusaas.List[User]{}, err
	}
	if err := v.Err(); err != nil {
		return eusaas.List[User]{}, err
	}
	l, err := s.d.Users.ListUsers(ctx, tenant, q.Filter, page)
	if err != nil {
		return eusaas.List[User]{}, err
	}
	for i := range l.Items {
		l.Items[i].PasswordHash = "" // never leaves the package
	}
	return l, nil
}

// GetUser returns one of the tenant's users. Needs PermUsersRead on the tenant; another
// tenant's user id is NotFound.
func (s *Service) GetUser(ctx context.Context, p Principal, tenant eusaas.TenantID, id uuid.UUID) (User, error) {
	if !p.Can(tenant, PermUsersRead) {
		return User{}, errUsersDenied()
	}
	u, err := s.d.Users.GetUser(ctx, tenant, id)
	if err != nil {
		return User{}, notFoundAs(err, ErrUserNotFound)
	}
	u.PasswordHash = ""
	return u, nil
}

func notFoundAs(err error, sentinel *eusaas.Error) error {
	if eusaas.KindOf(err) == eusaas.NotFound {
		return sentinel.Wrap(err)
	}
	return err
}

// validatePatch checks the fields of an administrator's change.
func validatePatch(ch UserPatch) error {
	var v eusaas.Violations
	if ch.Role != nil && !ch.Role.Valid() {
		v.Add("body.role", "must be one of OWNER, ADMIN, MEMBER, VIEWER")
	}
	if ch.FullName != nil {
		name := strings.TrimSpace(*ch.FullName)
		if n := len(name); n == 0 || n > 200 {
			v.Add("body.full_name", "must be 1 to 200 characters")
		} else if strings.ContainsFunc(name, unicode.IsControl) {
			v.Add("body.full_name", "must not contain control characters")
		}
	}
	if ch.Role == nil && ch.IsActive == nil && ch.FullName == nil {
		v.Add("body", "must change at least one of role, is_active, full_name")
	}
	return v.Err()
}

// mayManage reports whether p may change or remove target (before) into after: only an
// OWNER (or an operator) may touch an OWNER or make one, so an ADMIN can neither grant nor
// take away the OWNER role.
func mayManage(p Principal, target User, ch UserPatch) bool {
	if p.Kind != eusaas.ActorUser || p.Role == RoleOwner {
		return true
	}
	if target.Role == RoleOwner {
		return false
	}
	return ch.Role == nil || *ch.Role != RoleOwner
}

// UpdateUser changes a user's role, active flag or name. Needs PermUsersWrite on the tenant;
// an ADMIN can neither grant nor remove OWNER. A tenant always keeps one active OWNER
// (ErrLastOwner, 409). Deactivation revokes the user's sessions at once, and Authenticate
// refuses its remaining access tokens. Audited as USER_UPDATED with the old and new values
// (the name as personal data).
func (s *Service) UpdateUser(ctx context.Context, p Principal, tenant eusaas.TenantID, id uuid.UUID, ch UserPatch) (User, error) {
	if !p.Can(tenant, PermUsersWrite) {
		return User{}, errUsersDenied()
	}
	if err := validatePatch(ch); err != nil {
		return User{}, err
	}
	if ch.FullName != nil {
		name := strings.TrimSpace(*ch.FullName)
		ch.FullName = &name
	}
	now := s.now()
	var out User
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		before, err := s.d.Users.GetUser(ctx, tenant, id)
		if err != nil {
			return notFoundAs(err, ErrUserNotFound)
		}
		if !mayManage(p, before, ch) {
			return eusaas.E(eusaas.PermissionDenied, "only an OWNER may grant, change or remove the OWNER role")
		}
		after, err := s.d.Users.UpdateUser(ctx, tenant, id, ch, now)
		if err != nil {
			return notFoundAs(err, ErrUserNotFound)
		}
		changes := map[string]any{}
		personal := map[string]string{}
		if before.Role != after.Role {
			changes["role"] = map[string]any{"from": string(before.Role), "to": string(after.Role)}
		}
		if before.IsActive != after.IsActive {
			changes["is_active"] = map[string]any{"from": before.IsActive, "to": after.IsActive}
			if !after.IsActive {
				n, err := s.d.Sessions.RevokeUserSessions(ctx, tenant, id, now, "deactivated")
				if err != nil {
					return err
				}
				changes["sessions_revoked"] = n
			}
		}
		if before.FullName != after.FullName {
			changes["full_name"] = "changed"
			personal["full_name"] = after.FullName
		}
		if len(personal) == 0 {
			personal = nil
		}
		out = after
		return s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: p.Actor(), Action: ActionUserUpdated,
			ResourceType: "user", ResourceID: id.String(), Changes: changes, Personal: personal, Subject: id.String()})
	})
	if err != nil {
		return User{}, err
	}
	out.PasswordHash = ""
	return out, nil
}

// DeleteUser removes a user's account: the user row, its sessions (they stop working at
// once) and the invitations addressed to its email — the same data GDPR subject erasure
// removes (EraseSubject). Personal data the user left in the audit log is erased the GDPR
// way, by a subject erasure request. Needs PermUsersWrite; an ADMIN cannot remove an OWNER,
// and the last active OWNER cannot be removed (ErrLastOwner). Audited as USER_REMOVED.
func (s *Service) DeleteUser(ctx context.Context, p Principal, tenant eusaas.TenantID, id uuid.UUID) error {
	if !p.Can(tenant, PermUsersWrite) {
		return errUsersDenied()
	}
	return s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		u, err := s.d.Users.GetUser(ctx, tenant, id)
		if err != nil {
			return notFoundAs(err, ErrUserNotFound)
		}
		if !mayManage(p, u, UserPatch{}) {
			return eusaas.E(eusaas.PermissionDenied, "only an OWNER may remove an OWNER")
		}
		if err := s.d.Users.RemoveUser(ctx, tenant, id); err != nil {
			return notFoundAs(err, ErrUserNotFound)
		}
		sessions, err := s.d.Sessions.DeleteUserSessions(ctx, tenant, id)
		if err != nil {
			return err
		}
		invitations, err := s.d.Invitations.DeleteInvitationsByEmail(ctx, tenant, u.Email)
		if err != nil {
			return err
		}
		return s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: p.Actor(), Action: ActionUserRemoved,
			ResourceType: "user", ResourceID: id.String(), Subject: id.String(),
			Changes: map[string]any{"role": string(u.Role), "sessions": sessions, "invitations": invitations}})
	})
}

// ListInvitations returns one page of the tenant's pending invitations (unused, unexpired),
// oldest first. Needs PermUsersRead, as the user list: issue 12 gives the user
// administration's reads to every role (the invitees are the users to come).
func (s *Service) ListInvitations(ctx context.Context, p Principal, tenant eusaas.TenantID, page eusaas.Page) (eusaas.List[Invitation], error) {
	if !p.Can(tenant, PermUsersRead) {
		return eusaas.List[Invitation]{}, eusaas.E(eusaas.PermissionDenied, "not allowed to see this tenant's invitations")
	}
	page, err := page.Normalize()
	if err != nil {
		return eusaas.List[Invitation]{}, err
	}
	l, err := s.d.Invitations.ListPendingInvitations(ctx, tenant, s.now(), page)
	if err != nil {
		return eusaas.List[Invitation]{}, err
	}
	for i := range l.Items {
		l.Items[i].TokenHash = nil
	}
	return l, nil
}

// RevokeInvitation deletes a pending invitation: its token no longer registers anyone. An
// ADMIN cannot revoke an OWNER invitation (it could not have issued one). Audited as
// INVITATION_REVOKED.
func (s *Service) RevokeInvitation(ctx context.Context, p Principal, tenant eusaas.TenantID, id uuid.UUID) error {
	if !p.Can(tenant, PermInvite) {
		return eusaas.E(eusaas.PermissionDenied, "not allowed to revoke this tenant's invitations")
	}
	return s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		inv, err := s.d.Invitations.DeleteInvitation(ctx, tenant, id, s.now())
		if err != nil {
			return notFoundAs(err, ErrInvitationNotFound)
		}
		if p.Kind == eusaas.ActorUser && roleRank(inv.Role) > roleRank(p.Role) {
			return eusaas.E(eusaas.PermissionDenied, "cannot revoke an invitation for a role above your own") // rolls back
		}
		return s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: p.Actor(), Action: ActionInvitationRevoked,
			ResourceType: "invitation", ResourceID: id.String(), Changes: map[string]any{"role": string(inv.Role)},
			Personal: map[string]string{"email": inv.Email}})
	})
}
