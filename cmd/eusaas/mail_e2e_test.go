package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/adapters/smtpmail/smtptest"
)

// invite creates tenant "mail-co", registers its owner and has the owner invite bob; it
// returns the invitation token the API answered.
func inviteBob(t *testing.T, c *client) string {
	t.Helper()
	op := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(t)["access_token"].(string)
	tn := c.createTenant(op, map[string]any{"name": "Mail Co", "slug": "mail-co", "admin_email": "owner@mail.example"})
	c.expect(201, c.do("POST", "/api/v1/auth/register", "", map[string]any{"email": "owner@mail.example", "password": "Owner-Passw0rd!", "full_name": "O",
		"invitation_token": tn["owner_invitation"].(map[string]any)["token"]}, "X-Tenant-ID", "mail-co"))
	owner := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "owner@mail.example", "password": "Owner-Passw0rd!"},
		"X-Tenant-ID", "mail-co")).json(t)["access_token"].(string)
	inv := c.expect(201, c.do("POST", "/api/v1/tenants/"+tn["id"].(string)+"/invitations", owner,
		map[string]any{"email": "bob@mail.example", "role": "MEMBER"})).json(t)
	return inv["token"].(string)
}

// TestInvitationMailArrivesOverSMTP: with APP_SMTP_URL the invitation mail is sent by the job
// runner to a real SMTP server, carrying a link under APP_PUBLIC_URL with the token.
func TestInvitationMailArrivesOverSMTP(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{Mode: smtptest.Plain})
	logs := &syncBuffer{}
	c := startAppLogging(t, map[string]string{"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword,
		"APP_SMTP_URL": "smtp://" + srv.Addr, "APP_MAIL_FROM": "EU SaaS <no-reply@eusaas.example>",
		"APP_PUBLIC_URL": "https://console.eusaas.example"}, logs)
	token := inviteBob(t, c)
	msgs := srv.Wait(1, 20*time.Second)
	require.Len(t, msgs, 1, "the invitation mail arrived")
	require.Equal(t, []string{"bob@mail.example"}, msgs[0].To)
	require.Equal(t, "no-reply@eusaas.example", msgs[0].From)
	require.Equal(t, "You are invited", msgs[0].Subject)
	body := strings.ReplaceAll(string(msgs[0].Data), "=\r\n", "") // undo quoted-printable soft breaks
	require.Contains(t, body, "https://console.eusaas.example/accept-invitation#")
	require.Contains(t, body, token)
	require.NotContains(t, logs.String(), token, "the token never reaches the log")
}

// TestInvitationMailInMemoryOutbox: without APP_SMTP_URL the mail goes to the log with the
// token redacted.
func TestInvitationMailInMemoryOutbox(t *testing.T) {
	logs := &syncBuffer{}
	c := startAppLogging(t, map[string]string{"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword}, logs)
	token := inviteBob(t, c)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "memory outbox") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	out := logs.String()
	require.Contains(t, out, "memory outbox")
	require.Contains(t, out, "[REDACTED]")
	require.Contains(t, out, "accept-invitation")
	require.NotContains(t, out, token)
}
