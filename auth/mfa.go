package auth

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/eusaas/eusaas"
)

// Second factor: TOTP (RFC 6238 with SHA-1, 6 digits, 30-second steps, one step of skew
// either way — what every authenticator app speaks) plus ten single-use recovery codes.
// github.com/pquerna/otp makes the key and its otpauth:// URL and computes codes (ADR 0016);
// which step a code belongs to, and so replay refusal, is ours.

// Audit actions of the second factor. None carries a secret, a code or a recovery code.
const (
	ActionMFAEnrolmentStarted = "MFA_ENROLMENT_STARTED"
	ActionMFAEnabled          = "MFA_ENABLED"
	ActionMFADisabled         = "MFA_DISABLED"
	ActionMFAFailed           = "MFA_FAILED"
	ActionMFARecoveryUsed     = "MFA_RECOVERY_CODE_USED"
)

// TOTP parameters (RFC 6238 defaults, as authenticator apps expect them).
const (
	TOTPPeriod  = 30 * time.Second
	TOTPDigits  = 6
	TOTPSkew    = 1 // steps accepted before and after the current one
	MFATokenTTL = 5 * time.Minute
	// RecoveryCodeCount is how many recovery codes an enrolment hands out.
	RecoveryCodeCount = 10
)

// Mail templates of MFA changes.
const (
	MailMFAEnabled  = "mfa_enabled"
	MailMFADisabled = "mfa_disabled"
)

// TOTPEnrolment is an account's TOTP second factor. Secret is sealed by the service (AES-GCM
// under Config.TOTPKey when set): stores keep it as opaque bytes and never hand it out.
type TOTPEnrolment struct {
	Secret      []byte
	CreatedAt   time.Time
	ConfirmedAt time.Time // zero: pending, not yet proven with a code
	// LastStep is the last TOTP step (unix time / 30 s) a code was accepted for: a code of
	// that step or an earlier one is a replay.
	LastStep int64
	// RecoveryHashes are the SHA-256 of the unused recovery codes.
	RecoveryHashes [][]byte
}

// Enabled reports whether the enrolment was confirmed.
func (e TOTPEnrolment) Enabled() bool { return !e.ConfirmedAt.IsZero() }

// Errors of the second factor.
var (
	ErrMFAEnabled      = eusaas.Sentinel(eusaas.FailedPrecondition, "mfa_enabled", "a second factor is already enabled; disable it first")
	ErrMFANotEnabled   = eusaas.Sentinel(eusaas.FailedPrecondition, "mfa_not_enabled", "no second factor is enabled")
	ErrMFANoEnrolment  = eusaas.Sentinel(eusaas.FailedPrecondition, "mfa_no_enrolment", "start the enrolment first (POST /auth/mfa/totp)")
	ErrMFACodeReplayed = eusaas.Sentinel(eusaas.Aborted, "mfa_code_replayed", "this code was already used")
	// ErrMFARequired: Login found a second factor; use LoginStart and CompleteMFALogin.
	ErrMFARequired = eusaas.Sentinel(eusaas.FailedPrecondition, "mfa_required", "a second factor is required")
	// ErrInvalidMFA answers every refused second-factor login: bad or expired mfa_token,
	// wrong, replayed or throttled code alike.
	ErrInvalidMFA = eusaas.Sentinel(eusaas.Unauthenticated, "invalid_mfa", "invalid or expired second-factor code or token")
	// ErrMFAEnrolmentRequired: the tenant requires a second factor and the caller's token is
	// good for enrolling one only.
	ErrMFAEnrolmentRequired = eusaas.Sentinel(eusaas.PermissionDenied, "mfa_enrolment_required", "the tenant requires a second factor: enrol one (POST /auth/mfa/totp, then /auth/mfa/totp/confirm) and refresh the token")
	errNoMFA                = eusaas.E(eusaas.Unavailable, "MFA is not configured")
)

// sealTOTP seals a raw TOTP secret for storage (sealFor with the account as additional
// data, so a sealed secret copied to another account's row does not open).
func (s *Service) sealTOTP(tenant eusaas.TenantID, id uuid.UUID, raw []byte) ([]byte, error) {
	return s.sealFor(totpAD(tenant, id), raw)
}

func (s *Service) openTOTP(tenant eusaas.TenantID, id uuid.UUID, sealed []byte) ([]byte, error) {
	return s.openFor(totpAD(tenant, id), sealed)
}

// sealFor seals a secret for storage. Version 1 is AES-256-GCM under Config.TOTPKey
// (APP_MFA_KEY) with ad as additional data; version 0, without a key, stores it as is.
func (s *Service) sealFor(ad, raw []byte) ([]byte, error) {
	if len(s.cfg.TOTPKey) == 0 {
		return append([]byte{0}, raw...), nil
	}
	g, err := s.totpAEAD()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append([]byte{1}, nonce...)
	return g.Seal(out, nonce, raw, ad), nil
}

func (s *Service) openFor(ad, sealed []byte) ([]byte, error) {
	if len(sealed) == 0 {
		return nil, errors.New("auth: empty sealed secret")
	}
	switch sealed[0] {
	case 0:
		return sealed[1:], nil
	case 1:
		g, err := s.totpAEAD()
		if err != nil {
			return nil, err
		}
		n := g.NonceSize()
		if len(sealed) < 1+n {
			return nil, errors.New("auth: short sealed secret")
		}
		return g.Open(nil, sealed[1:1+n], sealed[1+n:], ad)
	}
	return nil, errors.New("auth: unknown sealed secret version")
}

func (s *Service) totpAEAD() (cipher.AEAD, error) {
	if len(s.cfg.TOTPKey) == 0 {
		return nil, errors.New("auth: the secret is sealed but no Config.TOTPKey is set")
	}
	b, err := aes.NewCipher(s.cfg.TOTPKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func totpAD(tenant eusaas.TenantID, id uuid.UUID) []byte {
	t := tenant.UUID()
	return append(append([]byte("eusaas-totp-v1|"), t[:]...), id[:]...)
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// totpStep finds the step within the skew window whose code is code, comparing every
// candidate in constant time; ok false when none matches.
func totpStep(secret []byte, code string, now time.Time) (int64, bool) {
	code = strings.TrimSpace(code)
	if len(code) != TOTPDigits {
		return 0, false
	}
	enc := b32.EncodeToString(secret)
	cur := now.Unix() / int64(TOTPPeriod/time.Second)
	var found int64
	ok := 0
	for d := int64(-TOTPSkew); d <= TOTPSkew; d++ {
		step := cur + d
		c, err := totp.GenerateCodeCustom(enc, time.Unix(step*int64(TOTPPeriod/time.Second), 0),
			totp.ValidateOpts{Period: uint(TOTPPeriod / time.Second), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(c), []byte(code)) == 1 && ok == 0 {
			found, ok = step, 1
		}
	}
	return found, ok == 1
}

// recoveryHash is the stored form of a recovery code: case and dashes do not matter.
func recoveryHash(code string) []byte {
	c := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(code), "-", ""))
	h := sha256.Sum256([]byte("eusaas-recovery|" + c))
	return h[:]
}

// newRecoveryCode is 50 random bits in ten lower-case base32 characters, "xxxxx-xxxxx".
func newRecoveryCode() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	s := strings.ToLower(b32.EncodeToString(b[:]))[:10]
	return s[:5] + "-" + s[5:]
}

// mfaOwner is the account whose second factor p manages: users and operators only, and a
// token good for enrolment only may do that much.
func (s *Service) mfaOwner(p Principal) (uuid.UUID, error) {
	if s.d.MFA == nil {
		return uuid.Nil, errNoMFA
	}
	return sessionOwner(p)
}

// EnrollTOTP starts (or restarts) a TOTP enrolment for the caller and returns the secret in
// base32 and its otpauth:// URL, the only time either is shown. The enrolment is pending
// until ConfirmTOTP. ErrMFAEnabled when one is already enabled.
func (s *Service) EnrollTOTP(ctx context.Context, p Principal) (secret, url string, err error) {
	uid, err := s.mfaOwner(p)
	if err != nil {
		return "", "", err
	}
	u, err := s.accountsOf(p.TenantID).get(ctx, uid)
	if err != nil {
		return "", "", notFoundAs(err, ErrUserNotFound)
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.cfg.TOTPIssuer, AccountName: u.Email, Period: uint(TOTPPeriod / time.Second),
		SecretSize: 20, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", "", err
	}
	raw, err := b32.DecodeString(key.Secret())
	if err != nil {
		return "", "", err
	}
	sealed, err := s.sealTOTP(p.TenantID, uid, raw)
	if err != nil {
		return "", "", err
	}
	now := s.now()
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.MFA.SetPendingTOTP(ctx, p.TenantID, uid, sealed, now); err != nil {
			return err
		}
		return s.record(ctx, eusaas.AuditEvent{TenantID: p.TenantID, Actor: p.Actor(), Action: ActionMFAEnrolmentStarted,
			ResourceType: "user", ResourceID: uid.String(), Subject: uid.String(), Changes: map[string]any{"method": "totp"}})
	})
	if err != nil {
		return "", "", err
	}
	return key.Secret(), key.URL(), nil
}

// mfaKey is the limiter key of an account's second-factor attempts.
func mfaKey(tenant eusaas.TenantID, id uuid.UUID) string {
	return "mfa:acct:" + tenant.String() + ":" + id.String()
}

// throttledMFA refuses when the account's second-factor counter or the client's IP counter
// is in back-off or lockout.
func (s *Service) throttledMFA(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, now time.Time) (time.Time, error) {
	fc, err := s.d.Limiter.Failures(ctx, tenant, mfaKey(tenant, id), now)
	if err != nil {
		return time.Time{}, err
	}
	until := s.cfg.AccountLimit.BlockedUntil(fc)
	if ip := eusaas.RequestMetaFrom(ctx).IP; ip != "" {
		ipc, err := s.d.Limiter.Failures(ctx, eusaas.NilTenant, "login:ip:"+ip, now)
		if err != nil {
			return time.Time{}, err
		}
		if u := s.cfg.IPLimit.BlockedUntil(ipc); u.After(until) {
			until = u
		}
	}
	if now.Before(until) {
		return until, nil
	}
	return time.Time{}, nil
}

// mfaFailure counts one failed second-factor attempt (account and IP) and audits it.
func (s *Service) mfaFailure(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, actor eusaas.Actor, reason string, now time.Time) error {
	_, err1 := s.d.Limiter.RecordFailure(ctx, tenant, mfaKey(tenant, id), now, s.cfg.AccountLimit.Window)
	var err2 error
	if ip := eusaas.RequestMetaFrom(ctx).IP; ip != "" {
		_, err2 = s.d.Limiter.RecordFailure(ctx, eusaas.NilTenant, "login:ip:"+ip, now, s.cfg.IPLimit.Window)
	}
	err3 := s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: actor, Action: ActionMFAFailed,
		ResourceType: "user", ResourceID: id.String(), Subject: id.String(), Changes: map[string]any{"reason": reason}})
	return errors.Join(err1, err2, err3)
}

// checkSecondFactor verifies a TOTP code (recording its step, so it is not accepted again)
// or, when recovery is true and the code is not a TOTP code, a recovery code (consuming it).
// It answers which kind matched ("totp", "recovery") or "" with the reason.
func (s *Service) checkSecondFactor(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, e TOTPEnrolment, code string, recovery bool, now time.Time) (kind, reason string, err error) {
	raw, err := s.openTOTP(tenant, id, e.Secret)
	if err != nil {
		return "", "", err
	}
	code = strings.TrimSpace(code)
	if step, ok := totpStep(raw, code, now); ok {
		if !e.Enabled() {
			return "totp", "", nil // confirmation records its step itself
		}
		err := s.d.MFA.UseTOTPStep(ctx, tenant, id, step)
		switch {
		case err == nil:
			return "totp", "", nil
		case eusaas.KindOf(err) == eusaas.Aborted:
			return "", "replayed", nil
		default:
			return "", "", err
		}
	}
	if recovery && e.Enabled() && len(code) >= 10 && len(code) <= 32 {
		left, err := s.d.MFA.UseRecoveryCode(ctx, tenant, id, recoveryHash(code))
		switch {
		case err == nil:
			return "recovery", "", s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: s.accountsOf(tenant).actor(id),
				Action: ActionMFARecoveryUsed, ResourceType: "user", ResourceID: id.String(), Subject: id.String(),
				Changes: map[string]any{"remaining": left}})
		case eusaas.KindOf(err) != eusaas.NotFound:
			return "", "", err
		}
	}
	return "", "wrong_code", nil
}

// ConfirmTOTP proves the pending enrolment with a code from the authenticator, enables it
// and returns the ten recovery codes (shown this once; only their hashes are stored). A
// wrong code is 422 on body.code and counts toward the second-factor back-off.
func (s *Service) ConfirmTOTP(ctx context.Context, p Principal, code string) ([]string, error) {
	uid, err := s.mfaOwner(p)
	if err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(code)) != TOTPDigits {
		return nil, eusaas.Invalid("invalid code", eusaas.FieldViolation{Location: "body.code", Message: "must be the 6-digit code of the authenticator"})
	}
	now := s.now()
	if until, err := s.throttledMFA(ctx, p.TenantID, uid, now); err != nil {
		return nil, err
	} else if !until.IsZero() {
		return nil, &RetryAfterError{Err: eusaas.E(eusaas.ResourceExhausted, "too many wrong codes, retry later"), After: until.Sub(now)}
	}
	e, err := s.d.MFA.GetTOTP(ctx, p.TenantID, uid)
	if err != nil {
		return nil, notFoundAs(err, ErrMFANoEnrolment)
	}
	if e.Enabled() {
		return nil, ErrMFAEnabled
	}
	raw, err := s.openTOTP(p.TenantID, uid, e.Secret)
	if err != nil {
		return nil, err
	}
	step, ok := totpStep(raw, code, now)
	if !ok {
		return nil, withCause(eusaas.Invalid("wrong code", eusaas.FieldViolation{Location: "body.code", Message: "is not correct"}),
			s.mfaFailure(ctx, p.TenantID, uid, p.Actor(), "wrong_code", now))
	}
	codes := make([]string, RecoveryCodeCount)
	hashes := make([][]byte, RecoveryCodeCount)
	for i := range codes {
		codes[i] = newRecoveryCode()
		hashes[i] = recoveryHash(codes[i])
	}
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.MFA.ConfirmTOTP(ctx, p.TenantID, uid, step, hashes, now); err != nil {
			return notFoundAs(err, ErrMFANoEnrolment)
		}
		if err := s.mfaMail(ctx, p, uid, MailMFAEnabled); err != nil {
			return err
		}
		return s.record(ctx, eusaas.AuditEvent{TenantID: p.TenantID, Actor: p.Actor(), Action: ActionMFAEnabled,
			ResourceType: "user", ResourceID: uid.String(), Subject: uid.String(),
			Changes: map[string]any{"method": "totp", "recovery_codes": RecoveryCodeCount}})
	})
	if err != nil {
		return nil, err
	}
	return codes, s.d.Limiter.ResetFailures(ctx, p.TenantID, mfaKey(p.TenantID, uid))
}

// DisableTOTP removes the caller's second factor (a pending enrolment too) after proof: a
// current TOTP or recovery code, or the current password. Wrong proofs are 422 and count
// toward the second-factor back-off.
func (s *Service) DisableTOTP(ctx context.Context, p Principal, code, currentPassword string) error {
	uid, err := s.mfaOwner(p)
	if err != nil {
		return err
	}
	if (code == "") == (currentPassword == "") || len(code) > 64 || len(currentPassword) > 4*MaxPasswordLen {
		return eusaas.Invalid("give either code or current_password",
			eusaas.FieldViolation{Location: "body", Message: "exactly one of code and current_password is required"})
	}
	now := s.now()
	if until, err := s.throttledMFA(ctx, p.TenantID, uid, now); err != nil {
		return err
	} else if !until.IsZero() {
		return &RetryAfterError{Err: eusaas.E(eusaas.ResourceExhausted, "too many wrong attempts, retry later"), After: until.Sub(now)}
	}
	e, err := s.d.MFA.GetTOTP(ctx, p.TenantID, uid)
	if err != nil {
		return notFoundAs(err, ErrMFANotEnabled)
	}
	if code != "" {
		kind, reason, err := s.checkSecondFactor(ctx, p.TenantID, uid, e, code, true, now)
		if err != nil {
			return err
		}
		if kind == "" {
			return withCause(eusaas.Invalid("wrong code", eusaas.FieldViolation{Location: "body.code", Message: "is not correct"}),
				s.mfaFailure(ctx, p.TenantID, uid, p.Actor(), reason, now))
		}
	} else {
		u, err := s.accountsOf(p.TenantID).get(ctx, uid)
		if err != nil {
			return notFoundAs(err, ErrUserNotFound)
		}
		ok, _, err := s.d.Hasher.Verify(ctx, u.PasswordHash, currentPassword)
		if err != nil {
			return err
		}
		if !ok {
			return withCause(eusaas.Invalid("wrong current password", eusaas.FieldViolation{Location: "body.current_password", Message: "is not correct"}),
				s.mfaFailure(ctx, p.TenantID, uid, p.Actor(), "wrong_password", now))
		}
	}
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.MFA.DeleteTOTP(ctx, p.TenantID, uid); err != nil {
			return notFoundAs(err, ErrMFANotEnabled)
		}
		if e.Enabled() {
			if err := s.mfaMail(ctx, p, uid, MailMFADisabled); err != nil {
				return err
			}
		}
		return s.record(ctx, eusaas.AuditEvent{TenantID: p.TenantID, Actor: p.Actor(), Action: ActionMFADisabled,
			ResourceType: "user", ResourceID: uid.String(), Subject: uid.String(),
			Changes: map[string]any{"method": "totp", "was_enabled": e.Enabled()}})
	})
	if err != nil {
		return err
	}
	return s.d.Limiter.ResetFailures(ctx, p.TenantID, mfaKey(p.TenantID, uid))
}

// mfaMail queues the notice of an MFA change to the account's address.
func (s *Service) mfaMail(ctx context.Context, p Principal, uid uuid.UUID, template string) error {
	u, err := s.accountsOf(p.TenantID).get(ctx, uid)
	if err != nil {
		return err
	}
	a := MailArgs{To: u.Email, Template: template, ExpiresAt: s.now()}
	if !p.TenantID.IsZero() {
		a.TenantID = p.TenantID.String()
	}
	return s.queueMail(ctx, a)
}

// mfaEnabled reports whether the account has a confirmed second factor.
func (s *Service) mfaEnabled(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (bool, error) {
	if s.d.MFA == nil {
		return false, nil
	}
	e, err := s.d.MFA.GetTOTP(ctx, tenant, id)
	switch {
	case err == nil:
		return e.Enabled(), nil
	case eusaas.KindOf(err) == eusaas.NotFound:
		return false, nil
	}
	return false, err
}

// MFAChallenge is the answer to a password login of an account with a second factor: no
// tokens yet, a short-lived token to present with the code.
type MFAChallenge struct {
	Token     string
	ExpiresIn int // seconds
}

// LoginResult is what LoginStart answers: the token pair, or the MFA challenge.
type LoginResult struct {
	Tokens TokenPair
	MFA    *MFAChallenge
	// EnrolmentRequired: the tenant requires a second factor the user has not enrolled; the
	// tokens are good for enrolling one only (see ErrMFAEnrolmentRequired).
	EnrolmentRequired bool
}

// mfaClaims are the claims of an mfa_token: an RS256 JWT under the access-token keys, with
// its own audience (Config.Audience + ":mfa") and kind "mfa", so Authenticate refuses it as
// an access token (audience and kind) and CompleteMFALogin refuses access tokens.
type mfaClaims struct {
	jwt.RegisteredClaims
	TenantID string `json:"tenant_id,omitempty"`
	Kind     string `json:"kind"`
}

func (s *Service) mfaAudience() string { return s.cfg.Audience + ":mfa" }

func (s *Service) newMFAToken(u User, now time.Time) (MFAChallenge, error) {
	iat := now.Truncate(time.Second)
	c := &mfaClaims{RegisteredClaims: jwt.RegisteredClaims{Issuer: s.cfg.Issuer, Subject: u.ID.String(),
		Audience: jwt.ClaimStrings{s.mfaAudience()}, ExpiresAt: jwt.NewNumericDate(iat.Add(MFATokenTTL)),
		IssuedAt: jwt.NewNumericDate(iat), NotBefore: jwt.NewNumericDate(iat), ID: uuid.NewString()}, Kind: "mfa"}
	if !u.IsOperator() {
		c.TenantID = u.TenantID.String()
	}
	kid, key := s.d.Keys.SigningKey()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = kid
	raw, err := tok.SignedString(key)
	if err != nil {
		return MFAChallenge{}, err
	}
	return MFAChallenge{Token: raw, ExpiresIn: int(MFATokenTTL / time.Second)}, nil
}

func (s *Service) parseMFAToken(raw string) (eusaas.TenantID, uuid.UUID, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > 8192 {
		return eusaas.NilTenant, uuid.Nil, ErrInvalidMFA
	}
	c := &mfaClaims{}
	if _, err := s.mfaParser.ParseWithClaims(raw, c, s.ver.keyFunc); err != nil || c.Kind != "mfa" {
		return eusaas.NilTenant, uuid.Nil, ErrInvalidMFA.Wrap(err)
	}
	id, err := uuid.Parse(c.Subject)
	if err != nil {
		return eusaas.NilTenant, uuid.Nil, ErrInvalidMFA
	}
	tenant := eusaas.NilTenant
	if c.TenantID != "" {
		if tenant, err = eusaas.ParseTenantID(c.TenantID); err != nil {
			return eusaas.NilTenant, uuid.Nil, ErrInvalidMFA
		}
	}
	return tenant, id, nil
}

// CompleteMFALogin finishes a login with the mfa_token of LoginStart and a TOTP code (each
// step's code works once) or a recovery code (each works once). Every failure is
// ErrInvalidMFA, counted per account and client IP like password failures, with the same
// back-off and lockout.
func (s *Service) CompleteMFALogin(ctx context.Context, mfaToken, code string) (TokenPair, error) {
	if s.d.MFA == nil {
		return TokenPair{}, errNoMFA
	}
	tenant, uid, err := s.parseMFAToken(mfaToken)
	if err != nil {
		return TokenPair{}, err
	}
	now := s.now()
	accts := s.accountsOf(tenant)
	if until, err := s.throttledMFA(ctx, tenant, uid, now); err != nil {
		return TokenPair{}, err
	} else if !until.IsZero() {
		return TokenPair{}, withCause(ErrInvalidMFA, s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: accts.actor(uid),
			Action: ActionMFAFailed, ResourceType: "user", ResourceID: uid.String(), Subject: uid.String(),
			Changes: map[string]any{"reason": "throttled"}}))
	}
	if !tenant.IsZero() {
		if _, err := s.resolveTenant(ctx, tenant.String()); err != nil {
			return TokenPair{}, ErrInvalidMFA.Wrap(err)
		}
	}
	u, err := accts.get(ctx, uid)
	if err != nil || !u.IsActive {
		return TokenPair{}, ErrInvalidMFA.Wrap(err)
	}
	e, err := s.d.MFA.GetTOTP(ctx, tenant, uid)
	if err != nil || !e.Enabled() {
		return TokenPair{}, ErrInvalidMFA.Wrap(err)
	}
	if len(code) > 64 {
		code = ""
	}
	kind, reason, err := s.checkSecondFactor(ctx, tenant, uid, e, code, true, now)
	if err != nil {
		return TokenPair{}, err
	}
	if kind == "" {
		return TokenPair{}, withCause(ErrInvalidMFA, s.mfaFailure(ctx, tenant, uid, accts.actor(uid), reason, now))
	}
	if err := s.d.Limiter.ResetFailures(ctx, tenant, mfaKey(tenant, uid)); err != nil {
		return TokenPair{}, err
	}
	return s.openSession(ctx, u, now, map[string]any{"mfa": kind}, false)
}

// mfaEnrolmentDue reports whether u's tenant requires a second factor that u lacks.
func (s *Service) mfaEnrolmentDue(ctx context.Context, u User) (bool, error) {
	if u.IsOperator() || s.d.MFA == nil {
		return false, nil
	}
	ti, err := s.resolveTenant(ctx, u.TenantID.String())
	if err != nil || !ti.MFARequired {
		return false, nil
	}
	on, err := s.mfaEnabled(ctx, u.TenantID, u.ID)
	return !on, err
}
