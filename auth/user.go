package auth

import (
	"context"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// SetUserActive (de)activates a tenant user. Deactivation revokes every session of the user
// at once, and Authenticate refuses its remaining access tokens.
func (s *Service) SetUserActive(ctx context.Context, tenant eusaas.TenantID, userID uuid.UUID, active bool) error {
	now := s.now()
	return s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Users.SetUserActive(ctx, tenant, userID, active, now); err != nil {
			if eusaas.KindOf(err) == eusaas.NotFound {
				return ErrUserNotFound
			}
			return err
		}
		action := ActionUserActivated
		if !active {
			action = ActionUserDeactivated
			if _, err := s.d.Sessions.RevokeUserSessions(ctx, tenant, userID, now, "deactivated"); err != nil {
				return err
			}
		}
		return s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.ActorFrom(ctx), Action: action,
			ResourceType: "user", ResourceID: userID.String(), Subject: userID.String()})
	})
}

// EraseSubject deletes a tenant user's personal data: the user row, its sessions and the
// invitations addressed to its email. Idempotent; returns counts by kind ("users",
// "sessions", "invitations"). Used by GDPR subject erasure.
func (s *Service) EraseSubject(ctx context.Context, tenant eusaas.TenantID, userID string) (map[string]int, error) {
	id, err := uuid.Parse(userID)
	if err != nil {
		return nil, eusaas.Invalid("invalid subject", eusaas.FieldViolation{Location: "body.data_subject_id", Message: "must be a user id (UUID)"})
	}
	counts := map[string]int{"users": 0, "sessions": 0, "invitations": 0}
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		u, err := s.d.Users.GetUser(ctx, tenant, id)
		switch {
		case err == nil:
			if counts["invitations"], err = s.d.Invitations.DeleteInvitationsByEmail(ctx, tenant, u.Email); err != nil {
				return err
			}
		case eusaas.KindOf(err) != eusaas.NotFound:
			return err
		}
		if counts["sessions"], err = s.d.Sessions.DeleteUserSessions(ctx, tenant, id); err != nil {
			return err
		}
		counts["users"], err = s.d.Users.DeleteUser(ctx, tenant, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}
