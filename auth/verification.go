package auth

import (
	"context"
	"encoding/base64"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// Audit action and lifetime of e-mail verification.
const (
	ActionEmailVerified = "EMAIL_VERIFIED"
	// EmailVerificationTTL is how long a verification link works.
	EmailVerificationTTL = 48 * time.Hour
)

// ErrInvalidVerificationToken answers every refused verification token.
var ErrInvalidVerificationToken = eusaas.Sentinel(eusaas.PermissionDenied, "invalid_verification_token", "the verification token is invalid, used or expired")

// ErrEmailNotVerified refuses a login the tenant requires a verified e-mail for. It comes
// only after the password was proven, so it tells nothing to someone without it.
var ErrEmailNotVerified = eusaas.Sentinel(eusaas.PermissionDenied, "email_not_verified", "verify your e-mail address before logging in")

// queueVerification stores a verification token for the user and queues its mail, in ctx's
// transaction. Without a verification store it does nothing.
func (s *Service) queueVerification(ctx context.Context, u User, now time.Time) error {
	if s.d.EmailVerifications == nil {
		return nil
	}
	token := newResetToken(u.TenantID) // same shape: the tenant, then 256 random bits
	expires := now.Add(EmailVerificationTTL)
	if err := s.d.EmailVerifications.SetEmailVerification(ctx, u.TenantID, u.ID, resetHash(token), expires); err != nil {
		return err
	}
	return s.queueMail(ctx, MailArgs{TenantID: u.TenantID.String(), To: u.Email, Template: MailEmailVerification,
		Token: token, ExpiresAt: expires})
}

// VerifyEmail marks the e-mail of the token's user verified. The token works once, within
// EmailVerificationTTL. Audited EMAIL_VERIFIED.
func (s *Service) VerifyEmail(ctx context.Context, token string) error {
	token = strings.TrimSpace(token)
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 48 {
		return ErrInvalidVerificationToken
	}
	if s.d.EmailVerifications == nil {
		return eusaas.E(eusaas.Unavailable, "e-mail verification is not configured")
	}
	tenant := eusaas.TenantID(uuid.UUID(raw[:16]))
	if tenant.IsZero() {
		return ErrInvalidVerificationToken
	}
	now := s.now()
	return s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		id, err := s.d.EmailVerifications.ConsumeEmailVerification(ctx, tenant, resetHash(token), now)
		if err != nil {
			if eusaas.KindOf(err) == eusaas.NotFound {
				return ErrInvalidVerificationToken
			}
			return err
		}
		return s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.Actor{Kind: eusaas.ActorUser, ID: id.String(), TenantID: tenant},
			Action: ActionEmailVerified, ResourceType: "user", ResourceID: id.String(), Subject: id.String()})
	})
}

// requiresVerification reports whether the tenant requires a verified e-mail to log in.
func (s *Service) requiresVerification(ctx context.Context, idOrSlug string) bool {
	ti, err := s.resolveTenant(ctx, idOrSlug)
	return err == nil && ti.RequireEmailVerification
}
