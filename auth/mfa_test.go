package auth_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

// rfc6238 computes a 6-digit TOTP code (RFC 6238 over RFC 4226 HOTP with HMAC-SHA1) for the
// step containing at. The test computes codes itself, so a module that computed them wrong
// the same way in enrolment and verification would still fail here.
func rfc6238(secret []byte, at time.Time) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(at.Unix()/30))
	m := hmac.New(sha1.New, secret)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", bin%1_000_000)
}

func TestRFC6238Helper(t *testing.T) {
	t.Parallel()
	// RFC 6238 Appendix B, SHA-1 key "12345678901234567890": the 8-digit codes end in these
	// six digits.
	key := []byte("12345678901234567890")
	for at, want := range map[int64]string{59: "287082", 1111111109: "081804", 1234567890: "005924", 2000000000: "279037"} {
		require.Equal(t, want, rfc6238(key, time.Unix(at, 0)), "T=%d", at)
	}
}

// atStepStart moves the clock to one second into a fresh 30-second step.
func atStepStart(e *env) {
	now := e.clock.Now().Unix()
	e.clock.Set(time.Unix((now/30+1)*30+1, 0))
}

func decodeSecret(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
	require.NoError(t, err)
	require.Len(t, b, 20, "160-bit secret as RFC 4226 recommends")
	return b
}

// enrol runs the whole enrolment for the principal and returns the raw secret and the
// recovery codes.
func enrol(t *testing.T, e *env, p auth.Principal) ([]byte, []string) {
	t.Helper()
	ctx := context.Background()
	secret, otpURL, err := e.svc.EnrollTOTP(ctx, p)
	require.NoError(t, err)
	u, err := url.Parse(otpURL)
	require.NoError(t, err)
	require.Equal(t, "otpauth", u.Scheme)
	require.Equal(t, "totp", u.Host)
	q := u.Query()
	require.Equal(t, secret, q.Get("secret"))
	require.Equal(t, "SHA1", q.Get("algorithm"))
	require.Equal(t, "6", q.Get("digits"))
	require.Equal(t, "30", q.Get("period"))
	raw := decodeSecret(t, secret)
	codes, err := e.svc.ConfirmTOTP(ctx, p, rfc6238(raw, e.clock.Now()))
	require.NoError(t, err)
	require.Len(t, codes, 10)
	seen := map[string]bool{}
	for _, c := range codes {
		require.False(t, seen[c])
		seen[c] = true
	}
	return raw, codes
}

func TestTOTPEnrolmentAndLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(d *auth.Deps, c *auth.Config) {
		d.MFA = d.Users.(auth.MFAStore)
		c.TOTPKey = []byte("0123456789abcdef0123456789abcdef")
	})
	atStepStart(e)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", auth.RoleMember)
	first := e.login(t, "ada@example.com")
	p, err := e.svc.Authenticate(ctx, first.AccessToken)
	require.NoError(t, err)

	secret, _, err := e.svc.EnrollTOTP(ctx, p)
	require.NoError(t, err)
	raw := decodeSecret(t, secret)
	st, err := e.store.GetTOTP(ctx, e.tenant, u.ID)
	require.NoError(t, err)
	require.NotContains(t, string(st.Secret), string(raw), "sealed at rest under the TOTP key")

	// A pending enrolment does not change login.
	_ = e.login(t, "ada@example.com")
	_, err = e.svc.ConfirmTOTP(ctx, p, "000000")
	if rfc6238(raw, e.clock.Now()) != "000000" {
		requireKind(t, eusaas.InvalidArgument, err)
	}
	_, err = e.svc.ConfirmTOTP(ctx, p, "12345")
	requireKind(t, eusaas.InvalidArgument, err)
	codes, err := e.svc.ConfirmTOTP(ctx, p, rfc6238(raw, e.clock.Now()))
	require.NoError(t, err)
	require.Len(t, codes, 10)
	_, _, err = e.svc.EnrollTOTP(ctx, p)
	require.ErrorIs(t, err, auth.ErrMFAEnabled)

	// Login now asks for the second factor: no tokens on the password alone.
	in := auth.LoginInput{TenantIDOrSlug: "acme", Email: "ada@example.com", Password: pw}
	_, err = e.svc.Login(ctx, in)
	require.ErrorIs(t, err, auth.ErrMFARequired)
	r, err := e.svc.LoginStart(ctx, in)
	require.NoError(t, err)
	require.NotNil(t, r.MFA)
	require.Empty(t, r.Tokens.AccessToken)
	require.Equal(t, 300, r.MFA.ExpiresIn)
	_, err = e.svc.Authenticate(ctx, r.MFA.Token)
	require.ErrorIs(t, err, auth.ErrInvalidToken, "an mfa_token is no access token")
	_, err = e.svc.CompleteMFALogin(ctx, first.AccessToken, rfc6238(raw, e.clock.Now().Add(30*time.Second)))
	require.ErrorIs(t, err, auth.ErrInvalidMFA, "an access token is no mfa_token")

	// The confirming code's step is used: the same code is a replay.
	_, err = e.svc.CompleteMFALogin(ctx, r.MFA.Token, rfc6238(raw, e.clock.Now()))
	require.ErrorIs(t, err, auth.ErrInvalidMFA, "replay within the step")
	e.clock.Advance(30 * time.Second)
	code := rfc6238(raw, e.clock.Now())
	pair, err := e.svc.CompleteMFALogin(ctx, r.MFA.Token, code)
	require.NoError(t, err)
	mp, err := e.svc.Authenticate(ctx, pair.AccessToken)
	require.NoError(t, err)
	require.Equal(t, u.ID.String(), mp.UserID)
	_, err = e.svc.CompleteMFALogin(ctx, r.MFA.Token, code)
	require.ErrorIs(t, err, auth.ErrInvalidMFA, "a used code is refused")
	// One step of skew either way: the previous step's code is older than the last used one,
	// the next step's code is accepted early.
	_, err = e.svc.CompleteMFALogin(ctx, r.MFA.Token, rfc6238(raw, e.clock.Now().Add(-30*time.Second)))
	require.ErrorIs(t, err, auth.ErrInvalidMFA)
	_, err = e.svc.CompleteMFALogin(ctx, r.MFA.Token, rfc6238(raw, e.clock.Now().Add(30*time.Second)))
	require.NoError(t, err)
	_, err = e.svc.CompleteMFALogin(ctx, r.MFA.Token, rfc6238(raw, e.clock.Now().Add(90*time.Second)))
	require.ErrorIs(t, err, auth.ErrInvalidMFA, "two steps ahead is outside the window")

	// Recovery codes: each works once, in any case and with or without the dash.
	_, err = e.svc.CompleteMFALogin(ctx, r.MFA.Token, strings.ToUpper(strings.ReplaceAll(codes[0], "-", "")))
	require.NoError(t, err)
	_, err = e.svc.CompleteMFALogin(ctx, r.MFA.Token, codes[0])
	require.ErrorIs(t, err, auth.ErrInvalidMFA, "recovery codes are single-use")
	_, err = e.svc.CompleteMFALogin(ctx, r.MFA.Token, codes[1])
	require.NoError(t, err)

	// The mfa_token expires.
	e.clock.Advance(auth.MFATokenTTL + time.Minute)
	_, err = e.svc.CompleteMFALogin(ctx, r.MFA.Token, codes[2])
	require.ErrorIs(t, err, auth.ErrInvalidMFA)

	// Disabling needs proof.
	p2, err := e.svc.Authenticate(ctx, pair.AccessToken)
	if err != nil { // the access token may have expired with the clock
		r2, err2 := e.svc.LoginStart(ctx, in)
		require.NoError(t, err2)
		e.clock.Advance(30 * time.Second)
		pair, err2 = e.svc.CompleteMFALogin(ctx, r2.MFA.Token, rfc6238(raw, e.clock.Now()))
		require.NoError(t, err2)
		p2, err = e.svc.Authenticate(ctx, pair.AccessToken)
	}
	require.NoError(t, err)
	requireKind(t, eusaas.InvalidArgument, e.svc.DisableTOTP(ctx, p2, "", ""))
	requireKind(t, eusaas.InvalidArgument, e.svc.DisableTOTP(ctx, p2, "", "Wrong-Horse-9"))
	require.NoError(t, e.svc.DisableTOTP(ctx, p2, "", pw))
	_ = e.login(t, "ada@example.com")
	require.ErrorIs(t, e.svc.DisableTOTP(ctx, p2, "", pw), auth.ErrMFANotEnabled)

	acts := e.rec.actions()
	for _, a := range []string{auth.ActionMFAEnrolmentStarted, auth.ActionMFAEnabled, auth.ActionMFADisabled, auth.ActionMFAFailed, auth.ActionMFARecoveryUsed} {
		require.Contains(t, acts, a)
	}
	// No audit entry carries the secret or a recovery code.
	b, err := json.Marshal(e.rec.events)
	require.NoError(t, err)
	require.NotContains(t, string(b), secret)
	for _, c := range codes {
		require.NotContains(t, strings.ToLower(string(b)), strings.ReplaceAll(c, "-", ""))
		require.NotContains(t, string(b), c)
	}
}

func TestTOTPAttemptsAreThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(d *auth.Deps, _ *auth.Config) { d.MFA = d.Users.(auth.MFAStore) })
	atStepStart(e)
	ctx := context.Background()
	e.user(t, "bob@example.com", auth.RoleViewer)
	p, err := e.svc.Authenticate(ctx, e.login(t, "bob@example.com").AccessToken)
	require.NoError(t, err)
	raw, _ := enrol(t, e, p)
	e.clock.Advance(30 * time.Second)
	r, err := e.svc.LoginStart(ctx, auth.LoginInput{TenantIDOrSlug: "acme", Email: "bob@example.com", Password: pw})
	require.NoError(t, err)
	good := rfc6238(raw, e.clock.Now())
	wrong := fmt.Sprintf("%06d", (int(good[5]-'0')+1)%10+int(good[0]-'0')*100000)
	for i := 0; i < 6; i++ {
		_, err := e.svc.CompleteMFALogin(ctx, r.MFA.Token, wrong)
		require.ErrorIs(t, err, auth.ErrInvalidMFA)
	}
	_, err = e.svc.CompleteMFALogin(ctx, r.MFA.Token, good)
	require.ErrorIs(t, err, auth.ErrInvalidMFA, "in back-off even the right code is refused")
	e.clock.Advance(2 * time.Second)
	_, err = e.svc.CompleteMFALogin(ctx, r.MFA.Token, good)
	require.NoError(t, err, "after the delay the right code works")
}

func TestTenantRequiresMFA(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(d *auth.Deps, _ *auth.Config) { d.MFA = d.Users.(auth.MFAStore) })
	atStepStart(e)
	ctx := context.Background()
	e.user(t, "cy@example.com", auth.RoleAdmin)
	e.ten["acme"] = auth.TenantInfo{ID: e.tenant, Status: auth.TenantActive, MFARequired: true}
	r, err := e.svc.LoginStart(ctx, auth.LoginInput{TenantIDOrSlug: "acme", Email: "cy@example.com", Password: pw})
	require.NoError(t, err)
	require.True(t, r.EnrolmentRequired)
	require.Nil(t, r.MFA)
	p, err := e.svc.Authenticate(ctx, r.Tokens.AccessToken)
	require.NoError(t, err)
	require.True(t, p.EnrolmentOnly)
	require.False(t, p.Can(e.tenant, auth.PermTenantRead), "an enrolment-only token holds no permission")
	enrol(t, e, p)
	e.clock.Advance(time.Second)
	pair, err := e.svc.Refresh(ctx, r.Tokens.RefreshToken)
	require.NoError(t, err)
	p, err = e.svc.Authenticate(ctx, pair.AccessToken)
	require.NoError(t, err)
	require.False(t, p.EnrolmentOnly, "after enrolment the refreshed token is a full one")
	require.True(t, p.Can(e.tenant, auth.PermTenantRead))
	r, err = e.svc.LoginStart(ctx, auth.LoginInput{TenantIDOrSlug: "acme", Email: "cy@example.com", Password: pw})
	require.NoError(t, err)
	require.NotNil(t, r.MFA, "from now on the second factor is asked")
}

func TestOperatorMFA(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(d *auth.Deps, _ *auth.Config) { d.MFA = d.Users.(auth.MFAStore) })
	atStepStart(e)
	ctx := context.Background()
	_, err := e.svc.BootstrapOperator(ctx, "op@example.com", pw)
	require.NoError(t, err)
	in := auth.LoginInput{Email: "op@example.com", Password: pw}
	pair, err := e.svc.Login(ctx, in)
	require.NoError(t, err)
	p, err := e.svc.Authenticate(ctx, pair.AccessToken)
	require.NoError(t, err)
	raw, _ := enrol(t, e, p)
	r, err := e.svc.LoginStart(ctx, in)
	require.NoError(t, err)
	require.NotNil(t, r.MFA)
	e.clock.Advance(30 * time.Second)
	pair, err = e.svc.CompleteMFALogin(ctx, r.MFA.Token, rfc6238(raw, e.clock.Now()))
	require.NoError(t, err)
	p, err = e.svc.Authenticate(ctx, pair.AccessToken)
	require.NoError(t, err)
	require.Equal(t, eusaas.ActorOperator, p.Kind)
	require.NoError(t, e.svc.DisableTOTP(ctx, p, rfc6238(raw, e.clock.Now().Add(30*time.Second)), ""))
}
