package auth_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/auth/memauth"
	"github.com/eusaas/eusaas/jobs"
	"github.com/eusaas/eusaas/jobs/memjobs"
)

// mailEnv is an env whose service queues mails on a memjobs runner delivering to an outbox.
func mailEnv(t *testing.T) (*env, *memjobs.Runner, *memauth.Outbox) {
	t.Helper()
	out := memauth.NewOutbox(nil)
	reg := jobs.NewRegistry()
	reg.Handle(auth.MailJobKind, auth.MailHandler(out, "https://app.example.eu"))
	var runner *memjobs.Runner
	var e *env
	reg.Handle(auth.PasswordForgotJobKind, func(ctx context.Context, j jobs.Job) error { return e.svc.HandlePasswordForgot(ctx, j) })
	e = newEnv(t, func(d *auth.Deps, _ *auth.Config) {
		runner = memjobs.NewRunner(reg, memjobs.Options{Clock: d.Clock})
		d.Jobs = runner
		d.PasswordResets = d.Users.(auth.PasswordResetStore)
		d.EmailVerifications = d.Users.(auth.EmailVerificationStore)
	})
	return e, runner, out
}

func TestInvitationMailIsQueuedWithTheInvitation(t *testing.T) {
	t.Parallel()
	e, runner, out := mailEnv(t)
	ctx := context.Background()
	op := auth.Principal{Kind: eusaas.ActorOperator}
	_, tok, err := e.svc.Invite(ctx, op, auth.InviteInput{TenantID: e.tenant, Email: "Bob@Example.com", Role: auth.RoleViewer})
	require.NoError(t, err)
	require.Empty(t, out.Mails(), "nothing is sent inside the request")
	require.Equal(t, 1, runner.WorkAvailable(ctx))
	mails := out.Mails()
	require.Len(t, mails, 1)
	m := mails[0]
	require.Equal(t, "bob@example.com", m.To)
	require.Equal(t, auth.MailInvitation, m.Template)
	require.Equal(t, tok, m.Secret)
	require.Contains(t, m.Text, "https://app.example.eu/accept-invitation#tenant="+e.tenant.String()+"&token="+tok)
	require.Contains(t, m.HTML, "accept-invitation#tenant=")
	require.Contains(t, m.Text, "VIEWER")
	require.NotContains(t, memauth.Redact(m.Text, m.Secret), tok)

	// A refused invitation queues nothing.
	_, _, err = e.svc.Invite(ctx, op, auth.InviteInput{TenantID: eusaas.NewTenantID(), Email: "x@example.com", Role: auth.RoleViewer})
	require.Error(t, err)
	require.Zero(t, runner.WorkAvailable(ctx))
}

func TestRenderMailEscapesAndRefusesUnknownTemplates(t *testing.T) {
	t.Parallel()
	_, err := auth.RenderMail("https://x.example", auth.MailArgs{Template: "nope"})
	requireKind(t, eusaas.InvalidArgument, err)
	m, err := auth.RenderMail("https://x.example", auth.MailArgs{To: "a@example.com", Template: auth.MailInvitation,
		Token: "t", Role: `<script>alert(1)</script>`})
	require.NoError(t, err)
	require.False(t, strings.Contains(m.HTML, "<script>"), "the HTML part escapes its data")
}
