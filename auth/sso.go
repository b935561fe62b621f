package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// Single sign-on per tenant with OpenID Connect (authorization code + PKCE S256). The
// module keeps the flow — state, nonce and verifier stored server-side and single use, the
// tenant's rules (allowed domains, default role, seats, enforcement), linking and
// just-in-time provisioning, audit — and leaves the protocol's wire work (discovery, the
// code exchange, the ID token's signature, issuer, audience, expiry and nonce) to an
// OIDCProvider adapter (adapters/oidc), so the module stays free of an OIDC library.

// Audit actions of SSO. None carries the client secret, a code, a state, a nonce or a token.
const (
	ActionSSOConfigured  = "SSO_CONFIGURED"
	ActionSSORemoved     = "SSO_REMOVED"
	ActionSSOLoginFailed = "SSO_LOGIN_FAILED"
	ActionSSOProvisioned = "SSO_USER_PROVISIONED"
)

// SSOStateTTL is how long a started sign-in may take at the IdP.
const SSOStateTTL = 10 * time.Minute

// SSOConfig is a tenant's OpenID Connect configuration. SealedSecret is the client secret
// sealed by the service (like TOTP secrets, under Config.TOTPKey): stores keep it opaque.
type SSOConfig struct {
	TenantID       eusaas.TenantID
	Issuer         string
	ClientID       string
	SealedSecret   []byte // empty: a public client (PKCE only)
	AllowedDomains []string
	DefaultRole    Role
	Enforce        bool
	UpdatedAt      time.Time
}

// SSOState is one started sign-in, kept server-side until the callback consumes it. Only the
// SHA-256 of the state parameter is stored.
type SSOState struct {
	StateHash []byte
	TenantID  eusaas.TenantID
	Nonce     string
	Verifier  string // PKCE code verifier
	CreatedAt time.Time
	ExpiresAt time.Time
}

// SSOConfigStore keeps one SSO configuration per tenant, in the tenant's storage. Tenant
// isolation as for UserStore.
type SSOConfigStore interface {
	// PutSSOConfig creates or replaces the tenant's configuration.
	PutSSOConfig(ctx context.Context, c SSOConfig) error
	// GetSSOConfig returns the configuration; NotFound when the tenant has none.
	GetSSOConfig(ctx context.Context, tenant eusaas.TenantID) (SSOConfig, error)
	// DeleteSSOConfig removes it; NotFound when the tenant has none.
	DeleteSSOConfig(ctx context.Context, tenant eusaas.TenantID) error
}

// SSOStateStore keeps started sign-ins in platform storage (the callback does not yet know
// the tenant).
type SSOStateStore interface {
	// PutSSOState inserts st; AlreadyExists when the hash is taken.
	PutSSOState(ctx context.Context, st SSOState) error
	// ConsumeSSOState removes the state with the hash and returns it if it expires after
	// now, atomically: of concurrent consumptions exactly one succeeds. NotFound when there
	// is none — unknown, used or expired alike (an expired one is removed too).
	ConsumeSSOState(ctx context.Context, hash []byte, now time.Time) (SSOState, error)
	// PurgeSSOStates removes the states that expired at or before now; returns how many.
	PurgeSSOStates(ctx context.Context, now time.Time) (int, error)
}

// OIDCClient is what an OIDCProvider needs to speak to a tenant's IdP.
type OIDCClient struct {
	Issuer       string
	ClientID     string
	ClientSecret string // empty: a public client
	RedirectURL  string
	// AllowInsecure accepts an http:// issuer (tests and local IdPs).
	AllowInsecure bool
}

// OIDCIdentity is what a verified ID token says about the user.
type OIDCIdentity struct {
	Issuer        string
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
}

// OIDCProvider is the relying-party side of OpenID Connect.
type OIDCProvider interface {
	// AuthCodeURL discovers the issuer and returns its authorization URL for the code flow
	// with the state, nonce and S256 code challenge.
	AuthCodeURL(ctx context.Context, c OIDCClient, state, nonce, codeChallenge string) (string, error)
	// Exchange redeems the code with the verifier and verifies the ID token: signature
	// against the issuer's keys, issuer, audience, expiry and nonce. Failures are
	// *OIDCError.
	Exchange(ctx context.Context, c OIDCClient, code, codeVerifier, nonce string) (OIDCIdentity, error)
}

// OIDCError is a refused OpenID Connect step; Reason is a short code for the audit trail
// ("discovery", "code_exchange", "issuer", "audience", "signature", "expired", "nonce",
// "id_token") and never carries a secret.
type OIDCError struct {
	Reason string
	Err    error
}

func (e *OIDCError) Error() string { return "oidc: " + e.Reason + ": " + e.Err.Error() }
func (e *OIDCError) Unwrap() error { return e.Err }

// Errors of SSO.
var (
	ErrSSONotConfigured = eusaas.Sentinel(eusaas.NotFound, "sso_not_configured", "single sign-on is not configured for this tenant")
	// ErrSSOFailed answers every refused callback; the message says which check failed.
	ErrSSOFailed = eusaas.Sentinel(eusaas.Unauthenticated, "sso_failed", "single sign-on failed")
	// errSSOMalformed: a callback without state or code is a malformed request (a 4xx
	// that is not 401: nothing was authenticated or refused yet).
	errSSOMalformed = eusaas.Sentinel(eusaas.InvalidArgument, "sso_invalid_callback", "single sign-on failed")
	// ErrSSORequired: the tenant enforces SSO and the account is no OWNER.
	ErrSSORequired = eusaas.Sentinel(eusaas.PermissionDenied, "sso_required", "this tenant requires single sign-on: use GET /api/v1/auth/sso/{tenant}/start")
	errNoSSO       = eusaas.E(eusaas.Unavailable, "SSO is not configured on this server")
)

// SSOInput is a tenant's SSO configuration as its OWNER sets it.
type SSOInput struct {
	Issuer         string
	ClientID       string
	ClientSecret   string
	AllowedDomains []string
	DefaultRole    Role
	Enforce        bool
}

func (s *Service) ssoReady() error {
	if s.d.SSO == nil || s.d.SSOStates == nil || s.d.OIDC == nil || s.cfg.SSOCallbackURL == "" {
		return errNoSSO
	}
	return nil
}

func ssoAD(tenant eusaas.TenantID) []byte {
	t := tenant.UUID()
	return append([]byte("eusaas-sso-secret-v1|"), t[:]...)
}

// validIssuer accepts an https URL, or http on a loopback host when insecure issuers are
// allowed: the server fetches the issuer's documents, so an OWNER must not be able to make
// it talk plain HTTP to the network.
func validIssuer(raw string, insecure bool) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		if !insecure {
			return false
		}
		h := u.Hostname()
		ip := net.ParseIP(h)
		return h == "localhost" || (ip != nil && ip.IsLoopback())
	}
	return false
}

// PutSSO sets the tenant's SSO configuration (callers check the OWNER permission). The
// secret is sealed and never returned, logged or audited.
func (s *Service) PutSSO(ctx context.Context, tenant eusaas.TenantID, in SSOInput) (SSOConfig, error) {
	if err := s.ssoReady(); err != nil {
		return SSOConfig{}, err
	}
	var bad []eusaas.FieldViolation
	in.Issuer = strings.TrimRight(strings.TrimSpace(in.Issuer), "/")
	if !validIssuer(in.Issuer, s.cfg.SSOAllowInsecureIssuer) {
		bad = append(bad, eusaas.FieldViolation{Location: "body.issuer", Message: "must be an https URL without query or fragment"})
	}
	in.ClientID = strings.TrimSpace(in.ClientID)
	if in.ClientID == "" || len(in.ClientID) > 255 {
		bad = append(bad, eusaas.FieldViolation{Location: "body.client_id", Message: "required, at most 255 characters"})
	}
	if len(in.ClientSecret) > 1024 {
		bad = append(bad, eusaas.FieldViolation{Location: "body.client_secret", Message: "at most 1024 characters"})
	}
	switch in.DefaultRole {
	case RoleAdmin, RoleMember, RoleViewer:
	case "":
		in.DefaultRole = RoleMember
	default:
		bad = append(bad, eusaas.FieldViolation{Location: "body.default_role", Message: "must be ADMIN, MEMBER or VIEWER (never OWNER)"})
	}
	var domains []string
	for _, d := range in.AllowedDomains {
		d = strings.ToLower(strings.TrimSpace(d))
		if d == "" || len(d) > 253 || strings.ContainsAny(d, "@/ :") || !strings.Contains(d, ".") {
			bad = append(bad, eusaas.FieldViolation{Location: "body.allowed_domains", Message: "each must be a domain name such as example.com"})
			break
		}
		if !slices.Contains(domains, d) {
			domains = append(domains, d)
		}
	}
	if len(domains) == 0 && len(bad) == 0 {
		bad = append(bad, eusaas.FieldViolation{Location: "body.allowed_domains", Message: "at least one domain"})
	}
	if len(bad) > 0 {
		return SSOConfig{}, eusaas.Invalid("invalid SSO configuration", bad...)
	}
	c := SSOConfig{TenantID: tenant, Issuer: in.Issuer, ClientID: in.ClientID, AllowedDomains: domains,
		DefaultRole: in.DefaultRole, Enforce: in.Enforce, UpdatedAt: s.now()}
	if in.ClientSecret != "" {
		sealed, err := s.sealFor(ssoAD(tenant), []byte(in.ClientSecret))
		if err != nil {
			return SSOConfig{}, err
		}
		c.SealedSecret = sealed
	}
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.SSO.PutSSOConfig(ctx, c); err != nil {
			return err
		}
		return s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.ActorFrom(ctx), Action: ActionSSOConfigured,
			ResourceType: "sso", ResourceID: tenant.String(), Changes: map[string]any{"issuer": c.Issuer, "client_id": c.ClientID,
				"allowed_domains": c.AllowedDomains, "default_role": string(c.DefaultRole), "enforce": c.Enforce,
				"client_secret_set": len(c.SealedSecret) > 0}})
	})
	return c, err
}

// GetSSO returns the tenant's configuration (SealedSecret left empty);
// ErrSSONotConfigured when none.
func (s *Service) GetSSO(ctx context.Context, tenant eusaas.TenantID) (SSOConfig, error) {
	if err := s.ssoReady(); err != nil {
		return SSOConfig{}, err
	}
	c, err := s.d.SSO.GetSSOConfig(ctx, tenant)
	if eusaas.KindOf(err) == eusaas.NotFound {
		return SSOConfig{}, ErrSSONotConfigured
	}
	if len(c.SealedSecret) > 0 {
		c.SealedSecret = []byte{} // non-nil: "a secret is set", without it
	}
	return c, err
}

// DeleteSSO removes the tenant's configuration (and with it enforcement).
func (s *Service) DeleteSSO(ctx context.Context, tenant eusaas.TenantID) error {
	if err := s.ssoReady(); err != nil {
		return err
	}
	return s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.SSO.DeleteSSOConfig(ctx, tenant); err != nil {
			if eusaas.KindOf(err) == eusaas.NotFound {
				return ErrSSONotConfigured
			}
			return err
		}
		return s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.ActorFrom(ctx), Action: ActionSSORemoved,
			ResourceType: "sso", ResourceID: tenant.String()})
	})
}

func randomB64(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func stateHash(state string) []byte {
	h := sha256.Sum256([]byte("eusaas-sso-state|" + state))
	return h[:]
}

// StartSSO begins a sign-in for the tenant (id or slug) and returns the IdP's authorization
// URL. State, nonce and PKCE verifier are 256-bit random values; only the state's hash, the
// nonce and the verifier are kept, for SSOStateTTL.
func (s *Service) StartSSO(ctx context.Context, tenantIDOrSlug string) (string, error) {
	if err := s.ssoReady(); err != nil {
		return "", err
	}
	ti, err := s.resolveTenant(ctx, tenantIDOrSlug)
	if err != nil {
		return "", err
	}
	c, err := s.d.SSO.GetSSOConfig(ctx, ti.ID)
	if err != nil {
		if eusaas.KindOf(err) == eusaas.NotFound {
			return "", ErrSSONotConfigured
		}
		return "", err
	}
	client, err := s.oidcClient(c)
	if err != nil {
		return "", err
	}
	now := s.now()
	state, nonce, verifier := randomB64(32), randomB64(32), randomB64(32)
	ch := sha256.Sum256([]byte(verifier))
	u, err := s.d.OIDC.AuthCodeURL(ctx, client, state, nonce, base64.RawURLEncoding.EncodeToString(ch[:]))
	if err != nil {
		reason := "discovery"
		var oe *OIDCError
		if errors.As(err, &oe) {
			reason = oe.Reason
		}
		return "", s.refuseSSO(ctx, ti.ID, reason, "", err)
	}
	if _, err := s.d.SSOStates.PurgeSSOStates(ctx, now); err != nil {
		return "", err
	}
	if err := s.d.SSOStates.PutSSOState(ctx, SSOState{StateHash: stateHash(state), TenantID: ti.ID, Nonce: nonce,
		Verifier: verifier, CreatedAt: now, ExpiresAt: now.Add(SSOStateTTL)}); err != nil {
		return "", err
	}
	return u, nil
}

func (s *Service) oidcClient(c SSOConfig) (OIDCClient, error) {
	out := OIDCClient{Issuer: c.Issuer, ClientID: c.ClientID, RedirectURL: s.cfg.SSOCallbackURL,
		AllowInsecure: s.cfg.SSOAllowInsecureIssuer}
	if len(c.SealedSecret) > 0 {
		raw, err := s.openFor(ssoAD(c.TenantID), c.SealedSecret)
		if err != nil {
			return OIDCClient{}, err
		}
		out.ClientSecret = string(raw)
	}
	return out, nil
}

// refuseSSO audits a refused sign-in (reason only, never the code, state or tokens) and
// returns the client-facing problem, the cause kept for the logs.
func (s *Service) refuseSSO(ctx context.Context, tenant eusaas.TenantID, reason, email string, cause error) error {
	ev := eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.ActorFrom(ctx), Action: ActionSSOLoginFailed,
		ResourceType: "sso", ResourceID: tenant.String(), Changes: map[string]any{"reason": reason}}
	if tenant.IsZero() {
		ev.ResourceID = ""
	}
	if email != "" {
		ev.Personal = map[string]string{"email": email}
	}
	err := s.record(ctx, ev)
	base := ErrSSOFailed
	if reason == "missing_state" || reason == "missing_code" {
		base = errSSOMalformed
	}
	e := base.With("single sign-on failed: " + strings.ReplaceAll(reason, "_", " "))
	if j := errors.Join(cause, err); j != nil {
		return e.Wrap(j)
	}
	return e
}

// SSOCallback is what the IdP sends back to the callback URL.
type SSOCallback struct {
	State, Code, Error string
}

// CompleteSSO finishes a sign-in: it consumes the state (single use), redeems the code and
// has the ID token verified, applies the tenant's rules, links the user with the e-mail or
// provisions one with the default role, and opens a session. Every refusal is
// ErrSSOFailed, audited SSO_LOGIN_FAILED with its reason.
func (s *Service) CompleteSSO(ctx context.Context, in SSOCallback) (TokenPair, error) {
	if err := s.ssoReady(); err != nil {
		return TokenPair{}, err
	}
	now := s.now()
	if in.State == "" || len(in.State) > 512 {
		return TokenPair{}, s.refuseSSO(ctx, eusaas.NilTenant, "missing_state", "", nil)
	}
	st, err := s.d.SSOStates.ConsumeSSOState(ctx, stateHash(in.State), now)
	if err != nil {
		if eusaas.KindOf(err) == eusaas.NotFound {
			return TokenPair{}, s.refuseSSO(ctx, eusaas.NilTenant, "invalid_state", "", nil)
		}
		return TokenPair{}, err
	}
	tenant := st.TenantID
	if in.Error != "" {
		return TokenPair{}, s.refuseSSO(ctx, tenant, "idp_error", "", nil)
	}
	if in.Code == "" || len(in.Code) > 4096 {
		return TokenPair{}, s.refuseSSO(ctx, tenant, "missing_code", "", nil)
	}
	ti, err := s.resolveTenant(ctx, tenant.String())
	if err != nil {
		return TokenPair{}, s.refuseSSO(ctx, tenant, "tenant_unavailable", "", err)
	}
	c, err := s.d.SSO.GetSSOConfig(ctx, tenant)
	if err != nil {
		if eusaas.KindOf(err) == eusaas.NotFound {
			return TokenPair{}, s.refuseSSO(ctx, tenant, "not_configured", "", nil)
		}
		return TokenPair{}, err
	}
	client, err := s.oidcClient(c)
	if err != nil {
		return TokenPair{}, err
	}
	id, err := s.d.OIDC.Exchange(ctx, client, in.Code, st.Verifier, st.Nonce)
	if err != nil {
		var oe *OIDCError
		if errors.As(err, &oe) {
			return TokenPair{}, s.refuseSSO(ctx, tenant, oe.Reason, "", err)
		}
		return TokenPair{}, err
	}
	email := NormalizeEmail(id.Email)
	at := strings.LastIndexByte(email, '@')
	switch {
	case email == "" || at <= 0:
		return TokenPair{}, s.refuseSSO(ctx, tenant, "no_email", "", nil)
	case !id.EmailVerified:
		return TokenPair{}, s.refuseSSO(ctx, tenant, "email_not_verified", email, nil)
	case !slices.Contains(c.AllowedDomains, email[at+1:]):
		return TokenPair{}, s.refuseSSO(ctx, tenant, "domain_not_allowed", email, nil)
	}
	u, err := s.d.Users.GetUserByEmail(ctx, tenant, email)
	switch {
	case err == nil:
		if !u.IsActive {
			return TokenPair{}, s.refuseSSO(ctx, tenant, "inactive", email, nil)
		}
	case eusaas.KindOf(err) == eusaas.NotFound:
		if u, err = s.provisionSSOUser(ctx, ti, c, email, id.Name, now); err != nil {
			if errors.Is(err, ErrTenantUserLimit) || errors.Is(err, ErrEmailTaken) {
				return TokenPair{}, s.refuseSSO(ctx, tenant, "user_limit", email, err)
			}
			return TokenPair{}, err
		}
	default:
		return TokenPair{}, err
	}
	// The IdP authenticated the user, with its own factors: the tenant's local second
	// factor is not asked again (the tenant chose to delegate sign-in).
	return s.openSession(ctx, u, now, map[string]any{"method": "sso", "issuer": c.Issuer}, false)
}

// provisionSSOUser creates the user just in time, within the tenant's seats, with a random
// password nobody knows (a password reset can set one unless SSO is enforced).
func (s *Service) provisionSSOUser(ctx context.Context, ti TenantInfo, c SSOConfig, email, name string, now time.Time) (User, error) {
	hash, err := s.d.Hasher.Hash(ctx, randomB64(32))
	if err != nil {
		return User{}, err
	}
	if len(name) > 200 {
		name = name[:200]
	}
	u := User{ID: uuid.Must(uuid.NewV7()), TenantID: ti.ID, Email: email, FullName: strings.ToValidUTF8(strings.TrimSpace(name), ""),
		Role: c.DefaultRole, PasswordHash: hash, IsActive: true, EmailVerified: true, CreatedAt: now, UpdatedAt: now}
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Users.CreateUserWithinLimit(ctx, u, ti.MaxUsers); err != nil {
			switch eusaas.KindOf(err) {
			case eusaas.AlreadyExists:
				return ErrEmailTaken
			case eusaas.FailedPrecondition:
				return ErrTenantUserLimit
			}
			return err
		}
		return s.record(ctx, eusaas.AuditEvent{TenantID: ti.ID, Actor: eusaas.ActorFrom(ctx), Action: ActionSSOProvisioned,
			ResourceType: "user", ResourceID: u.ID.String(), Subject: u.ID.String(),
			Changes: map[string]any{"role": string(u.Role), "issuer": c.Issuer}})
	})
	return u, err
}

// ssoEnforced reports whether the tenant refuses password login to u.
func (s *Service) ssoEnforced(ctx context.Context, u User) (bool, error) {
	if s.d.SSO == nil || u.IsOperator() || u.Role == RoleOwner {
		// OWNERs keep the password so a broken IdP cannot lock the tenant out.
		return false, nil
	}
	c, err := s.d.SSO.GetSSOConfig(ctx, u.TenantID)
	if eusaas.KindOf(err) == eusaas.NotFound {
		return false, nil
	}
	return err == nil && c.Enforce, err
}
