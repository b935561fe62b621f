package main

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/adapters/smtpmail/smtptest"
)

var resetLink = regexp.MustCompile(`https://console\.eusaas\.example/reset-password#([A-Za-z0-9_=&%.-]+)`)

// TestPasswordResetOverSMTP: forgot → the mail arrives at a real SMTP server → its link
// resets the password once; the old password and the old sessions stop working.
func TestPasswordResetOverSMTP(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{Mode: smtptest.Plain})
	logs := &syncBuffer{}
	c := startAppLogging(t, map[string]string{"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword,
		"APP_SMTP_URL": "smtp://" + srv.Addr, "APP_MAIL_FROM": "no-reply@eusaas.example", "APP_PUBLIC_URL": "https://console.eusaas.example"}, logs)
	inviteBob(t, c)
	srv.Wait(1, 20*time.Second)
	old := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "owner@mail.example", "password": "Owner-Passw0rd!"},
		"X-Tenant-ID", "mail-co")).json(t)

	r := c.expect(202, c.do("POST", "/api/v1/auth/password/forgot", "", map[string]any{"email": "owner@mail.example"}, "X-Tenant-ID", "mail-co"))
	require.JSONEq(t, `{"status":"accepted"}`, strings.TrimSpace(string(r.body)))
	msgs := srv.Wait(2, 20*time.Second)
	require.Len(t, msgs, 2, "the reset mail arrived")
	require.Equal(t, []string{"owner@mail.example"}, msgs[1].To)
	body := strings.ReplaceAll(string(msgs[1].Data), "=\r\n", "")
	body = strings.ReplaceAll(body, "=3D", "=")
	m := resetLink.FindStringSubmatch(body)
	require.NotNil(t, m, "%s", body)
	frag, err := url.ParseQuery(m[1])
	require.NoError(t, err)
	token := frag.Get("token")
	require.NotEmpty(t, token)

	c.expect(204, c.do("POST", "/api/v1/auth/password/reset", "", map[string]any{"token": token, "new_password": "New-Owner-Passw0rd!"}))
	r = c.expect(403, c.do("POST", "/api/v1/auth/password/reset", "", map[string]any{"token": token, "new_password": "Other-Owner-Passw0rd!"}))
	require.NotContains(t, string(r.body), token, "a problem never echoes the token")
	c.expect(401, c.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": old["refresh_token"]}))
	c.expect(401, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "owner@mail.example", "password": "Owner-Passw0rd!"}, "X-Tenant-ID", "mail-co"))
	c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "owner@mail.example", "password": "New-Owner-Passw0rd!"}, "X-Tenant-ID", "mail-co"))
	out := logs.String()
	require.NotContains(t, out, token, "the reset token never reaches the log")
	require.NotContains(t, out, "New-Owner-Passw0rd!")
}

// TestPasswordForgotDoesNotEnumerate: for an existing and an unknown account the answer has
// the same status and body, and the request does the same work (it only queues a job). The
// median time of 50 requests each is reported, not asserted (no wall-clock assertions:
// the shared machine's noise is not the code's); the structural equality is what is asserted.
func TestPasswordForgotDoesNotEnumerate(t *testing.T) {
	c := startApp(t, map[string]string{"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword})
	inviteBob(t, c)
	const n = 50
	var known, unknown []time.Duration
	var bodies []string
	for i := 0; i < n; i++ {
		// Alternate so drift (GC, other tenants of the machine) hits both sides alike.
		for _, email := range []string{"owner@mail.example", "nobody" + string(rune('a'+i%26)) + "@mail.example"} {
			start := time.Now()
			r := c.do("POST", "/api/v1/auth/password/forgot", "", map[string]any{"email": email}, "X-Tenant-ID", "mail-co")
			d := time.Since(start)
			require.Equal(t, 202, r.status, "%s", r.body)
			bodies = append(bodies, string(r.body))
			if strings.HasPrefix(email, "owner") {
				known = append(known, d)
			} else {
				unknown = append(unknown, d)
			}
		}
	}
	for _, b := range bodies {
		require.Equal(t, bodies[0], b, "the same body whether or not the account exists")
	}
	med := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	mk, mu := med(known), med(unknown)
	diff := mk - mu
	if diff < 0 {
		diff = -diff
	}
	t.Logf("forgot-password median over %d requests each: existing account %v, unknown account %v, difference %v (target < 5ms)", n, mk, mu, diff)
}
