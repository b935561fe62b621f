package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"strings"
	"time"
	"unicode"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// Audit actions of service accounts (token issuance is ActionLogin with a service actor).
const (
	ActionServiceAccountCreated = "SERVICE_ACCOUNT_CREATED"
	ActionServiceAccountRevoked = "SERVICE_ACCOUNT_REVOKED"
)

// GrantClientCredentials is the OAuth 2.0 grant type (RFC 6749 §4.4) services use.
const GrantClientCredentials = "client_credentials"

// ServiceAccount is a machine principal (a metering agent, for instance) of the platform: no
// tenant, no role; its tokens may only ingest usage (Principal.Can). It authenticates with
// ClientID and a secret of which only SecretHash is stored.
type ServiceAccount struct {
	ID         uuid.UUID
	Name       string
	ClientID   string // public identifier, "svc_" + 32 hex digits
	SecretHash []byte // SHA-256 of the client secret
	CreatedAt  time.Time
	CreatedBy  string    // id of the operator who created it
	RevokedAt  time.Time // zero: active
}

// Active reports whether the account is not revoked.
func (a ServiceAccount) Active() bool { return a.RevokedAt.IsZero() }

// ErrServiceAccountNotFound: no active service account with the id.
var ErrServiceAccountNotFound = eusaas.Sentinel(eusaas.NotFound, "service_account_not_found", "service account not found")

// errNoServiceAccounts: the service was built without a ServiceAccountStore.
var errNoServiceAccounts = eusaas.E(eusaas.Unavailable, "service accounts are not configured")

func validateServiceAccountName(name string) error {
	var v eusaas.Violations
	if n := len(strings.TrimSpace(name)); n == 0 || n > 100 {
		v.Add("body.name", "must be 1 to 100 characters")
	} else if strings.ContainsFunc(name, unicode.IsControl) {
		v.Add("body.name", "must not contain control characters")
	}
	return v.Err()
}

// newClientID returns a fresh public client identifier.
func newClientID() string {
	s := newSecret()
	const hexdigits = "0123456789abcdef"
	b := []byte("svc_")
	for _, c := range s[:16] {
		b = append(b, hexdigits[c>>4], hexdigits[c&15])
	}
	return string(b)
}

// CreateServiceAccount creates a service account; only platform operators may (p). The
// client secret is returned once and only its hash is stored.
//
// The secret is 32 random bytes, hashed with plain SHA-256 (hashToken, as invitation
// tokens), not Argon2id: a slow, memory-hard hash exists to make guessing a low-entropy
// human password expensive, but a 256-bit random secret cannot be guessed whatever the hash,
// and Argon2id would only make every token request cost ~19 MiB and tens of milliseconds —
// an easy way to exhaust the hashing semaphore that logins depend on.
func (s *Service) CreateServiceAccount(ctx context.Context, p Principal, name string) (ServiceAccount, string, error) {
	if p.Kind != eusaas.ActorOperator {
		return ServiceAccount{}, "", eusaas.E(eusaas.PermissionDenied, "only platform operators may manage service accounts")
	}
	if s.d.ServiceAccounts == nil {
		return ServiceAccount{}, "", errNoServiceAccounts
	}
	if err := validateServiceAccountName(name); err != nil {
		return ServiceAccount{}, "", err
	}
	secret := newOpaqueToken()
	a := ServiceAccount{ID: uuid.Must(uuid.NewV7()), Name: strings.TrimSpace(name), ClientID: newClientID(),
		SecretHash: hashToken(secret), CreatedAt: s.now(), CreatedBy: p.UserID}
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.ServiceAccounts.CreateServiceAccount(ctx, a); err != nil {
			return err
		}
		return s.record(ctx, eusaas.AuditEvent{Actor: p.Actor(), Action: ActionServiceAccountCreated,
			ResourceType: "service_account", ResourceID: a.ID.String(),
			Changes: map[string]any{"name": a.Name, "client_id": a.ClientID}})
	})
	if err != nil {
		return ServiceAccount{}, "", err
	}
	return a, secret, nil
}

// ListServiceAccounts returns the active service accounts, oldest first; operators only.
func (s *Service) ListServiceAccounts(ctx context.Context, p Principal) ([]ServiceAccount, error) {
	if p.Kind != eusaas.ActorOperator {
		return nil, eusaas.E(eusaas.PermissionDenied, "only platform operators may manage service accounts")
	}
	if s.d.ServiceAccounts == nil {
		return nil, errNoServiceAccounts
	}
	return s.d.ServiceAccounts.ListServiceAccounts(ctx)
}

// RevokeServiceAccount revokes an active service account; operators only. Its access tokens
// stop working at their next Authenticate and its credentials obtain no new ones.
// ErrServiceAccountNotFound when there is no active account with the id.
func (s *Service) RevokeServiceAccount(ctx context.Context, p Principal, id uuid.UUID) error {
	if p.Kind != eusaas.ActorOperator {
		return eusaas.E(eusaas.PermissionDenied, "only platform operators may manage service accounts")
	}
	if s.d.ServiceAccounts == nil {
		return errNoServiceAccounts
	}
	now := s.now()
	return s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.ServiceAccounts.RevokeServiceAccount(ctx, id, now); err != nil {
			if eusaas.KindOf(err) == eusaas.NotFound {
				return ErrServiceAccountNotFound
			}
			return err
		}
		return s.record(ctx, eusaas.AuditEvent{Actor: p.Actor(), Action: ActionServiceAccountRevoked,
			ResourceType: "service_account", ResourceID: id.String()})
	})
}

// ServiceToken is the OAuth 2.0 client-credentials grant: it exchanges a service account's
// client id and secret for an access token (kind "service", sub the account id, no tenant,
// no refresh token). Every failure — unknown client, wrong secret, revoked account, back-off,
// lockout — is ErrInvalidCredentials, counted per client id and per client IP by the same
// limiter and policies as logins.
func (s *Service) ServiceToken(ctx context.Context, clientID, clientSecret string) (TokenPair, error) {
	if s.d.ServiceAccounts == nil {
		return TokenPair{}, errNoServiceAccounts
	}
	now := s.now()
	meta := eusaas.RequestMetaFrom(ctx)
	clientID = strings.TrimSpace(clientID)
	acctKey := emailKey("token:client:", clientID)
	ipKey := "login:ip:" + meta.IP

	fail := func(reason string, a *ServiceAccount) (TokenPair, error) {
		_, err1 := s.d.Limiter.RecordFailure(ctx, eusaas.NilTenant, acctKey, now, s.cfg.AccountLimit.Window)
		var err2 error
		if meta.IP != "" {
			_, err2 = s.d.Limiter.RecordFailure(ctx, eusaas.NilTenant, ipKey, now, s.cfg.IPLimit.Window)
		}
		ev := eusaas.AuditEvent{Actor: eusaas.ActorFrom(ctx), Action: ActionLoginFailed, ResourceType: "service_account",
			Changes: map[string]any{"reason": reason, "grant_type": GrantClientCredentials}}
		if a != nil {
			ev.ResourceID = a.ID.String()
		}
		return TokenPair{}, withCause(ErrInvalidCredentials, err1, err2, s.record(ctx, ev))
	}

	acct, err := s.d.Limiter.Failures(ctx, eusaas.NilTenant, acctKey, now)
	if err != nil {
		return TokenPair{}, err
	}
	var ipc FailureCount
	if meta.IP != "" {
		if ipc, err = s.d.Limiter.Failures(ctx, eusaas.NilTenant, ipKey, now); err != nil {
			return TokenPair{}, err
		}
	}
	if now.Before(s.cfg.AccountLimit.BlockedUntil(acct)) || now.Before(s.cfg.IPLimit.BlockedUntil(ipc)) {
		return TokenPair{}, withCause(ErrInvalidCredentials, s.record(ctx, eusaas.AuditEvent{Actor: eusaas.ActorFrom(ctx),
			Action: ActionLoginFailed, ResourceType: "service_account",
			Changes: map[string]any{"reason": "throttled", "grant_type": GrantClientCredentials}}))
	}
	if clientID == "" || len(clientID) > 64 || len(clientSecret) > 512 {
		return fail("malformed", nil)
	}
	// The hash is computed whether or not the client exists, so the time taken says little.
	presented := hashToken(clientSecret)
	a, err := s.d.ServiceAccounts.GetServiceAccountByClientID(ctx, clientID)
	switch {
	case eusaas.KindOf(err) == eusaas.NotFound:
		return fail("unknown_account", nil)
	case err != nil:
		return TokenPair{}, err
	}
	if subtle.ConstantTimeCompare(presented, a.SecretHash) != 1 {
		return fail("wrong_secret", &a)
	}
	if !a.Active() {
		return fail("inactive", &a)
	}
	if err := s.d.Limiter.ResetFailures(ctx, eusaas.NilTenant, acctKey); err != nil {
		return TokenPair{}, err
	}
	iat := now.Truncate(time.Second)
	exp := iat.Add(s.cfg.AccessTTL)
	c := &Claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: s.cfg.Issuer, Subject: a.ID.String(), Audience: jwt.ClaimStrings{s.cfg.Audience},
		ExpiresAt: jwt.NewNumericDate(exp), IssuedAt: jwt.NewNumericDate(iat), NotBefore: jwt.NewNumericDate(iat),
		ID: uuid.NewString()}, Kind: string(eusaas.ActorService)}
	access, err := signAccessToken(s.d.Keys, c)
	if err != nil {
		return TokenPair{}, err
	}
	if err := s.record(ctx, eusaas.AuditEvent{Actor: eusaas.Actor{Kind: eusaas.ActorService, ID: a.ID.String()},
		Action: ActionLogin, ResourceType: "service_account", ResourceID: a.ID.String(),
		Changes: map[string]any{"grant_type": GrantClientCredentials, "jti": c.ID}}); err != nil {
		return TokenPair{}, err
	}
	return TokenPair{AccessToken: access, TokenType: "Bearer",
		ExpiresIn: int((max(exp.Sub(now), 0) + time.Second - 1) / time.Second), ExpiresAt: exp}, nil
}

// authenticateService completes Authenticate for a service token: the account must still
// exist and be active.
func (s *Service) authenticateService(ctx context.Context, c *Claims, id uuid.UUID) (Principal, error) {
	if s.d.ServiceAccounts == nil {
		return Principal{}, ErrInvalidToken.Wrap(errors.New("service accounts are not configured"))
	}
	a, err := s.d.ServiceAccounts.GetServiceAccount(ctx, id)
	if err != nil {
		if eusaas.KindOf(err) == eusaas.NotFound {
			return Principal{}, ErrInvalidToken
		}
		return Principal{}, err
	}
	if !a.Active() {
		return Principal{}, ErrInvalidToken
	}
	p := Principal{Kind: eusaas.ActorService, UserID: a.ID.String(), TokenID: c.ID, Issuer: c.Issuer}
	if c.ExpiresAt != nil {
		p.Expires = c.ExpiresAt.Time
	}
	return p, nil
}
