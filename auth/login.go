package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// BackoffPolicy is the brute-force policy of one counter kind: Free failures go unpunished,
// each further one doubles a delay from BaseDelay up to MaxDelay during which every attempt
// is refused, and LockoutAfter failures lock the key for Lockout. A counter is forgotten
// after Window without failures.
type BackoffPolicy struct {
	Free         int
	BaseDelay    time.Duration
	MaxDelay     time.Duration
	LockoutAfter int
	Lockout      time.Duration
	Window       time.Duration
}

// BlockedUntil returns the time before which a key with the count is refused (zero: not).
func (p BackoffPolicy) BlockedUntil(fc FailureCount) time.Time {
	switch {
	case fc.Failures == 0:
		return time.Time{}
	case p.LockoutAfter > 0 && fc.Failures >= p.LockoutAfter:
		return fc.Last.Add(p.Lockout)
	case fc.Failures > p.Free:
		d := p.BaseDelay
		for i := p.Free + 1; i < fc.Failures && d < p.MaxDelay; i++ {
			d *= 2
		}
		return fc.Last.Add(min(d, p.MaxDelay))
	}
	return time.Time{}
}

func emailKey(prefix, email string) string {
	h := sha256.Sum256([]byte(email))
	return prefix + hex.EncodeToString(h[:16])
}

// Login checks credentials and opens a session. TenantIDOrSlug empty logs a platform
// operator in. Every failure — unknown tenant, unknown email, wrong password, inactive
// account, back-off, lockout — is the same ErrInvalidCredentials, and unknown accounts pay
// one (dummy) hash so the time taken does not tell them apart. Failures count per account
// and per client IP (from eusaas.RequestMetaFrom).
func (s *Service) Login(ctx context.Context, in LoginInput) (TokenPair, error) {
	r, err := s.LoginStart(ctx, in)
	if err != nil {
		return TokenPair{}, err
	}
	if r.MFA != nil {
		// An embedder calling Login for an account with a second factor must not get tokens
		// on the password alone.
		return TokenPair{}, ErrMFARequired
	}
	return r.Tokens, nil
}

// LoginStart is Login for callers that speak the second factor: for an account with a
// confirmed TOTP enrolment it answers an MFAChallenge (no tokens; CompleteMFALogin finishes),
// and when the tenant requires a second factor the account lacks, tokens good for enrolling
// one only (LoginResult.EnrolmentRequired).
func (s *Service) LoginStart(ctx context.Context, in LoginInput) (LoginResult, error) {
	pair, mfa, enrol, err := s.login(ctx, in)
	return LoginResult{Tokens: pair, MFA: mfa, EnrolmentRequired: enrol}, err
}

func (s *Service) login(ctx context.Context, in LoginInput) (TokenPair, *MFAChallenge, bool, error) {
	now := s.now()
	email := NormalizeEmail(in.Email)
	meta := eusaas.RequestMetaFrom(ctx)
	operator := strings.TrimSpace(in.TenantIDOrSlug) == ""

	var tenant eusaas.TenantID
	tenantOK := operator
	if !operator {
		ti, err := s.resolveTenant(ctx, in.TenantIDOrSlug)
		switch {
		case err == nil:
			tenant, tenantOK = ti.ID, true
		case eusaas.KindOf(err) == eusaas.NotFound || eusaas.KindOf(err) == eusaas.PermissionDenied:
			// Same answer as a wrong password; the account key is the header's hash then.
		default:
			return TokenPair{}, nil, false, err
		}
	}
	acctKey := emailKey("login:acct:", email)
	if !tenantOK {
		acctKey = emailKey("login:acct:"+strings.ToLower(strings.TrimSpace(in.TenantIDOrSlug))+":", email)
	}
	ipKey := "login:ip:" + meta.IP

	fail := func(reason string, u *User) (TokenPair, *MFAChallenge, bool, error) {
		_, err1 := s.d.Limiter.RecordFailure(ctx, tenant, acctKey, now, s.cfg.AccountLimit.Window)
		var err2 error
		if meta.IP != "" {
			_, err2 = s.d.Limiter.RecordFailure(ctx, eusaas.NilTenant, ipKey, now, s.cfg.IPLimit.Window)
		}
		ev := eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.ActorFrom(ctx), Action: ActionLoginFailed,
			ResourceType: "user", Changes: map[string]any{"reason": reason},
			Personal: map[string]string{"email": email}}
		if u != nil {
			ev.ResourceID, ev.Subject = u.ID.String(), u.ID.String()
		}
		err3 := s.record(ctx, ev)
		return TokenPair{}, nil, false, withCause(ErrInvalidCredentials, err1, err2, err3)
	}

	// Back-off and lockout refuse before any hashing: cheap for us, and a locked key tells
	// an attacker nothing about the account (unknown emails are counted and locked alike).
	acct, err := s.d.Limiter.Failures(ctx, tenant, acctKey, now)
	if err != nil {
		return TokenPair{}, nil, false, err
	}
	var ipc FailureCount
	if meta.IP != "" {
		if ipc, err = s.d.Limiter.Failures(ctx, eusaas.NilTenant, ipKey, now); err != nil {
			return TokenPair{}, nil, false, err
		}
	}
	if now.Before(s.cfg.AccountLimit.BlockedUntil(acct)) || now.Before(s.cfg.IPLimit.BlockedUntil(ipc)) {
		return TokenPair{}, nil, false, withCause(ErrInvalidCredentials, s.record(ctx, eusaas.AuditEvent{TenantID: tenant,
			Actor: eusaas.ActorFrom(ctx), Action: ActionLoginFailed, ResourceType: "user",
			Changes: map[string]any{"reason": "throttled"}, Personal: map[string]string{"email": email}}))
	}
	if len(in.Password) > 4*MaxPasswordLen || email == "" || len(email) > 4*254 || strings.ContainsRune(email, 0) {
		// No stored email can look like this (NUL is not even storable in Postgres text):
		// answer as for an unknown account without asking the store.
		email = ""
		return fail("malformed", nil)
	}

	// An operator login has the zero tenant, so this is the operator store then.
	accts := s.accountsOf(tenant)
	var u User
	found := false
	if tenantOK {
		u, err = accts.byEmail(ctx, email)
		switch {
		case err == nil:
			found = true
		case eusaas.KindOf(err) != eusaas.NotFound:
			return TokenPair{}, nil, false, err
		}
	}
	if !found || !u.IsActive {
		if err := s.d.Hasher.VerifyDummy(ctx, in.Password); err != nil {
			return TokenPair{}, nil, false, err
		}
		if found {
			return fail("inactive", &u)
		}
		return fail("unknown_account", nil)
	}
	ok, rehash, err := s.d.Hasher.Verify(ctx, u.PasswordHash, in.Password)
	if err != nil {
		return TokenPair{}, nil, false, err
	}
	if !ok {
		return fail("wrong_password", &u)
	}

	if err := s.d.Limiter.ResetFailures(ctx, tenant, acctKey); err != nil {
		return TokenPair{}, nil, false, err
	}
	if !operator {
		// After the password check, so the refusal tells nothing to who lacks the password.
		enforced, err := s.ssoEnforced(ctx, u)
		if err != nil {
			return TokenPair{}, nil, false, err
		}
		if enforced {
			return TokenPair{}, nil, false, withCause(ErrSSORequired, s.record(ctx, eusaas.AuditEvent{TenantID: tenant,
				Actor: eusaas.ActorFrom(ctx), Action: ActionLoginFailed, ResourceType: "user", ResourceID: u.ID.String(),
				Subject: u.ID.String(), Changes: map[string]any{"reason": "sso_enforced"}}))
		}
	}
	if !operator && !u.EmailVerified && s.requiresVerification(ctx, in.TenantIDOrSlug) {
		return TokenPair{}, nil, false, ErrEmailNotVerified
	}
	if rehash {
		// Parameters were raised since this hash was made: store one under the current ones
		// now that we hold the plaintext.
		if h, err := s.d.Hasher.Hash(ctx, in.Password); err == nil {
			if err := accts.setPassword(ctx, u.ID, h, now); err != nil {
				return TokenPair{}, nil, false, err
			}
		}
	}
	on, err := s.mfaEnabled(ctx, tenant, u.ID)
	if err != nil {
		return TokenPair{}, nil, false, err
	}
	if on {
		ch, err := s.newMFAToken(u, now)
		return TokenPair{}, &ch, false, err
	}
	enrol, err := s.mfaEnrolmentDue(ctx, u)
	if err != nil {
		return TokenPair{}, nil, false, err
	}
	pair, err := s.openSession(ctx, u, now, nil, enrol)
	return pair, nil, enrol, err
}

// openSession records the login, creates a refresh session and issues its first pair, in
// one transaction, audited LOGIN (changes say how, e.g. {"mfa": "totp"}).
func (s *Service) openSession(ctx context.Context, u User, now time.Time, changes map[string]any, enrolOnly bool) (TokenPair, error) {
	meta := eusaas.RequestMetaFrom(ctx)
	tenant := u.TenantID
	accts := s.accountsOf(tenant)
	var pair TokenPair
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := accts.recordLogin(ctx, u.ID, now); err != nil {
			return err
		}
		secret := newSecret()
		sess := Session{ID: uuid.New(), TenantID: tenant, UserID: u.ID, Counter: 0, TokenHash: secretHash(secret),
			CreatedAt: now, RotatedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTTL), UserAgent: meta.UserAgent, IP: meta.IP}
		if err := s.d.Sessions.CreateSession(ctx, sess); err != nil {
			return err
		}
		var err error
		if pair, err = s.issue(u, sess, secret, now, enrolOnly); err != nil {
			return err
		}
		return s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: accts.actor(u.ID), Action: ActionLogin,
			ResourceType: "session", ResourceID: sess.ID.String(), Subject: u.ID.String(), Changes: changes})
	})
	return pair, err
}

// Authenticate verifies a bearer access token for the HTTP layer: signature, algorithm,
// kid, issuer, audience and times strictly; then that the token is not on the denylist,
// that its session is not revoked and that its account (user, operator or service account)
// still exists and is active. The
// principal carries the account's current role. Every rejection is ErrInvalidToken; a
// failing store is reported as is (fail closed).
func (s *Service) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	raw := strings.TrimSpace(bearer)
	if len(raw) > 7 && strings.EqualFold(raw[:7], "bearer ") {
		raw = strings.TrimSpace(raw[7:])
	}
	if strings.HasPrefix(raw, APIKeyPrefix) {
		return s.authenticateAPIKey(ctx, raw)
	}
	c, err := s.ver.verify(raw)
	if err != nil {
		return Principal{}, err
	}
	var tenant eusaas.TenantID
	if c.TenantID != "" {
		tenant, _ = eusaas.ParseTenantID(c.TenantID) // checked by verify
	}
	denied, err := s.d.Denylist.Denied(ctx, tenant, c.Issuer, c.ID)
	if err != nil {
		return Principal{}, err
	}
	if denied {
		return Principal{}, ErrInvalidToken
	}
	uid, err := uuid.Parse(c.Subject)
	if err != nil {
		return Principal{}, ErrInvalidToken
	}
	if eusaas.ActorKind(c.Kind) == eusaas.ActorService {
		return s.authenticateService(ctx, c, uid)
	}
	u, err := s.accountsOf(tenant).get(ctx, uid)
	if err != nil {
		if eusaas.KindOf(err) == eusaas.NotFound {
			return Principal{}, ErrInvalidToken
		}
		return Principal{}, err
	}
	if !u.IsActive {
		return Principal{}, ErrInvalidToken
	}
	if c.SessionID != "" {
		sid, err := uuid.Parse(c.SessionID)
		if err != nil {
			return Principal{}, ErrInvalidToken
		}
		sess, err := s.d.Sessions.GetSession(ctx, tenant, sid)
		if err != nil {
			if eusaas.KindOf(err) == eusaas.NotFound {
				return Principal{}, ErrInvalidToken
			}
			return Principal{}, err
		}
		if sess.Revoked() || sess.UserID != uid {
			return Principal{}, ErrInvalidToken
		}
	}
	p := Principal{Kind: eusaas.ActorKind(c.Kind), UserID: u.ID.String(), TenantID: tenant, Role: u.Role,
		Email: u.Email, TokenID: c.ID, Issuer: c.Issuer, SessionID: c.SessionID, EnrolmentOnly: c.MFAEnrol}
	if c.ExpiresAt != nil {
		p.Expires = c.ExpiresAt.Time
	}
	return p, nil
}

// Me returns the principal's account. Service accounts and API keys have no user profile
// (PermissionDenied).
func (s *Service) Me(ctx context.Context, p Principal) (User, error) {
	if p.Kind != eusaas.ActorUser && p.Kind != eusaas.ActorOperator {
		return User{}, eusaas.E(eusaas.PermissionDenied, "service accounts and API keys have no user profile")
	}
	id, err := uuid.Parse(p.UserID)
	if err != nil {
		return User{}, ErrInvalidToken
	}
	u, err := s.accountsOf(p.TenantID).get(ctx, id)
	if eusaas.KindOf(err) == eusaas.NotFound {
		return User{}, ErrUserNotFound
	}
	return u, err
}
