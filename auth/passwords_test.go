package auth_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

const newPW = "Battery-Staple-7"

// tokenOf pulls the token out of a mail's link fragment.
func tokenOf(t *testing.T, m auth.Mail) string {
	t.Helper()
	i := strings.Index(m.Text, "#")
	require.GreaterOrEqual(t, i, 0)
	end := strings.IndexAny(m.Text[i:], " \n")
	v, err := url.ParseQuery(m.Text[i+1 : i+end])
	require.NoError(t, err)
	return v.Get("token")
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "ada@example.com", auth.RoleMember)
	other := e.login(t, "ada@example.com")
	cur := e.login(t, "ada@example.com")
	p, err := e.svc.Authenticate(ctx, "Bearer "+cur.AccessToken)
	require.NoError(t, err)

	err = e.svc.ChangePassword(ctx, p, "Wrong-Password-1", newPW)
	requireKind(t, eusaas.InvalidArgument, err)
	require.Equal(t, "body.current_password", eusaas.FieldsOf(err)[0].Location)
	require.NotContains(t, err.Error(), "Wrong-Password-1")
	requireKind(t, eusaas.InvalidArgument, e.svc.ChangePassword(ctx, p, pw, "weak"))
	require.NoError(t, e.svc.ChangePassword(ctx, p, pw, newPW))

	_, err = e.svc.Refresh(ctx, other.RefreshToken)
	require.ErrorIs(t, err, auth.ErrInvalidRefreshToken, "the other session ended")
	_, err = e.svc.Refresh(ctx, cur.RefreshToken)
	require.NoError(t, err, "the current session stays")
	_, err = e.svc.Login(ctx, auth.LoginInput{TenantIDOrSlug: "acme", Email: "ada@example.com", Password: pw})
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	_, err = e.svc.Login(ctx, auth.LoginInput{TenantIDOrSlug: "acme", Email: "ada@example.com", Password: newPW})
	require.NoError(t, err)
	require.Contains(t, e.rec.actions(), auth.ActionPasswordChanged)
	require.Contains(t, e.rec.actions(), auth.ActionPasswordChangeFailed)

	// Guessing through a stolen access token backs off like logins do.
	p2, err := e.svc.Authenticate(ctx, "Bearer "+cur.AccessToken)
	require.NoError(t, err)
	var last error
	for i := 0; i < 12; i++ {
		last = e.svc.ChangePassword(ctx, p2, "Wrong-Password-1", newPW+"x")
	}
	requireKind(t, eusaas.ResourceExhausted, last)
	_, ok := auth.RetryAfter(last)
	require.True(t, ok)
}

func TestForgotAndResetPassword(t *testing.T) {
	t.Parallel()
	e, runner, out := mailEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", auth.RoleMember)
	runner.WorkAvailable(ctx) // the fixture's invitation mails
	before := len(out.Mails())
	sess := e.login(t, "ada@example.com")

	// Unknown account, unknown tenant, known account: the same nil answer, one job each.
	require.NoError(t, e.svc.ForgotPassword(ctx, "acme", "nobody@example.com"))
	require.NoError(t, e.svc.ForgotPassword(ctx, "no-such-tenant", "ada@example.com"))
	require.NoError(t, e.svc.ForgotPassword(ctx, "acme", "ADA@example.com"))
	requireKind(t, eusaas.InvalidArgument, e.svc.ForgotPassword(ctx, "acme", "not-an-email"))
	require.Len(t, out.Mails(), before, "nothing is sent inside the request")
	runner.WorkAvailable(ctx)
	mails := out.Mails()[before:]
	require.Len(t, mails, 1, "only the existing account gets a mail")
	require.Equal(t, auth.MailPasswordReset, mails[0].Template)
	require.Equal(t, "ada@example.com", mails[0].To)
	tok := tokenOf(t, mails[0])
	require.Equal(t, mails[0].Secret, tok)
	raw := strings.TrimSpace(tok)
	require.GreaterOrEqual(t, len(raw)*6/8-16, 16, "at least 128 random bits beside the tenant")

	// A second request voids the first link.
	require.NoError(t, e.svc.ForgotPassword(ctx, "acme", "ada@example.com"))
	runner.WorkAvailable(ctx)
	tok2 := tokenOf(t, out.Mails()[len(out.Mails())-1])
	require.NotEqual(t, tok, tok2)
	require.ErrorIs(t, e.svc.ResetPassword(ctx, tok, newPW), auth.ErrInvalidResetToken)

	requireKind(t, eusaas.InvalidArgument, e.svc.ResetPassword(ctx, tok2, "weak"))
	require.ErrorIs(t, e.svc.ResetPassword(ctx, "garbage", newPW), auth.ErrInvalidResetToken)
	require.NoError(t, e.svc.ResetPassword(ctx, tok2, newPW))
	require.ErrorIs(t, e.svc.ResetPassword(ctx, tok2, newPW+"2"), auth.ErrInvalidResetToken, "single use")
	_, err := e.svc.Refresh(ctx, sess.RefreshToken)
	require.ErrorIs(t, err, auth.ErrInvalidRefreshToken, "every session ended")
	_, err = e.svc.Login(ctx, auth.LoginInput{TenantIDOrSlug: "acme", Email: "ada@example.com", Password: newPW})
	require.NoError(t, err)

	// Expiry after one hour.
	require.NoError(t, e.svc.ForgotPassword(ctx, "acme", "ada@example.com"))
	runner.WorkAvailable(ctx)
	tok3 := tokenOf(t, out.Mails()[len(out.Mails())-1])
	e.clock.Advance(auth.PasswordResetTTL + time.Second)
	require.ErrorIs(t, e.svc.ResetPassword(ctx, tok3, newPW+"3"), auth.ErrInvalidResetToken)

	// A deactivated account gets no mail.
	_, err = e.svc.UpdateUser(ctx, auth.Principal{Kind: eusaas.ActorOperator}, e.tenant, u.ID, auth.UserPatch{IsActive: ptrTo(false)})
	require.NoError(t, err)
	n := len(out.Mails())
	require.NoError(t, e.svc.ForgotPassword(ctx, "acme", "ada@example.com"))
	runner.WorkAvailable(ctx)
	require.Len(t, out.Mails(), n)

	for _, ev := range e.rec.events {
		for _, s := range []string{tok, tok2, tok3, newPW} {
			require.NotContains(t, ev.ResourceID+ev.Subject, s)
			for _, v := range ev.Personal {
				require.NotContains(t, v, s)
			}
			for _, v := range ev.Changes {
				if str, ok := v.(string); ok {
					require.NotContains(t, str, s)
				}
			}
		}
	}
	require.Contains(t, e.rec.actions(), auth.ActionPasswordReset)
	require.Contains(t, e.rec.actions(), auth.ActionPasswordResetRequested)
}

func TestOperatorPasswordReset(t *testing.T) {
	t.Parallel()
	e, runner, out := mailEnv(t)
	ctx := context.Background()
	_, err := e.svc.BootstrapOperator(ctx, "root@example.com", pw)
	require.NoError(t, err)
	require.NoError(t, e.svc.ForgotPassword(ctx, "", "root@example.com"))
	runner.WorkAvailable(ctx)
	mails := out.Mails()
	require.Len(t, mails, 1)
	require.NotContains(t, mails[0].Text, "tenant=", "operators have no tenant")
	require.NoError(t, e.svc.ResetPassword(ctx, tokenOf(t, mails[0]), newPW))
	_, err = e.svc.Login(ctx, auth.LoginInput{Email: "root@example.com", Password: newPW})
	require.NoError(t, err)
}
