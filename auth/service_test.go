package auth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/auth/memauth"
	"github.com/eusaas/eusaas/memtx"
)

// testKey is generated once per test binary: RSA generation is slow on a small machine.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

type tenants map[string]auth.TenantInfo

func (t tenants) Resolve(_ context.Context, s string) (auth.TenantInfo, error) {
	if ti, ok := t[s]; ok {
		return ti, nil
	}
	for _, ti := range t {
		if ti.ID.String() == s {
			return ti, nil
		}
	}
	return auth.TenantInfo{}, eusaas.E(eusaas.NotFound, "tenant not found")
}

type recorder struct {
	mu     sync.Mutex
	events []eusaas.AuditEvent
}

func (r *recorder) Record(_ context.Context, ev eusaas.AuditEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return nil
}

func (r *recorder) actions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e.Action)
	}
	return out
}

type env struct {
	svc    *auth.Service
	store  *memauth.Store
	clock  *eusaas.FakeClock
	keys   *auth.KeySet
	rec    *recorder
	hasher *auth.Hasher
	tenant eusaas.TenantID
	ten    tenants
}

func newEnv(t testing.TB, mod ...func(*auth.Deps, *auth.Config)) *env {
	t.Helper()
	clock := eusaas.NewFakeClock(time.Now())
	keys, err := auth.NewKeySet(testKey(), clock)
	require.NoError(t, err)
	hasher, err := auth.NewHasher(auth.OWASPParams, auth.HasherOptions{})
	require.NoError(t, err)
	e := &env{store: memauth.NewStore(), clock: clock, keys: keys, rec: &recorder{}, hasher: hasher,
		tenant: eusaas.NewTenantID()}
	e.ten = tenants{"acme": {ID: e.tenant, Status: auth.TenantActive}}
	d := auth.Deps{Users: e.store, Operators: e.store, Sessions: e.store, Invitations: e.store,
		Denylist: memauth.NewDenylist(clock), Limiter: memauth.NewLimiter(), Keys: keys, Tenants: e.ten,
		Hasher: hasher, Tx: memtx.NewTxRunner(), Recorder: e.rec, Clock: clock}
	cfg := auth.Config{}
	for _, m := range mod {
		m(&d, &cfg)
	}
	e.svc, err = auth.NewService(d, cfg)
	require.NoError(t, err)
	return e
}

const pw = "Correct-Horse-9"

// user registers a user through an invitation of the role and returns it.
func (e *env) user(t testing.TB, email string, role auth.Role) auth.User {
	t.Helper()
	ctx := context.Background()
	inv, tok, err := e.svc.Invite(ctx, auth.Principal{Kind: eusaas.ActorOperator}, auth.InviteInput{TenantID: e.tenant, Email: email, Role: role})
	require.NoError(t, err)
	require.Equal(t, role, inv.Role)
	u, err := e.svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "acme", Email: email, Password: pw, FullName: "Test User", InvitationToken: tok})
	require.NoError(t, err)
	return u
}

func (e *env) login(t testing.TB, email string) auth.TokenPair {
	t.Helper()
	p, err := e.svc.Login(context.Background(), auth.LoginInput{TenantIDOrSlug: "acme", Email: email, Password: pw})
	require.NoError(t, err)
	return p
}

func requireKind(t testing.TB, want eusaas.Kind, err error) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, want, eusaas.KindOf(err), "%v", err)
}

func TestRegisterAndLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	tok, exp, err := e.svc.IssueOwnerInvitation(ctx, e.tenant, "Owner@Example.com")
	require.NoError(t, err)
	require.WithinDuration(t, e.clock.Now().Add(7*24*time.Hour), exp, time.Second)

	// Without an invitation the tenant refuses; with one for another email too.
	_, err = e.svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "acme", Email: "x@example.com", Password: pw, FullName: "X"})
	require.ErrorIs(t, err, auth.ErrInvitationRequired)
	_, err = e.svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "acme", Email: "x@example.com", Password: pw, FullName: "X", InvitationToken: tok})
	require.ErrorIs(t, err, auth.ErrInvalidInvitation)

	u, err := e.svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: e.tenant.String(), Email: "owner@example.com", Password: pw, FullName: "Olga Owner", InvitationToken: tok})
	require.NoError(t, err, "the failed attempt for another email did not use the invitation up")
	require.Equal(t, auth.RoleOwner, u.Role)
	require.Equal(t, "owner@example.com", u.Email)

	_, err = e.svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "acme", Email: "owner2@example.com", Password: pw, FullName: "X", InvitationToken: tok})
	require.ErrorIs(t, err, auth.ErrInvalidInvitation, "single use")

	pair := e.login(t, "OWNER@example.com ")
	require.Equal(t, "Bearer", pair.TokenType)
	require.Equal(t, 900, pair.ExpiresIn)
	p, err := e.svc.Authenticate(ctx, "Bearer "+pair.AccessToken)
	require.NoError(t, err)
	require.Equal(t, u.ID.String(), p.UserID)
	require.Equal(t, e.tenant, p.TenantID)
	require.Equal(t, auth.RoleOwner, p.Role)
	require.Equal(t, eusaas.ActorUser, p.Kind)
	me, err := e.svc.Me(ctx, p)
	require.NoError(t, err)
	require.False(t, me.LastLoginAt.IsZero())
	require.Contains(t, e.rec.actions(), auth.ActionLogin)
	require.Contains(t, e.rec.actions(), auth.ActionRegister)
}

func TestRegisterValidationAndSelfRegistration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	secret := "short1A!"
	_, err := e.svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "acme", Email: "not-an-email", Password: secret, FullName: ""})
	requireKind(t, eusaas.InvalidArgument, err)
	locs := map[string]bool{}
	for _, f := range eusaas.FieldsOf(err) {
		locs[f.Location] = true
		require.NotContains(t, f.Message, secret)
	}
	require.Equal(t, map[string]bool{"body.email": true, "body.password": true, "body.full_name": true}, locs)
	require.NotContains(t, err.Error(), secret)

	for _, bad := range []string{"alllowercase1!", "ALLUPPERCASE1!", "NoDigitsHere!", "NoSpecial123", strings.Repeat("Aa1!", 33)} {
		_, err := e.svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "acme", Email: "a@example.com", Password: bad, FullName: "A"})
		requireKind(t, eusaas.InvalidArgument, err)
	}

	_, err = e.svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "nope", Email: "a@example.com", Password: pw, FullName: "A"})
	require.ErrorIs(t, err, auth.ErrTenantNotFound)

	e.ten["open"] = auth.TenantInfo{ID: e.tenant, Status: auth.TenantActive, AllowSelfRegistration: true}
	u, err := e.svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "open", Email: "self@example.com", Password: pw, FullName: "Self"})
	require.NoError(t, err)
	require.Equal(t, auth.RoleMember, u.Role)
	_, err = e.svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "open", Email: "SELF@example.com", Password: pw, FullName: "Self"})
	require.ErrorIs(t, err, auth.ErrEmailTaken)

	e.ten["frozen"] = auth.TenantInfo{ID: eusaas.NewTenantID(), Status: "SUSPENDED", AllowSelfRegistration: true}
	_, err = e.svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "frozen", Email: "a@example.com", Password: pw, FullName: "A"})
	require.ErrorIs(t, err, auth.ErrTenantInactive)
}

func TestLoginFailuresAreIndistinguishable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := eusaas.WithRequestMeta(context.Background(), eusaas.RequestMeta{IP: "192.0.2.1"})
	u := e.user(t, "ada@example.com", auth.RoleMember)
	require.NoError(t, e.svc.SetUserActive(ctx, e.tenant, u.ID, false))
	e.ten["gone"] = auth.TenantInfo{ID: eusaas.NewTenantID(), Status: "DELETED"}
	cases := []auth.LoginInput{
		{TenantIDOrSlug: "acme", Email: "nobody@example.com", Password: pw},
		{TenantIDOrSlug: "acme", Email: "ada@example.com", Password: "Wrong-Password-1"},
		{TenantIDOrSlug: "acme", Email: "ada@example.com", Password: pw}, // deactivated
		{TenantIDOrSlug: "unknown", Email: "ada@example.com", Password: pw},
		{TenantIDOrSlug: "gone", Email: "ada@example.com", Password: pw},
		{Email: "ada@example.com", Password: pw}, // not an operator
	}
	for _, in := range cases {
		_, err := e.svc.Login(ctx, in)
		require.ErrorIs(t, err, auth.ErrInvalidCredentials, "%+v", in)
		require.Equal(t, "invalid_credentials", eusaas.CodeOf(err))
		require.Equal(t, "invalid credentials", eusaas.MessageOf(err))
	}
	n := 0
	for _, a := range e.rec.actions() {
		if a == auth.ActionLoginFailed {
			n++
		}
	}
	require.Equal(t, len(cases), n, "every failure is audited")
}

func TestBruteForceBackoffAndLockout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := eusaas.WithRequestMeta(context.Background(), eusaas.RequestMeta{IP: "198.51.100.7"})
	e.user(t, "ada@example.com", auth.RoleMember)
	wrong := auth.LoginInput{TenantIDOrSlug: "acme", Email: "ada@example.com", Password: "Wrong-Password-1"}
	right := auth.LoginInput{TenantIDOrSlug: "acme", Email: "ada@example.com", Password: pw}
	for i := 0; i < 5; i++ {
		_, err := e.svc.Login(ctx, wrong)
		require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	}
	// Sixth failure starts the back-off: the right password is refused during it.
	_, err := e.svc.Login(ctx, wrong)
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	_, err = e.svc.Login(ctx, right)
	require.ErrorIs(t, err, auth.ErrInvalidCredentials, "within the back-off even the right password fails")
	e.clock.Advance(1100 * time.Millisecond)
	_, err = e.svc.Login(ctx, right)
	require.NoError(t, err, "after the back-off the right password works and resets the account counter")

	// Ten failures lock the account for 15 minutes.
	for i := 0; i < 10; i++ {
		e.clock.Advance(10 * time.Minute) // outlast each back-off so every attempt is counted
		_, err := e.svc.Login(ctx, wrong)
		require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	}
	e.clock.Advance(14 * time.Minute)
	_, err = e.svc.Login(ctx, right)
	require.ErrorIs(t, err, auth.ErrInvalidCredentials, "locked")
	e.clock.Advance(2 * time.Minute)
	_, err = e.svc.Login(ctx, right)
	require.NoError(t, err, "the lockout lifted")

	// The per-IP counter catches one address spraying many accounts.
	for i := 0; i < 21; i++ {
		_, _ = e.svc.Login(ctx, auth.LoginInput{TenantIDOrSlug: "acme", Email: uuid.NewString() + "@example.com", Password: "x"})
	}
	_, err = e.svc.Login(ctx, right)
	require.ErrorIs(t, err, auth.ErrInvalidCredentials, "the address is backed off")
	other := eusaas.WithRequestMeta(context.Background(), eusaas.RequestMeta{IP: "203.0.113.9"})
	_, err = e.svc.Login(other, right)
	require.NoError(t, err, "another address is not")
}

func TestBackoffPolicy(t *testing.T) {
	p := auth.DefaultConfig().AccountLimit
	t0 := time.Unix(1000, 0)
	at := func(n int) time.Duration {
		u := p.BlockedUntil(auth.FailureCount{Failures: n, Last: t0})
		if u.IsZero() {
			return 0
		}
		return u.Sub(t0)
	}
	require.Equal(t, time.Duration(0), at(0))
	require.Equal(t, time.Duration(0), at(5))
	require.Equal(t, time.Second, at(6))
	require.Equal(t, 2*time.Second, at(7))
	require.Equal(t, 8*time.Second, at(9))
	require.Equal(t, 15*time.Minute, at(10))
	require.Equal(t, 15*time.Minute, at(50))
}

func TestRefreshRotationGraceAndReuse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "ada@example.com", auth.RoleMember)
	p0 := e.login(t, "ada@example.com")

	e.clock.Advance(time.Minute)
	p1, err := e.svc.Refresh(ctx, p0.RefreshToken)
	require.NoError(t, err)
	require.NotEqual(t, p0.RefreshToken, p1.RefreshToken)
	require.NotEqual(t, p0.AccessToken, p1.AccessToken)

	// The client lost the answer and retries within the grace window: the same pair.
	e.clock.Advance(5 * time.Second)
	again, err := e.svc.Refresh(ctx, p0.RefreshToken)
	require.NoError(t, err)
	require.Equal(t, p1.RefreshToken, again.RefreshToken)
	require.Equal(t, p1.AccessToken, again.AccessToken)

	e.clock.Advance(time.Minute)
	p2, err := e.svc.Refresh(ctx, p1.RefreshToken)
	require.NoError(t, err)
	_, err = e.svc.Authenticate(ctx, p2.AccessToken)
	require.NoError(t, err)

	// p0 is two generations old: reuse. The whole session dies, the newest token included.
	_, err = e.svc.Refresh(ctx, p0.RefreshToken)
	require.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
	require.Contains(t, e.rec.actions(), auth.ActionRefreshReuse)
	_, err = e.svc.Refresh(ctx, p2.RefreshToken)
	require.ErrorIs(t, err, auth.ErrInvalidRefreshToken, "the newest refresh token stopped working")
	_, err = e.svc.Authenticate(ctx, p2.AccessToken)
	require.ErrorIs(t, err, auth.ErrInvalidToken, "access tokens of a revoked session stop too")

	// A second session of the same user is untouched.
	p3 := e.login(t, "ada@example.com")
	_, err = e.svc.Refresh(ctx, p3.RefreshToken)
	require.NoError(t, err)
}

func TestRefreshGraceExpiresIntoReuse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "ada@example.com", auth.RoleMember)
	p0 := e.login(t, "ada@example.com")
	p1, err := e.svc.Refresh(ctx, p0.RefreshToken)
	require.NoError(t, err)
	e.clock.Advance(31 * time.Second)
	_, err = e.svc.Refresh(ctx, p0.RefreshToken)
	require.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
	_, err = e.svc.Refresh(ctx, p1.RefreshToken)
	require.ErrorIs(t, err, auth.ErrInvalidRefreshToken, "reuse after the grace window revoked the session")
}

func TestRefreshRejectsForgeriesWithoutRevoking(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "ada@example.com", auth.RoleMember)
	p0 := e.login(t, "ada@example.com")
	// Flip one bit of the secret: not this session's token, so no revocation (a guesser
	// holding only the session id cannot log its victim out).
	b := []byte(p0.RefreshToken)
	b[len(b)-3] ^= 1
	if b[len(b)-3] == p0.RefreshToken[len(b)-3] {
		b[len(b)-3]++
	}
	for _, bad := range []string{"", "garbage", string(b), p0.AccessToken} {
		_, err := e.svc.Refresh(ctx, bad)
		require.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
	}
	_, err := e.svc.Refresh(ctx, p0.RefreshToken)
	require.NoError(t, err, "the genuine token still works")
}

func TestRefreshAbsoluteLifetime(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "ada@example.com", auth.RoleMember)
	p := e.login(t, "ada@example.com")
	var err error
	for i := 0; i < 6; i++ { // rotating daily never extends the 7-day session
		e.clock.Advance(24 * time.Hour)
		p, err = e.svc.Refresh(ctx, p.RefreshToken)
		require.NoError(t, err)
	}
	e.clock.Advance(24*time.Hour + time.Second)
	_, err = e.svc.Refresh(ctx, p.RefreshToken)
	require.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
}

func TestConcurrentRefreshYieldsOnePair(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "ada@example.com", auth.RoleMember)
	p0 := e.login(t, "ada@example.com")
	var wg sync.WaitGroup
	results := make([]auth.TokenPair, 8)
	errs := make([]error, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = e.svc.Refresh(ctx, p0.RefreshToken)
		}()
	}
	wg.Wait()
	for i := range results {
		require.NoError(t, errs[i])
		require.Equal(t, results[0].RefreshToken, results[i].RefreshToken, "racing refreshes of one token agree on the new pair")
	}
}

func TestLogoutAndDeactivation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", auth.RoleMember)
	pair := e.login(t, "ada@example.com")
	p, err := e.svc.Authenticate(ctx, pair.AccessToken)
	require.NoError(t, err)
	require.NoError(t, e.svc.Logout(ctx, p, pair.RefreshToken))
	_, err = e.svc.Authenticate(ctx, pair.AccessToken)
	require.ErrorIs(t, err, auth.ErrInvalidToken)
	_, err = e.svc.Refresh(ctx, pair.RefreshToken)
	require.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
	require.Contains(t, e.rec.actions(), auth.ActionLogout)

	pair = e.login(t, "ada@example.com")
	require.NoError(t, e.svc.SetUserActive(ctx, e.tenant, u.ID, false))
	_, err = e.svc.Authenticate(ctx, pair.AccessToken)
	require.ErrorIs(t, err, auth.ErrInvalidToken)
	_, err = e.svc.Refresh(ctx, pair.RefreshToken)
	require.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
}

func TestRehashOnLoginWhenParamsChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", auth.RoleMember)
	stronger := auth.OWASPParams
	stronger.Time = 3
	h2, err := auth.NewHasher(stronger, auth.HasherOptions{})
	require.NoError(t, err)
	svc2, err := auth.NewService(auth.Deps{Users: e.store, Operators: e.store, Sessions: e.store, Invitations: e.store,
		Denylist: memauth.NewDenylist(e.clock), Limiter: memauth.NewLimiter(), Keys: e.keys, Tenants: e.ten,
		Hasher: h2, Clock: e.clock}, auth.Config{})
	require.NoError(t, err)
	_, err = svc2.Login(ctx, auth.LoginInput{TenantIDOrSlug: "acme", Email: "ada@example.com", Password: pw})
	require.NoError(t, err)
	got, err := e.store.GetUser(ctx, e.tenant, u.ID)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(got.PasswordHash, "$argon2id$v=19$m=19456,t=3,p=1$"), got.PasswordHash)
	require.NotEqual(t, u.PasswordHash, got.PasswordHash)
	_, err = svc2.Login(ctx, auth.LoginInput{TenantIDOrSlug: "acme", Email: "ada@example.com", Password: pw})
	require.NoError(t, err, "the new hash verifies")
}

func TestHasher(t *testing.T) {
	t.Parallel()
	_, err := auth.NewHasher(auth.HashParams{MemoryKiB: 4096, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, auth.HasherOptions{})
	requireKind(t, eusaas.InvalidArgument, err)
	h, err := auth.NewHasher(auth.OWASPParams, auth.HasherOptions{MaxConcurrent: 1, MaxWaiting: 1, MaxWait: 20 * time.Millisecond})
	require.NoError(t, err)
	ctx := context.Background()
	phc, err := h.Hash(ctx, pw)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(phc, "$argon2id$v=19$m=19456,t=2,p=1$"), phc)
	ok, rehash, err := h.Verify(ctx, phc, pw)
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, rehash)
	ok, _, err = h.Verify(ctx, phc, pw+"x")
	require.NoError(t, err)
	require.False(t, ok)
	_, _, err = h.Verify(ctx, "$2a$10$bcrypt", pw)
	require.Error(t, err)

	// Overflow: with one slot and one queue place, a burst gets ErrBusy with a retry hint.
	var wg sync.WaitGroup
	var mu sync.Mutex
	busy := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := h.Hash(ctx, pw)
			if err != nil {
				mu.Lock()
				busy++
				mu.Unlock()
				require.ErrorIs(t, err, auth.ErrBusy)
				require.Equal(t, eusaas.ResourceExhausted, eusaas.KindOf(err))
				d, ok := auth.RetryAfter(err)
				require.True(t, ok)
				require.Equal(t, time.Second, d)
			}
		}()
	}
	wg.Wait()
	require.Positive(t, busy, "the semaphore refused part of the burst")
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "ada@example.com", auth.RoleMember)
	old := e.login(t, "ada@example.com")
	oldKid, _ := e.keys.SigningKey()
	next, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	require.NoError(t, e.keys.Rotate(next, e.clock.Now().Add(15*time.Minute+30*time.Second)))
	newKid, _ := e.keys.SigningKey()
	require.NotEqual(t, oldKid, newKid)
	require.Equal(t, auth.Thumbprint(&next.PublicKey), newKid)
	jwks := e.keys.JWKS()
	require.Len(t, jwks.Keys, 2)
	require.Equal(t, newKid, jwks.Keys[0].Kid, "active key first")

	fresh := e.login(t, "ada@example.com")
	for _, tok := range []string{old.AccessToken, fresh.AccessToken} {
		_, err := e.svc.Authenticate(ctx, tok)
		require.NoError(t, err)
	}
	tok, _, err := jwt.NewParser().ParseUnverified(fresh.AccessToken, jwt.MapClaims{})
	require.NoError(t, err)
	require.Equal(t, newKid, tok.Header["kid"])

	e.clock.Advance(16 * time.Minute)
	require.Len(t, e.keys.JWKS().Keys, 1, "the retired key left the set")
	_, ok := e.keys.PublicKey(oldKid)
	require.False(t, ok)
}

func TestThumbprintRFC7638(t *testing.T) {
	// The example key of RFC 7638 section 3.1 and its published thumbprint.
	n := "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	pub := &rsa.PublicKey{E: 65537}
	pub.N = new(big.Int).SetBytes(mustB64(t, n))
	require.Equal(t, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", auth.Thumbprint(pub))
}

func TestEraseSubject(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", auth.RoleMember)
	e.login(t, "ada@example.com")
	e.login(t, "ada@example.com")
	_, _, err := e.svc.Invite(ctx, auth.Principal{Kind: eusaas.ActorOperator}, auth.InviteInput{TenantID: e.tenant, Email: "ada@example.com", Role: auth.RoleAdmin})
	require.NoError(t, err)
	counts, err := e.svc.EraseSubject(ctx, e.tenant, u.ID.String())
	require.NoError(t, err)
	require.Equal(t, map[string]int{"users": 1, "sessions": 2, "invitations": 2}, counts)
	counts, err = e.svc.EraseSubject(ctx, e.tenant, u.ID.String())
	require.NoError(t, err)
	require.Equal(t, map[string]int{"users": 0, "sessions": 0, "invitations": 0}, counts, "idempotent")
	_, err = e.store.GetUser(ctx, e.tenant, u.ID)
	require.ErrorIs(t, err, auth.ErrUserNotFound)
}

func TestInvitePermissions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	admin := auth.Principal{Kind: eusaas.ActorUser, TenantID: e.tenant, Role: auth.RoleAdmin, UserID: uuid.NewString()}
	_, _, err := e.svc.Invite(ctx, admin, auth.InviteInput{TenantID: e.tenant, Email: "b@example.com", Role: auth.RoleAdmin})
	require.NoError(t, err)
	_, _, err = e.svc.Invite(ctx, admin, auth.InviteInput{TenantID: e.tenant, Email: "b@example.com", Role: auth.RoleOwner})
	requireKind(t, eusaas.PermissionDenied, err)
	member := admin
	member.Role = auth.RoleMember
	_, _, err = e.svc.Invite(ctx, member, auth.InviteInput{TenantID: e.tenant, Email: "b@example.com", Role: auth.RoleViewer})
	requireKind(t, eusaas.PermissionDenied, err)
	_, _, err = e.svc.Invite(ctx, admin, auth.InviteInput{TenantID: eusaas.NewTenantID(), Email: "b@example.com", Role: auth.RoleViewer})
	requireKind(t, eusaas.PermissionDenied, err)
	_, _, err = e.svc.Invite(ctx, admin, auth.InviteInput{TenantID: e.tenant, Email: "nope", Role: "GOD"})
	requireKind(t, eusaas.InvalidArgument, err)

	// Invitations expire.
	_, tok, err := e.svc.Invite(ctx, admin, auth.InviteInput{TenantID: e.tenant, Email: "late@example.com", Role: auth.RoleViewer})
	require.NoError(t, err)
	e.clock.Advance(7*24*time.Hour + time.Second)
	_, err = e.svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "acme", Email: "late@example.com", Password: pw, FullName: "Late", InvitationToken: tok})
	require.ErrorIs(t, err, auth.ErrInvalidInvitation)
}

func TestOperatorBootstrapAndLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	created, err := e.svc.BootstrapOperator(ctx, "root@example.com", pw)
	require.NoError(t, err)
	require.True(t, created)
	created, err = e.svc.BootstrapOperator(ctx, "root@example.com", pw)
	require.NoError(t, err)
	require.False(t, created, "idempotent across restarts")
	_, err = e.svc.BootstrapOperator(ctx, "root2@example.com", "weak")
	requireKind(t, eusaas.InvalidArgument, err)

	pair, err := e.svc.Login(ctx, auth.LoginInput{Email: "root@example.com", Password: pw})
	require.NoError(t, err)
	p, err := e.svc.Authenticate(ctx, pair.AccessToken)
	require.NoError(t, err)
	require.Equal(t, eusaas.ActorOperator, p.Kind)
	require.True(t, p.TenantID.IsZero())
	require.True(t, p.Can(e.tenant, auth.PermTenantAdmin))
	// An operator's credentials do not log in to a tenant.
	_, err = e.svc.Login(ctx, auth.LoginInput{TenantIDOrSlug: "acme", Email: "root@example.com", Password: pw})
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	p2, err := e.svc.Refresh(ctx, pair.RefreshToken)
	require.NoError(t, err)
	p, err = e.svc.Authenticate(ctx, p2.AccessToken)
	require.NoError(t, err)
	require.NoError(t, e.svc.Logout(ctx, p, ""))
	_, err = e.svc.Authenticate(ctx, p2.AccessToken)
	require.ErrorIs(t, err, auth.ErrInvalidToken)
}

// A refresh token has one spelling: variants whose trailing base64 bits differ (and decode to
// the same bytes under lenient decoding) are refused.
func TestRefreshTokenNotMalleable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "ada@example.com", auth.RoleMember)
	good := e.login(t, "ada@example.com").RefreshToken
	want, err := base64.RawURLEncoding.DecodeString(good)
	require.NoError(t, err)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	variants := 0
	for _, c := range alphabet {
		v := good[:len(good)-1] + string(c)
		if v == good {
			continue
		}
		if got, err := base64.RawURLEncoding.DecodeString(v); err == nil && bytes.Equal(got, want) {
			variants++
			_, err := e.svc.Refresh(context.Background(), v)
			require.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
		}
	}
	require.Positive(t, variants, "the token length leaves malleable trailing bits to test")
}

// Operators hold PermInvite on every tenant id, so Invite itself must check the tenant: an
// invitation for a tenant that does not exist, was erased or is suspended is refused and
// nothing is stored (the memory server answered 201 and kept the email of an erased tenant).
func TestInviteNeedsALiveTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	gone, susp := eusaas.NewTenantID(), eusaas.NewTenantID()
	e.ten["gone"] = auth.TenantInfo{ID: gone, Status: "DELETED"}
	e.ten["susp"] = auth.TenantInfo{ID: susp, Status: "SUSPENDED"}
	op := auth.Principal{Kind: eusaas.ActorOperator, UserID: uuid.NewString()}
	before := e.rec.actions()
	for _, c := range []struct {
		tenant eusaas.TenantID
		kind   eusaas.Kind
	}{{eusaas.NewTenantID(), eusaas.NotFound}, {gone, eusaas.NotFound}, {susp, eusaas.PermissionDenied}} {
		_, tok, err := e.svc.Invite(ctx, op, auth.InviteInput{TenantID: c.tenant, Email: "x@example.com", Role: auth.RoleOwner})
		requireKind(t, c.kind, err)
		require.Empty(t, tok)
	}
	require.Equal(t, before, e.rec.actions(), "no invitation recorded")
	_, _, err := e.svc.Invite(ctx, op, auth.InviteInput{TenantID: e.tenant, Email: "x@example.com", Role: auth.RoleOwner})
	require.NoError(t, err, "control: the live tenant")
}

// A full name with a control character is refused before the invitation is consumed.
func TestRegisterRefusesControlCharactersInName(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	_, tok, err := e.svc.Invite(ctx, auth.Principal{Kind: eusaas.ActorOperator}, auth.InviteInput{TenantID: e.tenant, Email: "a@example.com", Role: auth.RoleMember})
	require.NoError(t, err)
	_, err = e.svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "acme", Email: "a@example.com", Password: pw, FullName: "A\x00B", InvitationToken: tok})
	requireKind(t, eusaas.InvalidArgument, err)
	require.Equal(t, "body.full_name", eusaas.FieldsOf(err)[0].Location)
	_, err = e.svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "acme", Email: "a@example.com", Password: pw, FullName: "A B", InvitationToken: tok})
	require.NoError(t, err)
}

// The access token carries exactly the claims the issue names: iss, sub, aud, tenant_id,
// role, exp (15 min after iat), iat, nbf and jti, RS256 with the key's RFC 7638 thumbprint
// as kid.
func TestAccessTokenClaims(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user(t, "ada@example.com", auth.RoleAdmin)
	pair := e.login(t, "ada@example.com")
	tok, _, err := jwt.NewParser().ParseUnverified(pair.AccessToken, jwt.MapClaims{})
	require.NoError(t, err)
	require.Equal(t, "RS256", tok.Header["alg"])
	require.Equal(t, auth.Thumbprint(&testKey().PublicKey), tok.Header["kid"])
	c := tok.Claims.(jwt.MapClaims)
	cfg := auth.DefaultConfig()
	require.Equal(t, cfg.Issuer, c["iss"])
	require.Equal(t, u.ID.String(), c["sub"])
	aud, err := c.GetAudience()
	require.NoError(t, err)
	require.Equal(t, jwt.ClaimStrings{cfg.Audience}, aud)
	require.Equal(t, e.tenant.String(), c["tenant_id"])
	require.Equal(t, "ADMIN", c["role"])
	require.NotEmpty(t, c["jti"])
	iat, exp, nbf := c["iat"].(float64), c["exp"].(float64), c["nbf"].(float64)
	require.Equal(t, float64(15*60), exp-iat)
	require.Equal(t, iat, nbf)
	require.Equal(t, 15*60, pair.ExpiresIn)
	require.Equal(t, "Bearer", pair.TokenType)
}

// Login refuses a suspended tenant's users, and so does refresh: no new tokens until the
// tenant is ACTIVE again, when the same session works again (it was not revoked).
func TestRefreshNeedsAnActiveTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "ada@example.com", auth.RoleMember)
	pair := e.login(t, "ada@example.com")
	e.ten["acme"] = auth.TenantInfo{ID: e.tenant, Status: "SUSPENDED"}
	_, err := e.svc.Refresh(ctx, pair.RefreshToken)
	require.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
	e.ten["acme"] = auth.TenantInfo{ID: e.tenant, Status: auth.TenantActive}
	_, err = e.svc.Refresh(ctx, pair.RefreshToken)
	require.NoError(t, err, "the suspended tenant's session survives until reactivation")
	e.ten["acme"] = auth.TenantInfo{ID: e.tenant, Status: "DELETED"}
	_, err = e.svc.Refresh(ctx, pair.RefreshToken)
	require.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
}

// staleCount is a UserStore whose CountUsers reports no users: it lets registration pass
// the early check as it would when a concurrent registration took the last seat meanwhile,
// so the store's authoritative refusal (and the rollback) are what is tested.
type staleCount struct{ *memauth.Store }

func (staleCount) CountUsers(context.Context, eusaas.TenantID) (int, error) { return 0, nil }

func TestRegisterEnforcesMaxUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.ten["acme"] = auth.TenantInfo{ID: e.tenant, Status: auth.TenantActive, MaxUsers: 2}
	e.user(t, "owner@example.com", auth.RoleOwner)
	ada := e.user(t, "ada@example.com", auth.RoleMember)

	_, tok, err := e.svc.Invite(ctx, auth.Principal{Kind: eusaas.ActorOperator}, auth.InviteInput{TenantID: e.tenant, Email: "bob@example.com", Role: auth.RoleMember})
	require.NoError(t, err)
	bob := auth.RegisterInput{TenantIDOrSlug: "acme", Email: "bob@example.com", Password: pw, FullName: "Bob", InvitationToken: tok}
	_, err = e.svc.Register(ctx, bob)
	require.ErrorIs(t, err, auth.ErrTenantUserLimit)
	requireKind(t, eusaas.FailedPrecondition, err)
	require.Equal(t, "tenant_user_limit", eusaas.CodeOf(err))
	_, err = e.store.GetUserByEmail(ctx, e.tenant, "bob@example.com")
	requireKind(t, eusaas.NotFound, err)

	// Self-registration is capped alike.
	e.ten["acme"] = auth.TenantInfo{ID: e.tenant, Status: auth.TenantActive, MaxUsers: 2, AllowSelfRegistration: true}
	_, err = e.svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "acme", Email: "self@example.com", Password: pw, FullName: "Self"})
	require.ErrorIs(t, err, auth.ErrTenantUserLimit)

	// A deactivated user still holds a seat.
	require.NoError(t, e.svc.SetUserActive(ctx, e.tenant, ada.ID, false))
	_, err = e.svc.Register(ctx, bob)
	require.ErrorIs(t, err, auth.ErrTenantUserLimit)

	// The refusals did not use the invitation up: once a seat is free it still works.
	e.ten["acme"] = auth.TenantInfo{ID: e.tenant, Status: auth.TenantActive, MaxUsers: 3}
	u, err := e.svc.Register(ctx, bob)
	require.NoError(t, err)
	require.Equal(t, auth.RoleMember, u.Role)
	n, err := e.store.CountUsers(ctx, e.tenant)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	registered := 0
	for _, a := range e.rec.actions() {
		if a == auth.ActionRegister {
			registered++
		}
	}
	require.Equal(t, 3, registered, "refused registrations record no USER_REGISTERED")

	// No limit (0) never refuses.
	e.ten["acme"] = auth.TenantInfo{ID: e.tenant, Status: auth.TenantActive}
	e.user(t, "carol@example.com", auth.RoleViewer)
}

// TestRegisterLimitRaceKeepsInvitation: when the store refuses the seat after the early
// check passed (a concurrent registration took it), the invitation's consumption is rolled
// back with the refused insert.
func TestRegisterLimitRaceKeepsInvitation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(d *auth.Deps, _ *auth.Config) { d.Users = staleCount{d.Users.(*memauth.Store)} })
	ctx := context.Background()
	e.ten["acme"] = auth.TenantInfo{ID: e.tenant, Status: auth.TenantActive, MaxUsers: 1}
	e.user(t, "owner@example.com", auth.RoleOwner)
	_, tok, err := e.svc.Invite(ctx, auth.Principal{Kind: eusaas.ActorOperator}, auth.InviteInput{TenantID: e.tenant, Email: "bob@example.com", Role: auth.RoleAdmin})
	require.NoError(t, err)
	bob := auth.RegisterInput{TenantIDOrSlug: "acme", Email: "bob@example.com", Password: pw, FullName: "Bob", InvitationToken: tok}
	_, err = e.svc.Register(ctx, bob)
	require.ErrorIs(t, err, auth.ErrTenantUserLimit)
	e.ten["acme"] = auth.TenantInfo{ID: e.tenant, Status: auth.TenantActive, MaxUsers: 2}
	u, err := e.svc.Register(ctx, bob)
	require.NoError(t, err, "the invitation survived the refused registration")
	require.Equal(t, auth.RoleAdmin, u.Role)
}

// A validly signed token without iat, or with a date claim that is a string rather than a
// NumericDate, is refused: the issuer never makes one, so it is forged or foreign.
func TestAccessTokenNeedsNumericDates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "ada@example.com", auth.RoleMember)
	pair := e.login(t, "ada@example.com")
	tok, _, err := jwt.NewParser().ParseUnverified(pair.AccessToken, jwt.MapClaims{})
	require.NoError(t, err)
	resign := func(edit func(jwt.MapClaims)) string {
		c := jwt.MapClaims{}
		for k, v := range tok.Claims.(jwt.MapClaims) {
			c[k] = v
		}
		edit(c)
		nt := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
		nt.Header["kid"] = tok.Header["kid"]
		s, err := nt.SignedString(testKey())
		require.NoError(t, err)
		return s
	}
	// The unchanged claims re-signed are accepted: the refusals below are the edits'.
	_, err = e.svc.Authenticate(ctx, resign(func(jwt.MapClaims) {}))
	require.NoError(t, err)
	for name, edit := range map[string]func(jwt.MapClaims){
		"no iat":     func(c jwt.MapClaims) { delete(c, "iat") },
		"string exp": func(c jwt.MapClaims) { c["exp"] = fmt.Sprint(int64(c["exp"].(float64))) },
		"string iat": func(c jwt.MapClaims) { c["iat"] = fmt.Sprint(int64(c["iat"].(float64))) },
		"string nbf": func(c jwt.MapClaims) { c["nbf"] = fmt.Sprint(int64(c["nbf"].(float64))) },
	} {
		_, err := e.svc.Authenticate(ctx, resign(edit))
		require.ErrorIs(t, err, auth.ErrInvalidToken, name)
	}
}

// A user lists their own sessions with the client each was opened from, ends one or all but
// the current one, and cannot touch another user's session (NotFound).
func TestOwnSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "ada@example.com", auth.RoleMember)
	e.user(t, "bob@example.com", auth.RoleMember)
	loginFrom := func(email, ua, ip string) auth.Principal {
		mctx := eusaas.WithRequestMeta(ctx, eusaas.RequestMeta{UserAgent: ua, IP: ip})
		pair, err := e.svc.Login(mctx, auth.LoginInput{TenantIDOrSlug: "acme", Email: email, Password: pw})
		require.NoError(t, err)
		p, err := e.svc.Authenticate(ctx, pair.AccessToken)
		require.NoError(t, err)
		return p
	}
	laptop := loginFrom("ada@example.com", "laptop/1", "203.0.113.7")
	phone := loginFrom("ada@example.com", "phone/2", "198.51.100.9")
	tablet := loginFrom("ada@example.com", "tablet/3", "192.0.2.44")
	bob := loginFrom("bob@example.com", "bob/1", "192.0.2.1")

	list, err := e.svc.Sessions(ctx, laptop)
	require.NoError(t, err)
	require.Len(t, list, 3)
	byID := map[string]auth.Session{}
	for _, x := range list {
		byID[x.ID.String()] = x
		require.Nil(t, x.TokenHash)
	}
	require.Equal(t, "laptop/1", byID[laptop.SessionID].UserAgent)
	require.Equal(t, "198.51.100.9", byID[phone.SessionID].IP)

	bobSession := uuid.MustParse(bob.SessionID)
	requireKind(t, eusaas.NotFound, e.svc.RevokeOwnSession(ctx, laptop, bobSession))
	requireKind(t, eusaas.NotFound, e.svc.RevokeOwnSession(ctx, laptop, uuid.New()))

	require.NoError(t, e.svc.RevokeOwnSession(ctx, laptop, uuid.MustParse(tablet.SessionID)))
	requireKind(t, eusaas.NotFound, e.svc.RevokeOwnSession(ctx, laptop, uuid.MustParse(tablet.SessionID)))
	n, err := e.svc.RevokeOtherSessions(ctx, laptop)
	require.NoError(t, err)
	require.Equal(t, 1, n, "only the phone was left besides the current one")
	list, err = e.svc.Sessions(ctx, laptop)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, laptop.SessionID, list[0].ID.String())
	list, err = e.svc.Sessions(ctx, bob)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Contains(t, e.rec.actions(), auth.ActionSessionRevoked)
}
