package auth

import (
	"context"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// issue builds the token pair of a session state: the refresh token for (Counter, secret)
// and an access token whose iat is RotatedAt and whose jti derives from secret — so the same
// state always yields the same pair (the grace window relies on it).
func (s *Service) issue(u User, sess Session, secret [32]byte, now time.Time, enrolOnly bool) (TokenPair, error) {
	iat := sess.RotatedAt.Truncate(time.Second)
	exp := iat.Add(s.cfg.AccessTTL)
	c := &Claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: s.cfg.Issuer, Subject: u.ID.String(), Audience: jwt.ClaimStrings{s.cfg.Audience},
		ExpiresAt: jwt.NewNumericDate(exp), IssuedAt: jwt.NewNumericDate(iat), NotBefore: jwt.NewNumericDate(iat),
		ID: jtiFor(secret)}, SessionID: sess.ID.String(), Kind: string(eusaas.ActorOperator)}
	if !u.IsOperator() {
		c.Kind, c.TenantID, c.Role = string(eusaas.ActorUser), u.TenantID.String(), u.Role
	}
	c.MFAEnrol = enrolOnly
	access, err := signAccessToken(s.d.Keys, c)
	if err != nil {
		return TokenPair{}, err
	}
	rt := refreshToken{operator: u.IsOperator(), tenant: u.TenantID, session: sess.ID, counter: sess.Counter, secret: secret}
	return TokenPair{AccessToken: access, RefreshToken: rt.encode(), TokenType: "Bearer",
		ExpiresIn: int((max(exp.Sub(now), 0) + time.Second - 1) / time.Second), ExpiresAt: exp}, nil
}

// Refresh exchanges a refresh token for a new pair and rotates the session. The token just
// replaced, presented again within the grace window (the client lost the answer), yields the
// same new pair. Any older genuine token is reuse: the session is revoked — the newest token
// stops working too — a REFRESH_REUSE security event is recorded, and the answer is the same
// ErrInvalidRefreshToken as for any bad token.
func (s *Service) Refresh(ctx context.Context, token string) (TokenPair, error) {
	rt, ok := parseRefreshToken(strings.TrimSpace(token))
	if !ok {
		return TokenPair{}, ErrInvalidRefreshToken
	}
	for attempt := 0; attempt < 3; attempt++ {
		now := s.now()
		sess, err := s.d.Sessions.GetSession(ctx, rt.tenant, rt.session)
		if err != nil {
			if eusaas.KindOf(err) == eusaas.NotFound {
				return TokenPair{}, ErrInvalidRefreshToken
			}
			return TokenPair{}, err
		}
		if sess.Revoked() || !now.Before(sess.ExpiresAt) || rt.counter > sess.Counter {
			return TokenPair{}, ErrInvalidRefreshToken
		}
		cur, ok := walkTo(rt, sess.Counter)
		if !ok || !matches(cur, sess.TokenHash) {
			return TokenPair{}, ErrInvalidRefreshToken // not one of this session's tokens
		}
		switch {
		case rt.counter == sess.Counter:
			u, err := s.activeAccount(ctx, sess, now)
			if err != nil {
				return TokenPair{}, err
			}
			next := nextSecret(cur, rt.tenant, rt.session, sess.Counter+1)
			err = s.d.Sessions.RotateSession(ctx, rt.tenant, sess.ID, sess.Counter, secretHash(next), now)
			if eusaas.KindOf(err) == eusaas.Aborted {
				continue // a concurrent refresh won; re-read and take the grace path
			}
			if err != nil {
				return TokenPair{}, err
			}
			sess.Counter, sess.RotatedAt, sess.TokenHash = sess.Counter+1, now, secretHash(next)
			enrol, err := s.mfaEnrolmentDue(ctx, u)
			if err != nil {
				return TokenPair{}, err
			}
			return s.issue(u, sess, next, now, enrol)
		case rt.counter+1 == sess.Counter && now.Sub(sess.RotatedAt) <= s.cfg.RefreshGrace:
			u, err := s.activeAccount(ctx, sess, now)
			if err != nil {
				return TokenPair{}, err
			}
			enrol, err := s.mfaEnrolmentDue(ctx, u)
			if err != nil {
				return TokenPair{}, err
			}
			return s.issue(u, sess, cur, now, enrol)
		default:
			if err := s.d.Sessions.RevokeSession(ctx, rt.tenant, sess.ID, now, "reuse"); err != nil {
				return TokenPair{}, err
			}
			return TokenPair{}, withCause(ErrInvalidRefreshToken, s.record(ctx, eusaas.AuditEvent{
				TenantID: rt.tenant, Actor: s.accountsOf(rt.tenant).actor(sess.UserID), Action: ActionRefreshReuse, ResourceType: "session",
				ResourceID: sess.ID.String(), Subject: sess.UserID.String(),
				Changes: map[string]any{"presented_counter": rt.counter, "current_counter": sess.Counter, "session_revoked": true}}))
		}
	}
	return TokenPair{}, eusaas.E(eusaas.Aborted, "concurrent refresh, retry")
}

// activeAccount loads the session's account; a vanished or deactivated one revokes the
// session. A tenant that is not ACTIVE refuses the refresh without revoking.
func (s *Service) activeAccount(ctx context.Context, sess Session, now time.Time) (User, error) {
	if !sess.TenantID.IsZero() {
		// Like login, refresh mints tokens only for ACTIVE tenants' users. A suspended
		// tenant's sessions are kept (not revoked) so they work again after reactivation.
		if _, err := s.resolveTenant(ctx, sess.TenantID.String()); err != nil {
			if k := eusaas.KindOf(err); k == eusaas.NotFound || k == eusaas.PermissionDenied {
				return User{}, ErrInvalidRefreshToken.Wrap(err)
			}
			return User{}, err
		}
	}
	u, err := s.accountsOf(sess.TenantID).get(ctx, sess.UserID)
	if err != nil && eusaas.KindOf(err) != eusaas.NotFound {
		return User{}, err
	}
	if err != nil || !u.IsActive {
		if err := s.d.Sessions.RevokeSession(ctx, sess.TenantID, sess.ID, now, "deactivated"); err != nil &&
			eusaas.KindOf(err) != eusaas.NotFound {
			return User{}, err
		}
		return User{}, ErrInvalidRefreshToken
	}
	return u, nil
}

// Logout revokes the principal's session and denylists its access token until it expires.
// A refresh token given too revokes its session when it is genuinely the caller's.
func (s *Service) Logout(ctx context.Context, p Principal, refreshToken string) error {
	now := s.now()
	if p.TokenID == "" {
		return ErrInvalidToken
	}
	if err := s.d.Denylist.Deny(ctx, p.TenantID, p.Issuer, p.TokenID, p.Expires.Add(s.cfg.Leeway)); err != nil {
		return err
	}
	revoke := func(id uuid.UUID) error {
		err := s.d.Sessions.RevokeSession(ctx, p.TenantID, id, now, "logout")
		if eusaas.KindOf(err) == eusaas.NotFound {
			return nil
		}
		return err
	}
	if sid, err := uuid.Parse(p.SessionID); err == nil {
		if err := revoke(sid); err != nil {
			return err
		}
	}
	if rt, ok := parseRefreshToken(strings.TrimSpace(refreshToken)); ok && rt.tenant == p.TenantID {
		sess, err := s.d.Sessions.GetSession(ctx, rt.tenant, rt.session)
		if err == nil && sess.UserID.String() == p.UserID && rt.counter <= sess.Counter {
			if cur, ok := walkTo(rt, sess.Counter); ok && matches(cur, sess.TokenHash) {
				if err := revoke(sess.ID); err != nil {
					return err
				}
			}
		}
	}
	return s.record(ctx, eusaas.AuditEvent{TenantID: p.TenantID, Actor: p.Actor(), Action: ActionLogout,
		ResourceType: "session", ResourceID: p.SessionID, Subject: p.UserID})
}
