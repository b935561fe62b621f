package smtpmail_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/smtpmail"
	"github.com/eusaas/eusaas/adapters/smtpmail/smtptest"
	"github.com/eusaas/eusaas/auth"
)

func resetMail(t *testing.T) auth.Mail {
	t.Helper()
	m, err := auth.RenderMail("https://app.example.eu/", auth.MailArgs{To: "ada@example.com", Template: auth.MailPasswordReset,
		Token: "tok-Secret_123", ExpiresAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	return m
}

// parts decodes the multipart/alternative body into content type -> text.
func parts(t *testing.T, data []byte) (mail.Header, map[string]string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	require.NoError(t, err)
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/alternative", mt)
	out := map[string]string{}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		b, err := io.ReadAll(p)
		require.NoError(t, err)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out[ct] = string(b)
	}
	return msg.Header, out
}

func TestSendModes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		scheme  string
		mode    smtptest.Mode
		user    string
		wantTLS bool
	}{
		{"plain local relay", "smtp", smtptest.Plain, "", false},
		{"plain with auth to localhost", "smtp", smtptest.Plain, "relay", false},
		{"starttls with auth", "smtp", smtptest.StartTLS, "mailer", true},
		{"implicit tls with auth", "smtps", smtptest.Implicit, "mailer", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, smtptest.Options{Mode: tc.mode, User: tc.user, Password: "pa ss:w/rd"})
			u := tc.scheme + "://" + srv.Addr
			if tc.user != "" {
				u = tc.scheme + "://" + tc.user + ":" + "pa%20ss%3Aw%2Frd" + "@" + srv.Addr
			}
			m, err := smtpmail.New(u, smtpmail.Options{From: "EU SaaS <no-reply@example.eu>", TLS: &tls.Config{RootCAs: srv.Roots}})
			require.NoError(t, err)
			require.NoError(t, m.Send(context.Background(), resetMail(t)))
			got := srv.Messages()
			require.Len(t, got, 1)
			require.Equal(t, "no-reply@example.eu", got[0].From)
			require.Equal(t, []string{"ada@example.com"}, got[0].To)
			require.Equal(t, tc.wantTLS, got[0].TLS)
			require.Equal(t, tc.user, got[0].User)
			h, body := parts(t, got[0].Data)
			require.Equal(t, "Reset your password", h.Get("Subject"))
			require.Contains(t, h.Get("From"), "no-reply@example.eu")
			require.Contains(t, body["text/plain"], "https://app.example.eu/reset-password#token=tok-Secret_123")
			require.Contains(t, body["text/html"], `href="https://app.example.eu/reset-password#token=tok-Secret_123"`)
		})
	}
}

func TestSendFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := smtptest.Start(t, smtptest.Options{Mode: smtptest.StartTLS, User: "mailer", Password: "right"})
	m, err := smtpmail.New("smtp://mailer:wrong-secret@"+srv.Addr, smtpmail.Options{From: "no-reply@example.eu", TLS: &tls.Config{RootCAs: srv.Roots}})
	require.NoError(t, err)
	err = m.Send(ctx, resetMail(t))
	require.Error(t, err, "a wrong password is refused by the server")
	require.NotContains(t, err.Error(), "wrong-secret")
	require.Empty(t, srv.Messages())

	// An untrusted certificate is refused: STARTTLS is not silently skipped.
	m, err = smtpmail.New("smtp://mailer:right@"+srv.Addr, smtpmail.Options{From: "no-reply@example.eu"})
	require.NoError(t, err)
	require.Error(t, m.Send(ctx, resetMail(t)))
	require.Empty(t, srv.Messages())

	// Nobody listening: Unavailable, so the job retries.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	m, err = smtpmail.New("smtp://"+addr, smtpmail.Options{From: "no-reply@example.eu"})
	require.NoError(t, err)
	require.Equal(t, eusaas.Unavailable, eusaas.KindOf(m.Send(ctx, resetMail(t))))

	bad := resetMail(t)
	bad.To = "not an address"
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(m.Send(ctx, bad)))
	bad.To = "a@example.com\r\nBcc: x@evil.example"
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(m.Send(ctx, bad)), "no header injection through the recipient")
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"http://x", "smtp://", "::", "smtp://user:hunter2@host:bad"} {
		_, err := smtpmail.New(u, smtpmail.Options{From: "a@example.eu"})
		require.Error(t, err, u)
		require.NotContains(t, err.Error(), "hunter2")
	}
	_, err := smtpmail.New("smtp://127.0.0.1:25", smtpmail.Options{From: "nobody"})
	require.Error(t, err)
	_, err = smtpmail.New("smtp://127.0.0.1:25", smtpmail.Options{From: "a@example.eu"})
	require.NoError(t, err)
}
