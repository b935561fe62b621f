package auth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/jobs"
)

// The Service's flows live one file per seam — login.go (login, verification, Me),
// session.go (token issue, refresh, logout), registration.go (registration, invitations),
// user.go, operator.go, serviceaccount.go — and reach tenant users and operators through the
// one accounts view of account.go, so no flow is written twice for the two kinds of account.

// Audit actions recorded by the service.
const (
	ActionLogin             = "LOGIN"
	ActionLoginFailed       = "LOGIN_FAILED"
	ActionLogout            = "LOGOUT"
	ActionRefreshReuse      = "REFRESH_REUSE"
	ActionRegister          = "USER_REGISTERED"
	ActionInvitationCreated = "INVITATION_CREATED"
	ActionUserDeactivated   = "USER_DEACTIVATED"
	ActionUserActivated     = "USER_ACTIVATED"
	ActionOperatorCreated   = "OPERATOR_CREATED"
)

// Config tunes the service. Zero fields take the defaults of DefaultConfig.
type Config struct {
	Issuer        string        // iss; default "eu-multi-tenant-platform"
	Audience      string        // aud; default "eusaas-api"
	AccessTTL     time.Duration // default 15m
	RefreshTTL    time.Duration // absolute session lifetime; default 7 days
	RefreshGrace  time.Duration // window to replay the previous refresh token; default 30s
	Leeway        time.Duration // clock skew on exp/nbf/iat; default and maximum 30s
	InvitationTTL time.Duration // default 7 days
	// TOTPKey (32 bytes) seals TOTP secrets at rest with AES-256-GCM; without it they are
	// stored unsealed (still never logged or shown after enrolment).
	TOTPKey []byte
	// TOTPIssuer names the service in authenticator apps; default "eusaas".
	TOTPIssuer string
	// AccountLimit and IPLimit are the brute-force policies per account and per client IP.
	AccountLimit BackoffPolicy
	IPLimit      BackoffPolicy
	// SSOCallbackURL is the redirect URI registered at tenants' IdPs (APP_PUBLIC_URL +
	// /api/v1/auth/sso/callback); without it SSO answers Unavailable.
	SSOCallbackURL string
	// SSOAllowInsecureIssuer accepts http:// issuers on loopback hosts (tests, local IdPs).
	SSOAllowInsecureIssuer bool
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Issuer: "eu-multi-tenant-platform", Audience: "eusaas-api",
		AccessTTL: 15 * time.Minute, RefreshTTL: 7 * 24 * time.Hour, RefreshGrace: 30 * time.Second,
		Leeway: MaxLeeway, InvitationTTL: 7 * 24 * time.Hour,
		AccountLimit: BackoffPolicy{Free: 5, BaseDelay: time.Second, MaxDelay: 5 * time.Minute,
			LockoutAfter: 10, Lockout: 15 * time.Minute, Window: 15 * time.Minute},
		IPLimit: BackoffPolicy{Free: 20, BaseDelay: time.Second, MaxDelay: time.Minute,
			LockoutAfter: 100, Lockout: 15 * time.Minute, Window: 15 * time.Minute},
	}
}

func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	if c.Issuer == "" {
		c.Issuer = d.Issuer
	}
	if c.Audience == "" {
		c.Audience = d.Audience
	}
	if c.AccessTTL <= 0 {
		c.AccessTTL = d.AccessTTL
	}
	if c.RefreshTTL <= 0 {
		c.RefreshTTL = d.RefreshTTL
	}
	if c.RefreshGrace <= 0 {
		c.RefreshGrace = d.RefreshGrace
	}
	if c.Leeway <= 0 {
		c.Leeway = d.Leeway
	}
	if c.TOTPIssuer == "" {
		c.TOTPIssuer = "eusaas"
	}
	if n := len(c.TOTPKey); n != 0 && n != 32 {
		return c, eusaas.E(eusaas.InvalidArgument, "auth: TOTPKey must be 32 bytes")
	}
	if c.InvitationTTL <= 0 {
		c.InvitationTTL = d.InvitationTTL
	}
	if c.AccountLimit == (BackoffPolicy{}) {
		c.AccountLimit = d.AccountLimit
	}
	if c.IPLimit == (BackoffPolicy{}) {
		c.IPLimit = d.IPLimit
	}
	if c.Leeway > MaxLeeway {
		return c, eusaas.Errorf(eusaas.InvalidArgument, "auth: leeway above %s", MaxLeeway)
	}
	for _, p := range []*BackoffPolicy{&c.AccountLimit, &c.IPLimit} {
		// The counter must outlive the lockout, or the lock would lift early.
		p.Window = max(p.Window, p.Lockout, p.MaxDelay)
	}
	return c, nil
}

// Deps are the ports the service runs on. Every field is required except Recorder
// (default eusaas.Discard), Clock (default eusaas.SystemClock), Tx (default eusaas.NoTx;
// give the adapter's TxRunner so registration consumes an invitation and creates the user
// atomically) and ServiceAccounts (without it service accounts answer Unavailable and
// service tokens are refused).
type Deps struct {
	Users       UserStore
	Operators   OperatorStore
	Sessions    SessionStore
	Invitations InvitationStore
	// ServiceAccounts keeps machine principals (client-credentials grant).
	ServiceAccounts ServiceAccountStore
	Denylist        Denylist
	Limiter         Limiter
	Keys            Keys
	Tenants         TenantResolver
	Hasher          *Hasher
	Tx              eusaas.TxRunner
	Recorder        eusaas.Recorder
	Clock           eusaas.Clock
	// PasswordResets keeps password reset tokens; without it forgot/reset answer
	// Unavailable.
	PasswordResets PasswordResetStore
	// EmailVerifications keeps e-mail verification tokens; without it self-registered users
	// get no verification mail (and stay unverified).
	EmailVerifications EmailVerificationStore
	// MFA keeps TOTP enrolments; without it MFA answers Unavailable and logins never ask
	// for a second factor.
	MFA MFAStore
	// APIKeys keeps tenant API keys; without it they answer Unavailable and eusk_ bearer
	// tokens are refused.
	APIKeys APIKeyStore
	// Jobs queues the mail jobs (MailJobKind; register MailHandler for it). Optional:
	// without it no mail is sent and tokens reach people only through API answers.
	Jobs jobs.Queue
	// SSO, SSOStates and OIDC run single sign-on per tenant; without all three (and
	// Config.SSOCallbackURL) SSO answers Unavailable and password login is never refused
	// for SSO.
	SSO       SSOConfigStore
	SSOStates SSOStateStore
	OIDC      OIDCProvider
}

// Service is the auth module: registration, login, refresh, logout, verification of access
// tokens, invitations, operators and subject erasure.
type Service struct {
	d   Deps
	cfg Config
	ver *verifier
	// mfaParser verifies mfa_tokens: the access-token rules with the MFA audience.
	mfaParser *jwt.Parser
}

// NewService returns a Service. It fails when a required port is missing or the config is
// out of bounds.
func NewService(d Deps, cfg Config) (*Service, error) {
	if d.Users == nil || d.Operators == nil || d.Sessions == nil || d.Invitations == nil ||
		d.Denylist == nil || d.Limiter == nil || d.Keys == nil || d.Tenants == nil || d.Hasher == nil {
		return nil, eusaas.E(eusaas.InvalidArgument, "auth: every port of Deps is required")
	}
	if d.Recorder == nil {
		d.Recorder = eusaas.Discard
	}
	if d.Clock == nil {
		d.Clock = eusaas.SystemClock
	}
	if d.Tx == nil {
		d.Tx = eusaas.NoTx
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Service{d: d, cfg: cfg, ver: newVerifier(d.Keys, cfg.Issuer, cfg.Audience, cfg.Leeway, d.Clock),
		mfaParser: jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}), jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience+":mfa"), jwt.WithLeeway(cfg.Leeway), jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(), jwt.WithTimeFunc(d.Clock.Now), jwt.WithStrictDecoding())}, nil
}

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

// JWKS returns the published key set.
func (s *Service) JWKS() JWKSet { return s.d.Keys.JWKS() }

func (s *Service) now() time.Time { return s.d.Clock.Now().UTC().Truncate(time.Microsecond) }

// resolveTenant maps the tenant header to an ACTIVE tenant.
func (s *Service) resolveTenant(ctx context.Context, idOrSlug string) (TenantInfo, error) {
	ti, err := s.d.Tenants.Resolve(ctx, strings.TrimSpace(idOrSlug))
	if err != nil {
		if eusaas.KindOf(err) == eusaas.NotFound || eusaas.KindOf(err) == eusaas.InvalidArgument {
			return ti, ErrTenantNotFound.Wrap(err)
		}
		return ti, err
	}
	if ti.ID.IsZero() {
		// The zero tenant names the platform (operators' accounts and sessions): a resolver
		// answering it for a tenant header must not reach operator accounts, so fail closed.
		return ti, ErrTenantNotFound
	}
	switch ti.Status {
	case TenantActive:
		return ti, nil
	case "SUSPENDED":
		return ti, ErrTenantInactive
	}
	return ti, ErrTenantNotFound
}

func (s *Service) record(ctx context.Context, ev eusaas.AuditEvent) error {
	ev.Meta = eusaas.RequestMetaFrom(ctx)
	return s.d.Recorder.Record(ctx, ev)
}

// withCause returns the client-facing sentinel carrying any side failures (counter or audit
// writes) as its log-only cause: the caller still sees the 401, operators see the cause.
func withCause(sentinel *eusaas.Error, side ...error) error {
	if err := errors.Join(side...); err != nil {
		return sentinel.Wrap(err)
	}
	return sentinel
}
