package auth

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// UserStore keeps tenant users, in the tenant's own storage (erasing the tenant erases them).
// Emails are stored normalised (NormalizeEmail) and unique per tenant. Every method takes the
// tenant explicitly and never sees another tenant's users: asking tenant B for A's user id is
// NotFound. Methods honour ctx cancellation and take part in the transaction carried by ctx
// (eusaas.TxRunner of the same adapter).
type UserStore interface {
	// CreateUser inserts u. AlreadyExists (ErrEmailTaken) when the email is taken in the tenant.
	CreateUser(ctx context.Context, u User) error
	// CreateUserWithinLimit inserts u like CreateUser, unless the tenant already has limit
	// users or more (counted as CountUsers counts): then it inserts nothing and returns
	// FailedPrecondition (ErrTenantUserLimit). The count and the insert are atomic with
	// respect to every other CreateUserWithinLimit of the same tenant, across processes
	// (Postgres: a per-tenant advisory lock held until the ctx transaction ends), so n
	// concurrent calls at limit-1 create exactly one user. limit <= 0 means no limit.
	CreateUserWithinLimit(ctx context.Context, u User, limit int) error
	// CountUsers reports how many users the tenant has — the seats taken against its
	// max_users. Deactivated users count: a deactivated user still holds a seat (the common
	// SaaS rule), because reactivation (SetUserActive) is then never refused for want of a
	// seat and deactivating users is no way around the limit. Only deletion (erasure) frees
	// a seat. 0 for a tenant without users.
	CountUsers(ctx context.Context, tenant eusaas.TenantID) (int, error)
	// GetUser returns the user; NotFound (ErrUserNotFound) when absent.
	GetUser(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (User, error)
	// GetUserByEmail looks a user up by normalised email; NotFound when absent.
	GetUserByEmail(ctx context.Context, tenant eusaas.TenantID, email string) (User, error)
	// SetUserPassword replaces the password hash (re-hash on login); NotFound when absent.
	SetUserPassword(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, hash string, at time.Time) error
	// SetUserActive (de)activates a user; idempotent; NotFound when absent.
	SetUserActive(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, active bool, at time.Time) error
	// RecordUserLogin sets last_login_at; NotFound when absent.
	RecordUserLogin(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, at time.Time) error
	// DeleteUser removes the user row; returns 0 when it was already gone (idempotent).
	DeleteUser(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (int, error)
	// ListUsers returns one page of the tenant's users matching f, ordered by CreatedAt then
	// ID, with the total count of matches. page is normalised by the caller.
	ListUsers(ctx context.Context, tenant eusaas.TenantID, f UserFilter, page eusaas.Page) (eusaas.List[User], error)
	// UpdateUser applies ch to the user, sets UpdatedAt to at and returns the updated user.
	// NotFound (ErrUserNotFound) when absent. When the change would leave the tenant without
	// an active OWNER it changes nothing and returns FailedPrecondition (ErrLastOwner); the
	// check and the write are atomic with respect to every other UpdateUser and RemoveUser
	// of the tenant, across processes, so two owners demoting each other at once cannot
	// both succeed.
	UpdateUser(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, ch UserChange, at time.Time) (User, error)
	// RemoveUser deletes the user row unless it is the tenant's last active OWNER
	// (ErrLastOwner, atomic as UpdateUser); NotFound when absent.
	RemoveUser(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) error
}

// UserFilter narrows ListUsers; zero fields match everything.
type UserFilter struct {
	Role   Role  // "" for any
	Active *bool // nil for any
}

// UserChange is a partial update of a user: nil fields stay as they are.
type UserChange struct {
	Role     *Role
	IsActive *bool
	FullName *string
}

// KeepsOwner reports whether u, after ch, is still an active OWNER — or was none before.
// Stores use it for the last-owner rule: only a change that takes an active OWNER away
// needs the count of the others.
func (ch UserChange) KeepsOwner(u User) bool {
	if u.Role != RoleOwner || !u.IsActive {
		return true
	}
	return (ch.Role == nil || *ch.Role == RoleOwner) && (ch.IsActive == nil || *ch.IsActive)
}

// Apply returns u with ch applied.
func (ch UserChange) Apply(u User, at time.Time) User {
	if ch.Role != nil {
		u.Role = *ch.Role
	}
	if ch.IsActive != nil {
		u.IsActive = *ch.IsActive
	}
	if ch.FullName != nil {
		u.FullName = *ch.FullName
	}
	u.UpdatedAt = at
	return u
}

// OperatorStore keeps platform operators in platform storage. Same contracts as UserStore
// without the tenant; operators have no role.
type OperatorStore interface {
	CreateOperator(ctx context.Context, u User) error
	GetOperator(ctx context.Context, id uuid.UUID) (User, error)
	GetOperatorByEmail(ctx context.Context, email string) (User, error)
	SetOperatorPassword(ctx context.Context, id uuid.UUID, hash string, at time.Time) error
	SetOperatorActive(ctx context.Context, id uuid.UUID, active bool, at time.Time) error
	RecordOperatorLogin(ctx context.Context, id uuid.UUID, at time.Time) error
	// CountOperators reports how many operators exist (bootstrap creates the first).
	CountOperators(ctx context.Context) (int, error)
}

// ServiceAccountStore keeps service accounts in platform storage (they belong to no tenant).
// Methods honour ctx cancellation and take part in the transaction carried by ctx
// (eusaas.TxRunner of the same adapter). Rows are never deleted: revocation marks them, so a
// revoked account's tokens and credentials are refused rather than looked up in vain.
type ServiceAccountStore interface {
	// CreateServiceAccount inserts a. AlreadyExists when the id or the client id is taken.
	CreateServiceAccount(ctx context.Context, a ServiceAccount) error
	// GetServiceAccount returns the account, revoked or not; NotFound when absent.
	GetServiceAccount(ctx context.Context, id uuid.UUID) (ServiceAccount, error)
	// GetServiceAccountByClientID returns the account with the client id, revoked or not;
	// NotFound when absent.
	GetServiceAccountByClientID(ctx context.Context, clientID string) (ServiceAccount, error)
	// ListServiceAccounts returns the active (unrevoked) accounts ordered by CreatedAt, then
	// ID; an empty slice when none.
	ListServiceAccounts(ctx context.Context) ([]ServiceAccount, error)
	// RevokeServiceAccount sets RevokedAt to at on the active account, atomically. NotFound
	// when there is no active account with the id (absent or already revoked), so of n
	// concurrent revocations exactly one succeeds and the first revocation time is kept.
	RevokeServiceAccount(ctx context.Context, id uuid.UUID, at time.Time) error
}

// SessionStore keeps refresh sessions, one row per session. A zero tenant means an operator
// session (platform storage); otherwise the row lives with the tenant's data. Tenant
// isolation as for UserStore.
type SessionStore interface {
	// CreateSession inserts s; AlreadyExists when the id is taken.
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns the session, revoked or not; NotFound when absent.
	GetSession(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (Session, error)
	// RotateSession advances the session from counter from to from+1 with the new token
	// hash, setting RotatedAt to at — atomically, and only if the stored counter is still
	// from and the session is not revoked. Otherwise it changes nothing and returns an
	// Aborted error (a concurrent rotation or a revocation won); NotFound when absent.
	RotateSession(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, from uint64, newHash []byte, at time.Time) error
	// RevokeSession marks the session revoked with a reason; revoking a revoked session
	// keeps the first revocation and is not an error; NotFound when absent.
	RevokeSession(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, at time.Time, reason string) error
	// RevokeUserSessions revokes every live session of the user; returns how many.
	RevokeUserSessions(ctx context.Context, tenant eusaas.TenantID, userID uuid.UUID, at time.Time, reason string) (int, error)
	// ListUserSessions returns the user's sessions that are not revoked, expired ones
	// included (the caller filters by time), oldest first.
	ListUserSessions(ctx context.Context, tenant eusaas.TenantID, userID uuid.UUID) ([]Session, error)
	// DeleteUserSessions removes every session row of the user (erasure); returns how many.
	DeleteUserSessions(ctx context.Context, tenant eusaas.TenantID, userID uuid.UUID) (int, error)
}

// InvitationStore keeps invitations, hashed, in the tenant's storage.
type InvitationStore interface {
	// CreateInvitation inserts inv; AlreadyExists when the id or token hash is taken.
	CreateInvitation(ctx context.Context, inv Invitation) error
	// ConsumeInvitation marks the unused, unexpired (ExpiresAt after now) invitation with
	// the token hash used, atomically, and returns it. NotFound when there is none — unknown,
	// already used or expired alike — so each invitation is used at most once even under
	// concurrent registrations.
	ConsumeInvitation(ctx context.Context, tenant eusaas.TenantID, tokenHash []byte, now time.Time) (Invitation, error)
	// DeleteInvitationsByEmail removes every invitation for the normalised email (erasure);
	// returns how many.
	DeleteInvitationsByEmail(ctx context.Context, tenant eusaas.TenantID, email string) (int, error)
	// ListPendingInvitations returns one page of the tenant's pending invitations (unused,
	// ExpiresAt after now), ordered by CreatedAt then ID, with the total count of pending
	// ones. TokenHash is left empty: listing never hands out the hash.
	ListPendingInvitations(ctx context.Context, tenant eusaas.TenantID, now time.Time, page eusaas.Page) (eusaas.List[Invitation], error)
	// DeleteInvitation removes the pending invitation with the id and returns it (TokenHash
	// empty); NotFound when there is no pending one (unknown, used or expired), so a used
	// invitation stays as the record of how its user joined.
	DeleteInvitation(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, now time.Time) (Invitation, error)
}

// Denylist holds revoked access token ids until they expire anyway. Shared by every
// server replica (Redis in production).
type Denylist interface {
	// Deny adds (issuer, jti) until the given time; adding twice is not an error.
	Deny(ctx context.Context, tenant eusaas.TenantID, issuer, jti string, until time.Time) error
	// Denied reports whether (issuer, jti) is on the list. An entry past its time may be
	// forgotten (and then is reported false: the token has expired anyway).
	Denied(ctx context.Context, tenant eusaas.TenantID, issuer, jti string) (bool, error)
}

// FailureCount is the state of one brute-force counter.
type FailureCount struct {
	Failures int
	Last     time.Time // time of the last recorded failure
}

// Limiter counts failed logins per key (an account or a client IP), shared by every server
// replica. A zero tenant names a platform-wide key (IPs, operator accounts). The back-off
// policy lives in the service; the store only counts.
type Limiter interface {
	// RecordFailure atomically adds one failure to key, sets Last to now and (re)starts the
	// counter's expiry: window after now the counter is forgotten. Returns the new state.
	RecordFailure(ctx context.Context, tenant eusaas.TenantID, key string, now time.Time, window time.Duration) (FailureCount, error)
	// Failures returns the counter (zero when none or expired).
	Failures(ctx context.Context, tenant eusaas.TenantID, key string, now time.Time) (FailureCount, error)
	// ResetFailures forgets the counter; resetting a missing counter is not an error.
	ResetFailures(ctx context.Context, tenant eusaas.TenantID, key string) error
}

// TenantResolver finds a tenant by id or slug (cmd adapts the tenancy service).
type TenantResolver interface {
	// Resolve returns the tenant; a NotFound error when none.
	Resolve(ctx context.Context, idOrSlug string) (TenantInfo, error)
}

// EmailVerificationStore keeps at most one outstanding e-mail verification per tenant user,
// as the SHA-256 of its token, on the user's row.
type EmailVerificationStore interface {
	// SetEmailVerification replaces the user's outstanding verification with hash, valid
	// until expires. NotFound when the user is absent.
	SetEmailVerification(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, hash []byte, expires time.Time) error
	// ConsumeEmailVerification clears the verification with the hash if it expires after now,
	// marks the user's e-mail verified (UpdatedAt = now) and returns the user id, atomically.
	// NotFound when there is none.
	ConsumeEmailVerification(ctx context.Context, tenant eusaas.TenantID, hash []byte, now time.Time) (uuid.UUID, error)
}

// PasswordResetStore keeps at most one outstanding password reset per account, as the
// SHA-256 of its token, beside the account: with the tenant's users, or for the zero tenant
// with the platform operators. Erasing the account erases its reset.
type PasswordResetStore interface {
	// SetPasswordReset replaces the account's outstanding reset (a new request voids the
	// previous link) with hash, valid until expires. NotFound when the account is absent.
	SetPasswordReset(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, hash []byte, expires time.Time) error
	// ConsumePasswordReset clears the reset with the hash if it expires after now and
	// returns its account's id — atomically, so a token works at most once even under
	// concurrent use. NotFound when there is none (unknown, used, replaced or expired).
	ConsumePasswordReset(ctx context.Context, tenant eusaas.TenantID, hash []byte, now time.Time) (uuid.UUID, error)
}

// MFAStore keeps at most one TOTP enrolment per account, beside the account (the tenant's
// users, or the operators for the zero tenant), so erasing the account erases it. Tenant
// isolation as for UserStore.
type MFAStore interface {
	// SetPendingTOTP replaces the account's pending enrolment (or creates one). It changes
	// nothing and returns FailedPrecondition (ErrMFAEnabled) when a confirmed enrolment
	// exists, atomically; NotFound (ErrUserNotFound) when the account is absent.
	SetPendingTOTP(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, sealed []byte, at time.Time) error
	// GetTOTP returns the enrolment, pending or confirmed; NotFound when there is none.
	GetTOTP(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (TOTPEnrolment, error)
	// ConfirmTOTP turns the pending enrolment into a confirmed one with LastStep step and the
	// recovery hashes, atomically; NotFound when there is no pending enrolment.
	ConfirmTOTP(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, step int64, recovery [][]byte, at time.Time) error
	// UseTOTPStep records step as used if it is after LastStep of the confirmed enrolment,
	// atomically (of concurrent uses of one step exactly one succeeds). Aborted
	// (ErrMFACodeReplayed) when the step is not after LastStep; NotFound when not enabled.
	UseTOTPStep(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, step int64) error
	// UseRecoveryCode removes the recovery hash from the confirmed enrolment and returns how
	// many remain, atomically; NotFound when the hash is not among them.
	UseRecoveryCode(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, hash []byte) (int, error)
	// DeleteTOTP removes the enrolment, pending or confirmed; NotFound when there is none.
	DeleteTOTP(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) error
}

// APIKeyStore keeps a tenant's API keys in the tenant's storage (erasing the tenant erases
// them). Tenant isolation as for UserStore. Rows are kept on revocation.
type APIKeyStore interface {
	// CreateAPIKey inserts k; AlreadyExists when the id or the hash is taken.
	CreateAPIKey(ctx context.Context, k APIKey) error
	// GetAPIKeyByHash returns the key with the hash, revoked or not; NotFound when absent.
	GetAPIKeyByHash(ctx context.Context, tenant eusaas.TenantID, hash []byte) (APIKey, error)
	// ListAPIKeys returns the tenant's active keys, oldest first (CreatedAt, then ID).
	ListAPIKeys(ctx context.Context, tenant eusaas.TenantID) ([]APIKey, error)
	// RevokeAPIKey sets RevokedAt on the active key, atomically; NotFound when there is no
	// active key with the id, so of concurrent revocations one succeeds.
	RevokeAPIKey(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, at time.Time) error
	// TouchAPIKey sets LastUsedAt to at when it is zero or before notAfter; otherwise, and
	// for an unknown key, it does nothing.
	TouchAPIKey(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, at, notAfter time.Time) error
}
