package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/jobs"
)

// Audit actions of the password flows. None carries a password or a token.
const (
	ActionPasswordChanged        = "PASSWORD_CHANGED"
	ActionPasswordChangeFailed   = "PASSWORD_CHANGE_FAILED"
	ActionPasswordResetRequested = "PASSWORD_RESET_REQUESTED"
	ActionPasswordReset          = "PASSWORD_RESET"
)

// PasswordResetTTL is how long a reset link works.
const PasswordResetTTL = time.Hour

// PasswordForgotJobKind is the job that does the work of a forgot-password request: looking
// the account up, storing a reset token and queueing the mail. The request only enqueues
// it, so the request takes the same path — and the same time — whether or not the account
// exists: nothing it does depends on the store's answer.
const PasswordForgotJobKind = "auth.password_forgot"

// ErrInvalidResetToken answers every refused reset token: unknown, used, replaced, expired.
var ErrInvalidResetToken = eusaas.Sentinel(eusaas.PermissionDenied, "invalid_reset_token", "the reset token is invalid, used or expired")

var errNoResets = eusaas.E(eusaas.Unavailable, "password reset is not configured")

// ChangePassword replaces the caller's password after checking the current one, and ends
// every other session of the caller (the current one stays). A wrong current password is
// 422 on body.current_password and counts toward the account's login back-off, so a stolen
// access token cannot be used to guess the password. Audited PASSWORD_CHANGED.
func (s *Service) ChangePassword(ctx context.Context, p Principal, current, next string) error {
	uid, err := sessionOwner(p)
	if err != nil {
		return err
	}
	var v eusaas.Violations
	if current == "" || len(current) > 4*MaxPasswordLen {
		v.Add("body.current_password", "is required")
	}
	ValidatePassword(&v, "body.new_password", next)
	if err := v.Err(); err != nil {
		return err
	}
	now := s.now()
	accts := s.accountsOf(p.TenantID)
	u, err := accts.get(ctx, uid)
	if err != nil {
		return notFoundAs(err, ErrUserNotFound)
	}
	key := emailKey("login:acct:", u.Email)
	fc, err := s.d.Limiter.Failures(ctx, p.TenantID, key, now)
	if err != nil {
		return err
	}
	if until := s.cfg.AccountLimit.BlockedUntil(fc); now.Before(until) {
		return &RetryAfterError{Err: eusaas.E(eusaas.ResourceExhausted, "too many wrong passwords, retry later"), After: until.Sub(now)}
	}
	ok, _, err := s.d.Hasher.Verify(ctx, u.PasswordHash, current)
	if err != nil {
		return err
	}
	if !ok {
		_, err1 := s.d.Limiter.RecordFailure(ctx, p.TenantID, key, now, s.cfg.AccountLimit.Window)
		err2 := s.record(ctx, eusaas.AuditEvent{TenantID: p.TenantID, Actor: p.Actor(), Action: ActionPasswordChangeFailed,
			ResourceType: "user", ResourceID: uid.String(), Subject: uid.String()})
		return withCause(eusaas.Invalid("wrong current password",
			eusaas.FieldViolation{Location: "body.current_password", Message: "is not correct"}), err1, err2)
	}
	hash, err := s.d.Hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := accts.setPassword(ctx, uid, hash, now); err != nil {
			return err
		}
		live, err := s.d.Sessions.ListUserSessions(ctx, p.TenantID, uid)
		if err != nil {
			return err
		}
		ended := 0
		for _, x := range live {
			if x.ID.String() == p.SessionID {
				continue
			}
			if err := s.d.Sessions.RevokeSession(ctx, p.TenantID, x.ID, now, "password_changed"); err != nil {
				return err
			}
			ended++
		}
		return s.record(ctx, eusaas.AuditEvent{TenantID: p.TenantID, Actor: p.Actor(), Action: ActionPasswordChanged,
			ResourceType: "user", ResourceID: uid.String(), Subject: uid.String(), Changes: map[string]any{"sessions_revoked": ended}})
	})
	if err != nil {
		return err
	}
	return s.d.Limiter.ResetFailures(ctx, p.TenantID, key)
}

// forgotArgs are the arguments of PasswordForgotJobKind.
type forgotArgs struct {
	Tenant string `json:"tenant,omitempty"` // the X-Tenant-ID header as sent; "" for operators
	Email  string `json:"email"`
}

// ForgotPassword starts a password reset for the account with the email in the tenant
// (tenantIDOrSlug empty: a platform operator). It answers nil whether or not the account (or
// the tenant) exists; with a job queue it only enqueues PasswordForgotJobKind, so its time
// does not depend on the account either. Only a malformed email is refused (422), which says
// nothing about any account. Without a queue the work runs inline (an embedder's choice;
// its timing then does depend on the account).
func (s *Service) ForgotPassword(ctx context.Context, tenantIDOrSlug, email string) error {
	var v eusaas.Violations
	validateEmail(&v, "body.email", email)
	if len(tenantIDOrSlug) > 200 {
		v.Add("header.X-Tenant-ID", "is too long")
	}
	if err := v.Err(); err != nil {
		return err
	}
	if s.d.PasswordResets == nil {
		return errNoResets
	}
	a := forgotArgs{Tenant: strings.TrimSpace(tenantIDOrSlug), Email: NormalizeEmail(email)}
	if s.d.Jobs == nil {
		return s.forgot(ctx, a)
	}
	return s.d.Jobs.Enqueue(ctx, PasswordForgotJobKind, a, &jobs.EnqueueOpts{MaxAttempts: 5})
}

// HandlePasswordForgot is the handler of PasswordForgotJobKind.
func (s *Service) HandlePasswordForgot(ctx context.Context, job jobs.Job) error {
	var a forgotArgs
	if err := job.Decode(&a); err != nil {
		return err
	}
	return s.forgot(ctx, a)
}

// forgot stores a reset token for an existing, active account and queues its mail; for
// anything else it does nothing. A retried job makes a new token, which voids the earlier.
func (s *Service) forgot(ctx context.Context, a forgotArgs) error {
	tenant := eusaas.NilTenant
	if a.Tenant != "" {
		ti, err := s.resolveTenant(ctx, a.Tenant)
		if err != nil {
			if k := eusaas.KindOf(err); k == eusaas.NotFound || k == eusaas.PermissionDenied {
				return nil
			}
			return err
		}
		tenant = ti.ID
	}
	accts := s.accountsOf(tenant)
	u, err := accts.byEmail(ctx, a.Email)
	if err != nil {
		if eusaas.KindOf(err) == eusaas.NotFound {
			return nil
		}
		return err
	}
	if !u.IsActive {
		return nil
	}
	token := newResetToken(tenant)
	now := s.now()
	expires := now.Add(PasswordResetTTL)
	return s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.PasswordResets.SetPasswordReset(ctx, tenant, u.ID, resetHash(token), expires); err != nil {
			return err
		}
		ma := MailArgs{To: u.Email, Template: MailPasswordReset, Token: token, ExpiresAt: expires}
		if !tenant.IsZero() {
			ma.TenantID = tenant.String()
		}
		if err := s.queueMail(ctx, ma); err != nil {
			return err
		}
		return s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: ActionPasswordResetRequested,
			ResourceType: "user", ResourceID: u.ID.String(), Subject: u.ID.String()})
	})
}

// newResetToken is 16 bytes naming the tenant (zero for operators: the token must say where
// its account lives) and 32 random bytes (256 bits), base64url.
func newResetToken(tenant eusaas.TenantID) string {
	var b [48]byte
	id := tenant.UUID()
	copy(b[:16], id[:])
	if _, err := rand.Read(b[16:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func resetHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// ResetPassword sets a new password with a reset token. The token works once and within
// PasswordResetTTL; every session of the account ends, and the account's login back-off is
// lifted. Audited PASSWORD_RESET (without the token).
func (s *Service) ResetPassword(ctx context.Context, token, next string) error {
	var v eusaas.Violations
	ValidatePassword(&v, "body.new_password", next)
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(token))
	if err != nil || len(raw) != 48 {
		if len(v) == 0 {
			return ErrInvalidResetToken
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	if s.d.PasswordResets == nil {
		return errNoResets
	}
	tenant := eusaas.TenantID(uuid.UUID(raw[:16]))
	hash, err := s.d.Hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	now := s.now()
	accts := s.accountsOf(tenant)
	var email string
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		id, err := s.d.PasswordResets.ConsumePasswordReset(ctx, tenant, resetHash(strings.TrimSpace(token)), now)
		if err != nil {
			if eusaas.KindOf(err) == eusaas.NotFound {
				return ErrInvalidResetToken
			}
			return err
		}
		u, err := accts.get(ctx, id)
		if err != nil {
			return notFoundAs(err, ErrInvalidResetToken)
		}
		email = u.Email
		if err := accts.setPassword(ctx, id, hash, now); err != nil {
			return err
		}
		n, err := s.d.Sessions.RevokeUserSessions(ctx, tenant, id, now, "password_reset")
		if err != nil {
			return err
		}
		return s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: accts.actor(id), Action: ActionPasswordReset,
			ResourceType: "user", ResourceID: id.String(), Subject: id.String(), Changes: map[string]any{"sessions_revoked": n}})
	})
	if err != nil {
		return err
	}
	return s.d.Limiter.ResetFailures(ctx, tenant, emailKey("login:acct:", email))
}
