package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/auth"
)

func TestEmailVerification(t *testing.T) {
	t.Parallel()
	e, runner, out := mailEnv(t)
	ctx := context.Background()
	invited := e.user(t, "invited@example.com", auth.RoleMember)
	require.True(t, invited.EmailVerified, "an accepted invitation verifies the address")

	e.ten["open"] = auth.TenantInfo{ID: e.tenant, Status: auth.TenantActive, AllowSelfRegistration: true}
	u, err := e.svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "open", Email: "self@example.com", Password: pw, FullName: "Self"})
	require.NoError(t, err)
	require.False(t, u.EmailVerified)
	runner.WorkAvailable(ctx)
	var tok string
	for _, m := range out.Mails() {
		if m.Template == auth.MailEmailVerification {
			require.Equal(t, "self@example.com", m.To)
			tok = tokenOf(t, m)
		}
	}
	require.NotEmpty(t, tok, "self-registration sends a verification mail")

	// A tenant requiring verification refuses the login until then (after the password).
	e.ten["strict"] = auth.TenantInfo{ID: e.tenant, Status: auth.TenantActive, RequireEmailVerification: true}
	_, err = e.svc.Login(ctx, auth.LoginInput{TenantIDOrSlug: "strict", Email: "self@example.com", Password: pw})
	require.ErrorIs(t, err, auth.ErrEmailNotVerified)
	_, err = e.svc.Login(ctx, auth.LoginInput{TenantIDOrSlug: "strict", Email: "self@example.com", Password: "Wrong-Password-1"})
	require.ErrorIs(t, err, auth.ErrInvalidCredentials, "without the password nothing is told")
	_, err = e.svc.Login(ctx, auth.LoginInput{TenantIDOrSlug: "open", Email: "self@example.com", Password: pw})
	require.NoError(t, err, "a tenant not requiring it lets the user in")

	require.ErrorIs(t, e.svc.VerifyEmail(ctx, "nope"), auth.ErrInvalidVerificationToken)
	require.NoError(t, e.svc.VerifyEmail(ctx, tok))
	require.ErrorIs(t, e.svc.VerifyEmail(ctx, tok), auth.ErrInvalidVerificationToken, "single use")
	me, err := e.svc.GetUser(ctx, principalOf(invited), e.tenant, u.ID)
	require.NoError(t, err)
	require.True(t, me.EmailVerified)
	_, err = e.svc.Login(ctx, auth.LoginInput{TenantIDOrSlug: "strict", Email: "self@example.com", Password: pw})
	require.NoError(t, err)
	require.Contains(t, e.rec.actions(), auth.ActionEmailVerified)
}

func TestEmailVerificationExpires(t *testing.T) {
	t.Parallel()
	e, runner, out := mailEnv(t)
	ctx := context.Background()
	e.ten["open"] = auth.TenantInfo{ID: e.tenant, Status: auth.TenantActive, AllowSelfRegistration: true}
	_, err := e.svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "open", Email: "late@example.com", Password: pw, FullName: "Late"})
	require.NoError(t, err)
	runner.WorkAvailable(ctx)
	mails := out.Mails()
	require.Len(t, mails, 1)
	e.clock.Advance(auth.EmailVerificationTTL + time.Second)
	require.ErrorIs(t, e.svc.VerifyEmail(ctx, tokenOf(t, mails[0])), auth.ErrInvalidVerificationToken)
}
