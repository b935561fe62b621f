package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

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

// Config tunes the service. Zero fields take the defaults of DefaultConfig.
type Config struct {
	Issuer        string        // iss; default "eu-multi-tenant-platform"
	Audience      string        // aud; default "eusaas-api"
	AccessTTL     time.Duration // default 15m
	RefreshTTL    time.Duration // absolute session lifetime; default 7 days
	RefreshGrace  time.Duration // window to replay the previous refresh token; default 30s
	Leeway        time.Duration // clock skew on exp/nbf/iat; default and maximum 30s
	InvitationTTL time.Duration // default 7 days
	// AccountLimit and IPLimit are the brute-force policies per account and per client IP.
	AccountLimit BackoffPolicy
	IPLimit      BackoffPolicy
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
}

// Service is the auth module: registration, login, refresh, logout, verification of access
// tokens, invitations, operators and subject erasure.
type Service struct {
	d   Deps
	cfg Config
	ver *verifier
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
	return &Service{d: d, cfg: cfg, ver: newVerifier(d.Keys, cfg.Issuer, cfg.Audience, cfg.Leeway, d.Clock)}, nil
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
	switch ti.Status {
	case TenantActive:
		return ti, nil
	case "SUSPENDED":
		return ti, ErrTenantInactive
	}
	return ti, ErrTenantNotFound
}

// Register creates a tenant user. With an invitation token the invitation (single use, same
// email) gives the role; without one the tenant must allow self-registration and the user
// becomes MEMBER. A tenant holding TenantInfo.MaxUsers users refuses with ErrTenantUserLimit
// and the invitation stays unused.
func (s *Service) Register(ctx context.Context, in RegisterInput) (User, error) {
	if err := in.Validate(); err != nil {
		return User{}, err
	}
	ti, err := s.resolveTenant(ctx, in.TenantIDOrSlug)
	if err != nil {
		return User{}, err
	}
	token := strings.TrimSpace(in.InvitationToken)
	if token == "" && !ti.AllowSelfRegistration {
		return User{}, ErrInvitationRequired
	}
	if ti.MaxUsers > 0 {
		// A cheap early refusal, before paying for a hash or touching the invitation; the
		// authoritative, race-safe check is CreateUserWithinLimit below.
		n, err := s.d.Users.CountUsers(ctx, ti.ID)
		if err != nil {
			return User{}, err
		}
		if n >= ti.MaxUsers {
			return User{}, ErrTenantUserLimit
		}
	}
	hash, err := s.d.Hasher.Hash(ctx, in.Password)
	if err != nil {
		return User{}, err
	}
	now := s.now()
	u := User{ID: uuid.Must(uuid.NewV7()), TenantID: ti.ID, Email: NormalizeEmail(in.Email),
		FullName: strings.TrimSpace(in.FullName), Role: RoleMember, PasswordHash: hash, IsActive: true,
		CreatedAt: now, UpdatedAt: now}
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		var inv Invitation
		if token != "" {
			var err error
			inv, err = s.d.Invitations.ConsumeInvitation(ctx, ti.ID, hashToken(token), now)
			if err != nil {
				if eusaas.KindOf(err) == eusaas.NotFound {
					return ErrInvalidInvitation
				}
				return err
			}
			if inv.Email != u.Email {
				return ErrInvalidInvitation // rolls the consumption back
			}
			u.Role = inv.Role
		}
		if err := s.d.Users.CreateUserWithinLimit(ctx, u, ti.MaxUsers); err != nil {
			switch eusaas.KindOf(err) {
			case eusaas.AlreadyExists:
				return ErrEmailTaken
			case eusaas.FailedPrecondition:
				return ErrTenantUserLimit // rolls the invitation's consumption back
			}
			return err
		}
		changes := map[string]any{"role": string(u.Role), "via": "self_registration"}
		if token != "" {
			changes["via"] = "invitation"
			changes["invitation_id"] = inv.ID.String()
		}
		return s.record(ctx, eusaas.AuditEvent{TenantID: ti.ID,
			Actor:  eusaas.Actor{Kind: eusaas.ActorUser, ID: u.ID.String(), TenantID: ti.ID},
			Action: ActionRegister, ResourceType: "user", ResourceID: u.ID.String(), Changes: changes,
			Personal: map[string]string{"email": u.Email, "full_name": u.FullName}, Subject: u.ID.String()})
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

func (s *Service) record(ctx context.Context, ev eusaas.AuditEvent) error {
	ev.Meta = eusaas.RequestMetaFrom(ctx)
	return s.d.Recorder.Record(ctx, ev)
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
			return TokenPair{}, err
		}
	}
	acctKey := emailKey("login:acct:", email)
	if !tenantOK {
		acctKey = emailKey("login:acct:"+strings.ToLower(strings.TrimSpace(in.TenantIDOrSlug))+":", email)
	}
	ipKey := "login:ip:" + meta.IP

	fail := func(reason string, u *User) (TokenPair, error) {
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
		return TokenPair{}, withCause(ErrInvalidCredentials, err1, err2, err3)
	}

	// Back-off and lockout refuse before any hashing: cheap for us, and a locked key tells
	// an attacker nothing about the account (unknown emails are counted and locked alike).
	acct, err := s.d.Limiter.Failures(ctx, tenant, acctKey, now)
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
		return TokenPair{}, withCause(ErrInvalidCredentials, s.record(ctx, eusaas.AuditEvent{TenantID: tenant,
			Actor: eusaas.ActorFrom(ctx), Action: ActionLoginFailed, ResourceType: "user",
			Changes: map[string]any{"reason": "throttled"}, Personal: map[string]string{"email": email}}))
	}
	if len(in.Password) > 4*MaxPasswordLen || email == "" || len(email) > 4*254 || strings.ContainsRune(email, 0) {
		// No stored email can look like this (NUL is not even storable in Postgres text):
		// answer as for an unknown account without asking the store.
		email = ""
		return fail("malformed", nil)
	}

	var u User
	found := false
	if tenantOK {
		if operator {
			u, err = s.d.Operators.GetOperatorByEmail(ctx, email)
		} else {
			u, err = s.d.Users.GetUserByEmail(ctx, tenant, email)
		}
		switch {
		case err == nil:
			found = true
		case eusaas.KindOf(err) != eusaas.NotFound:
			return TokenPair{}, err
		}
	}
	if !found || !u.IsActive {
		if err := s.d.Hasher.VerifyDummy(ctx, in.Password); err != nil {
			return TokenPair{}, err
		}
		if found {
			return fail("inactive", &u)
		}
		return fail("unknown_account", nil)
	}
	ok, rehash, err := s.d.Hasher.Verify(ctx, u.PasswordHash, in.Password)
	if err != nil {
		return TokenPair{}, err
	}
	if !ok {
		return fail("wrong_password", &u)
	}

	if err := s.d.Limiter.ResetFailures(ctx, tenant, acctKey); err != nil {
		return TokenPair{}, err
	}
	if rehash {
		// Parameters were raised since this hash was made: store one under the current ones
		// now that we hold the plaintext.
		if h, err := s.d.Hasher.Hash(ctx, in.Password); err == nil {
			if operator {
				err = s.d.Operators.SetOperatorPassword(ctx, u.ID, h, now)
			} else {
				err = s.d.Users.SetUserPassword(ctx, tenant, u.ID, h, now)
			}
			if err != nil {
				return TokenPair{}, err
			}
		}
	}
	var pair TokenPair
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if operator {
			err = s.d.Operators.RecordOperatorLogin(ctx, u.ID, now)
		} else {
			err = s.d.Users.RecordUserLogin(ctx, tenant, u.ID, now)
		}
		if err != nil {
			return err
		}
		secret := newSecret()
		sess := Session{ID: uuid.New(), TenantID: tenant, UserID: u.ID, Counter: 0, TokenHash: secretHash(secret),
			CreatedAt: now, RotatedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTTL)}
		if err := s.d.Sessions.CreateSession(ctx, sess); err != nil {
			return err
		}
		if pair, err = s.issue(u, sess, secret, now); err != nil {
			return err
		}
		return s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: userActor(u), Action: ActionLogin,
			ResourceType: "session", ResourceID: sess.ID.String(), Subject: u.ID.String()})
	})
	return pair, err
}

// withCause returns the client-facing sentinel carrying any side failures (counter or audit
// writes) as its log-only cause: the caller still sees the 401, operators see the cause.
func withCause(sentinel *eusaas.Error, side ...error) error {
	if err := errors.Join(side...); err != nil {
		return sentinel.Wrap(err)
	}
	return sentinel
}

func userActor(u User) eusaas.Actor {
	if u.IsOperator() {
		return eusaas.Actor{Kind: eusaas.ActorOperator, ID: u.ID.String()}
	}
	return eusaas.Actor{Kind: eusaas.ActorUser, ID: u.ID.String(), TenantID: u.TenantID}
}

// issue builds the token pair of a session state: the refresh token for (Counter, secret)
// and an access token whose iat is RotatedAt and whose jti derives from secret — so the same
// state always yields the same pair (the grace window relies on it).
func (s *Service) issue(u User, sess Session, secret [32]byte, now time.Time) (TokenPair, error) {
	iat := sess.RotatedAt.Truncate(time.Second)
	exp := iat.Add(s.cfg.AccessTTL)
	c := &Claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: s.cfg.Issuer, Subject: u.ID.String(), Audience: jwt.ClaimStrings{s.cfg.Audience},
		ExpiresAt: jwt.NewNumericDate(exp), IssuedAt: jwt.NewNumericDate(iat), NotBefore: jwt.NewNumericDate(iat),
		ID: jtiFor(secret)}, SessionID: sess.ID.String(), Kind: string(eusaas.ActorOperator)}
	if !u.IsOperator() {
		c.Kind, c.TenantID, c.Role = string(eusaas.ActorUser), u.TenantID.String(), u.Role
	}
	access, err := signAccessToken(s.d.Keys, c)
	if err != nil {
		return TokenPair{}, err
	}
	rt := refreshToken{operator: u.IsOperator(), tenant: u.TenantID, session: sess.ID, counter: sess.Counter, secret: secret}
	return TokenPair{AccessToken: access, RefreshToken: rt.encode(), TokenType: "Bearer",
		ExpiresIn: int((max(exp.Sub(now), 0) + time.Second - 1) / time.Second), ExpiresAt: exp}, nil
}

func (s *Service) loadAccount(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (User, error) {
	if tenant.IsZero() {
		return s.d.Operators.GetOperator(ctx, id)
	}
	return s.d.Users.GetUser(ctx, tenant, id)
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
			return s.issue(u, sess, next, now)
		case rt.counter+1 == sess.Counter && now.Sub(sess.RotatedAt) <= s.cfg.RefreshGrace:
			u, err := s.activeAccount(ctx, sess, now)
			if err != nil {
				return TokenPair{}, err
			}
			return s.issue(u, sess, cur, now)
		default:
			if err := s.d.Sessions.RevokeSession(ctx, rt.tenant, sess.ID, now, "reuse"); err != nil {
				return TokenPair{}, err
			}
			actor := eusaas.Actor{Kind: eusaas.ActorUser, ID: sess.UserID.String(), TenantID: rt.tenant}
			if rt.tenant.IsZero() {
				actor = eusaas.Actor{Kind: eusaas.ActorOperator, ID: sess.UserID.String()}
			}
			return TokenPair{}, withCause(ErrInvalidRefreshToken, s.record(ctx, eusaas.AuditEvent{
				TenantID: rt.tenant, Actor: actor, Action: ActionRefreshReuse, ResourceType: "session",
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
	u, err := s.loadAccount(ctx, sess.TenantID, sess.UserID)
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
	u, err := s.loadAccount(ctx, tenant, uid)
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
		Email: u.Email, TokenID: c.ID, Issuer: c.Issuer, SessionID: c.SessionID}
	if c.ExpiresAt != nil {
		p.Expires = c.ExpiresAt.Time
	}
	return p, nil
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

// Me returns the principal's account. Service accounts have no user profile
// (PermissionDenied).
func (s *Service) Me(ctx context.Context, p Principal) (User, error) {
	if p.Kind == eusaas.ActorService {
		return User{}, eusaas.E(eusaas.PermissionDenied, "service accounts have no user profile")
	}
	id, err := uuid.Parse(p.UserID)
	if err != nil {
		return User{}, ErrInvalidToken
	}
	u, err := s.loadAccount(ctx, p.TenantID, id)
	if eusaas.KindOf(err) == eusaas.NotFound {
		return User{}, ErrUserNotFound
	}
	return u, err
}

func roleRank(r Role) int {
	switch r {
	case RoleOwner:
		return 4
	case RoleAdmin:
		return 3
	case RoleMember:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// Invite issues an invitation in the tenant. The caller needs PermInvite there and may not
// hand out a role above its own (operators may invite anyone). The token is returned once.
func (s *Service) Invite(ctx context.Context, p Principal, in InviteInput) (Invitation, string, error) {
	if !p.Can(in.TenantID, PermInvite) {
		return Invitation{}, "", eusaas.E(eusaas.PermissionDenied, "not allowed to invite users to this tenant")
	}
	if err := in.Validate(); err != nil {
		return Invitation{}, "", err
	}
	if p.Kind == eusaas.ActorUser && roleRank(in.Role) > roleRank(p.Role) {
		return Invitation{}, "", eusaas.E(eusaas.PermissionDenied, "cannot invite a role above your own")
	}
	// Operators pass Can for any tenant id, so the tenant itself must be checked: an
	// invitation (an email, personal data) must not be stored for a tenant that does not
	// exist or was erased, and nobody could register with it anyway.
	if _, err := s.resolveTenant(ctx, in.TenantID.String()); err != nil {
		return Invitation{}, "", err
	}
	return s.invite(ctx, in.TenantID, NormalizeEmail(in.Email), in.Role, p.Actor())
}

func (s *Service) invite(ctx context.Context, tenant eusaas.TenantID, email string, role Role, actor eusaas.Actor) (Invitation, string, error) {
	now := s.now()
	token := newOpaqueToken()
	inv := Invitation{ID: uuid.Must(uuid.NewV7()), TenantID: tenant, Email: email, Role: role,
		TokenHash: hashToken(token), CreatedBy: actor.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.InvitationTTL)}
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Invitations.CreateInvitation(ctx, inv); err != nil {
			return err
		}
		return s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: actor, Action: ActionInvitationCreated,
			ResourceType: "invitation", ResourceID: inv.ID.String(), Changes: map[string]any{"role": string(role)},
			Personal: map[string]string{"email": email}})
	})
	if err != nil {
		return Invitation{}, "", err
	}
	return inv, token, nil
}

// IssueOwnerInvitation issues the invitation that makes its holder the tenant's OWNER
// (tenancy calls it when a tenant is created). It implements tenancy.InvitationIssuer.
func (s *Service) IssueOwnerInvitation(ctx context.Context, tenant eusaas.TenantID, email string) (string, time.Time, error) {
	var v eusaas.Violations
	validateEmail(&v, "body.admin_email", email)
	if err := v.Err(); err != nil {
		return "", time.Time{}, err
	}
	inv, token, err := s.invite(ctx, tenant, NormalizeEmail(email), RoleOwner, eusaas.System)
	return token, inv.ExpiresAt, err
}

// SetUserActive (de)activates a tenant user. Deactivation revokes every session of the user
// at once, and Authenticate refuses its remaining access tokens.
func (s *Service) SetUserActive(ctx context.Context, tenant eusaas.TenantID, userID uuid.UUID, active bool) error {
	now := s.now()
	return s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Users.SetUserActive(ctx, tenant, userID, active, now); err != nil {
			if eusaas.KindOf(err) == eusaas.NotFound {
				return ErrUserNotFound
			}
			return err
		}
		action := ActionUserActivated
		if !active {
			action = ActionUserDeactivated
			if _, err := s.d.Sessions.RevokeUserSessions(ctx, tenant, userID, now, "deactivated"); err != nil {
				return err
			}
		}
		return s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.ActorFrom(ctx), Action: action,
			ResourceType: "user", ResourceID: userID.String(), Subject: userID.String()})
	})
}

// EraseSubject deletes a tenant user's personal data: the user row, its sessions and the
// invitations addressed to its email. Idempotent; returns counts by kind ("users",
// "sessions", "invitations"). Used by GDPR subject erasure.
func (s *Service) EraseSubject(ctx context.Context, tenant eusaas.TenantID, userID string) (map[string]int, error) {
	id, err := uuid.Parse(userID)
	if err != nil {
		return nil, eusaas.Invalid("invalid subject", eusaas.FieldViolation{Location: "body.data_subject_id", Message: "must be a user id (UUID)"})
	}
	counts := map[string]int{"users": 0, "sessions": 0, "invitations": 0}
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		u, err := s.d.Users.GetUser(ctx, tenant, id)
		switch {
		case err == nil:
			if counts["invitations"], err = s.d.Invitations.DeleteInvitationsByEmail(ctx, tenant, u.Email); err != nil {
				return err
			}
		case eusaas.KindOf(err) != eusaas.NotFound:
			return err
		}
		if counts["sessions"], err = s.d.Sessions.DeleteUserSessions(ctx, tenant, id); err != nil {
			return err
		}
		counts["users"], err = s.d.Users.DeleteUser(ctx, tenant, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// BootstrapOperator creates the platform operator with the email unless one with it exists
// already. It reports whether it created one. The password must meet the policy.
func (s *Service) BootstrapOperator(ctx context.Context, email, password string) (bool, error) {
	var v eusaas.Violations
	validateEmail(&v, "APP_BOOTSTRAP_ADMIN_EMAIL", email)
	ValidatePassword(&v, "APP_BOOTSTRAP_ADMIN_PASSWORD", password)
	if err := v.Err(); err != nil {
		return false, err
	}
	email = NormalizeEmail(email)
	if _, err := s.d.Operators.GetOperatorByEmail(ctx, email); err == nil {
		return false, nil
	} else if eusaas.KindOf(err) != eusaas.NotFound {
		return false, err
	}
	hash, err := s.d.Hasher.Hash(ctx, password)
	if err != nil {
		return false, err
	}
	now := s.now()
	u := User{ID: uuid.Must(uuid.NewV7()), Email: email, FullName: "Platform operator", PasswordHash: hash,
		IsActive: true, CreatedAt: now, UpdatedAt: now}
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Operators.CreateOperator(ctx, u); err != nil {
			return err
		}
		return s.record(ctx, eusaas.AuditEvent{Actor: eusaas.System, Action: ActionOperatorCreated,
			ResourceType: "operator", ResourceID: u.ID.String(), Subject: u.ID.String(),
			Personal: map[string]string{"email": email}})
	})
	if eusaas.KindOf(err) == eusaas.AlreadyExists {
		return false, nil // another replica bootstrapped it concurrently
	}
	return err == nil, err
}

// SetOperatorActive (de)activates a platform operator; deactivation revokes its sessions.
func (s *Service) SetOperatorActive(ctx context.Context, id uuid.UUID, active bool) error {
	now := s.now()
	if err := s.d.Operators.SetOperatorActive(ctx, id, active, now); err != nil {
		if eusaas.KindOf(err) == eusaas.NotFound {
			return ErrUserNotFound
		}
		return err
	}
	if !active {
		_, err := s.d.Sessions.RevokeUserSessions(ctx, eusaas.NilTenant, id, now, "deactivated")
		return err
	}
	return nil
}
