package main

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/adapters/smtpmail/smtptest"
)

var verifyLink = regexp.MustCompile(`https://console\.eusaas\.example/verify-email#([A-Za-z0-9_=&%.-]+)`)

// TestEmailVerificationRequiredByTenant: a tenant with settings.require_email_verification
// refuses a self-registered user's login until the link of the verification mail (sent over
// a real SMTP server) is used.
func TestEmailVerificationRequiredByTenant(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{Mode: smtptest.Plain})
	c := startApp(t, map[string]string{"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword,
		"APP_SMTP_URL": "smtp://" + srv.Addr, "APP_MAIL_FROM": "no-reply@eusaas.example", "APP_PUBLIC_URL": "https://console.eusaas.example"})
	op := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(t)["access_token"].(string)
	tn := c.createTenant(op, map[string]any{"name": "Open Co", "slug": "open-co", "admin_email": "owner@open.example"})
	got := c.expect(200, c.do("PATCH", "/api/v1/tenants/"+tn["id"].(string), op, map[string]any{"settings": map[string]any{
		"allow_self_registration": true, "require_email_verification": true}})).json(t)
	require.Equal(t, true, got["settings"].(map[string]any)["require_email_verification"])

	u := c.expect(201, c.do("POST", "/api/v1/auth/register", "", map[string]any{"email": "self@open.example", "password": "Self-Passw0rd!", "full_name": "S"},
		"X-Tenant-ID", "open-co")).json(t)
	require.Equal(t, false, u["email_verified"])
	login := func() resp {
		return c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "self@open.example", "password": "Self-Passw0rd!"}, "X-Tenant-ID", "open-co")
	}
	r := c.expect(403, login())
	require.Contains(t, string(r.body), "email_not_verified")

	var token string
	for _, m := range srv.Wait(1, 20*time.Second) {
		body := strings.ReplaceAll(strings.ReplaceAll(string(m.Data), "=\r\n", ""), "=3D", "=")
		if mm := verifyLink.FindStringSubmatch(body); mm != nil {
			v, err := url.ParseQuery(mm[1])
			require.NoError(t, err)
			token = v.Get("token")
		}
	}
	require.NotEmpty(t, token, "the verification mail arrived")
	c.expect(204, c.do("POST", "/api/v1/auth/email/verify", "", map[string]any{"token": token}))
	c.expect(403, c.do("POST", "/api/v1/auth/email/verify", "", map[string]any{"token": token}))
	c.expect(200, login())
}
