package auth

import (
	"errors"
	"time"

	"github.com/eusaas/eusaas"
)

// Errors of the auth module. Every authentication failure a client can cause maps to one of
// the three Unauthenticated sentinels, whose messages never say which check failed: telling
// "unknown email" from "wrong password" or "expired" from "revoked" helps only an attacker.
var (
	// ErrInvalidCredentials answers every failed login: unknown tenant, unknown email, wrong
	// password, deactivated account, back-off or lockout alike.
	ErrInvalidCredentials = eusaas.Sentinel(eusaas.Unauthenticated, "invalid_credentials", "invalid credentials")
	// ErrInvalidToken answers every rejected access token.
	ErrInvalidToken = eusaas.Sentinel(eusaas.Unauthenticated, "invalid_token", "invalid or expired token")
	// ErrInvalidRefreshToken answers every rejected refresh token, reuse included.
	ErrInvalidRefreshToken = eusaas.Sentinel(eusaas.Unauthenticated, "invalid_refresh_token", "invalid or expired refresh token")

	// ErrEmailTaken: a user with the email already exists in the tenant.
	ErrEmailTaken = eusaas.Sentinel(eusaas.AlreadyExists, "email_taken", "a user with this email already exists")
	// ErrInvitationRequired: the tenant does not allow self-registration.
	ErrInvitationRequired = eusaas.Sentinel(eusaas.PermissionDenied, "invitation_required", "registration requires an invitation")
	// ErrInvalidInvitation: the invitation is unknown, used, expired or for another email.
	ErrInvalidInvitation = eusaas.Sentinel(eusaas.PermissionDenied, "invalid_invitation", "invitation is invalid, used or expired")
	// ErrTenantNotFound: the X-Tenant-ID header names no usable tenant.
	ErrTenantNotFound = eusaas.ErrTenantNotFound
	// ErrTenantInactive: the tenant exists but is not ACTIVE (suspended).
	ErrTenantInactive = eusaas.Sentinel(eusaas.PermissionDenied, "tenant_inactive", "tenant is not active")
	// ErrTenantUserLimit: the tenant already has settings.max_users users. FailedPrecondition
	// (409), not ResourceExhausted (429): retrying does not help until an operator raises the
	// limit or a user is erased, so no Retry-After would be honest.
	ErrTenantUserLimit = eusaas.Sentinel(eusaas.FailedPrecondition, "tenant_user_limit", "the tenant has reached its maximum number of users (settings.max_users)")
	// ErrUserNotFound: no such user in the tenant (or operator).
	ErrUserNotFound = eusaas.Sentinel(eusaas.NotFound, "user_not_found", "user not found")
	// ErrLastOwner: the change would leave the tenant without an active OWNER.
	ErrLastOwner = eusaas.Sentinel(eusaas.FailedPrecondition, "last_owner", "the tenant must keep at least one active OWNER")
	// ErrInvitationNotFound: no pending invitation with the id in the tenant.
	ErrInvitationNotFound = eusaas.Sentinel(eusaas.NotFound, "invitation_not_found", "invitation not found")
	// ErrBusy: the password hashing semaphore and its queue are full; retry later.
	ErrBusy = eusaas.Sentinel(eusaas.ResourceExhausted, "auth_busy", "too many concurrent authentication requests, retry later")
)

// RetryAfterError is a ResourceExhausted error that tells the client when to retry. The HTTP
// layer sets the Retry-After header from it (see RetryAfter).
type RetryAfterError struct {
	Err   *eusaas.Error
	After time.Duration
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter reports the retry delay carried by err, if any, rounded up to whole seconds
// (the unit of the Retry-After header).
func RetryAfter(err error) (time.Duration, bool) {
	var ra *RetryAfterError
	if !errors.As(err, &ra) {
		return 0, false
	}
	d := ra.After
	if r := d % time.Second; r != 0 {
		d += time.Second - r
	}
	if d < time.Second {
		d = time.Second
	}
	return d, true
}
