package auth

import (
	"context"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// ActionSessionRevoked is audited when a user ends one of their own sessions.
const ActionSessionRevoked = "SESSION_REVOKED"

// sessionOwner is the user whose sessions p may see: tenant users and operators have
// refresh sessions, service accounts do not.
func sessionOwner(p Principal) (uuid.UUID, error) {
	if p.Kind != eusaas.ActorUser && p.Kind != eusaas.ActorOperator {
		return uuid.Nil, eusaas.E(eusaas.PermissionDenied, "only users and operators have sessions")
	}
	id, err := uuid.Parse(p.UserID)
	if err != nil {
		return uuid.Nil, ErrInvalidToken
	}
	return id, nil
}

// Sessions returns the caller's live (not revoked, not expired) refresh sessions, oldest
// first. The current one is the one whose id is p.SessionID.
func (s *Service) Sessions(ctx context.Context, p Principal) ([]Session, error) {
	uid, err := sessionOwner(p)
	if err != nil {
		return nil, err
	}
	all, err := s.d.Sessions.ListUserSessions(ctx, p.TenantID, uid)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := all[:0]
	for _, x := range all {
		if x.UserID == uid && now.Before(x.ExpiresAt) {
			x.TokenHash = nil // never leaves the package
			out = append(out, x)
		}
	}
	return out, nil
}

// RevokeOwnSession ends one of the caller's sessions; its access tokens stop working at once
// (Authenticate checks the session). Another user's session id is NotFound, as is an
// unknown one, so ids cannot be probed.
func (s *Service) RevokeOwnSession(ctx context.Context, p Principal, id uuid.UUID) error {
	uid, err := sessionOwner(p)
	if err != nil {
		return err
	}
	sess, err := s.d.Sessions.GetSession(ctx, p.TenantID, id)
	if err != nil {
		return err
	}
	if sess.UserID != uid || sess.Revoked() {
		return eusaas.E(eusaas.NotFound, "session not found")
	}
	if err := s.d.Sessions.RevokeSession(ctx, p.TenantID, id, s.now(), "logout"); err != nil {
		return err
	}
	return s.record(ctx, eusaas.AuditEvent{TenantID: p.TenantID, Actor: p.Actor(), Action: ActionSessionRevoked,
		ResourceType: "session", ResourceID: id.String(), Subject: uid.String()})
}

// RevokeOtherSessions ends every session of the caller except the current one and returns
// how many it ended.
func (s *Service) RevokeOtherSessions(ctx context.Context, p Principal) (int, error) {
	live, err := s.Sessions(ctx, p)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, x := range live {
		if x.ID.String() == p.SessionID {
			continue
		}
		if err := s.RevokeOwnSession(ctx, p, x.ID); err != nil && eusaas.KindOf(err) != eusaas.NotFound {
			return n, err
		}
		n++
	}
	return n, nil
}
