// Package smtpmail is the SMTP adapter of auth.Mailer (APP_SMTP_URL). It speaks SMTP with the
// standard library's net/smtp client:
//
//   - smtp://host:587 — plain connection upgraded with STARTTLS whenever the server offers it;
//   - smtps://host:465 — implicit TLS from the first byte;
//   - smtp://127.0.0.1:2525 — plain, for a local relay that offers no STARTTLS.
//
// user:pass in the URL authenticate with AUTH PLAIN, which net/smtp sends only over TLS or to
// localhost, so a password is never sent in the clear to a remote server.
package smtpmail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

// Options are the parts of the configuration that are not in the URL.
type Options struct {
	// From is the sender address (APP_MAIL_FROM), e.g. "EU SaaS <no-reply@example.eu>".
	From string
	// TLS is the client TLS configuration (nil: system roots, ServerName from the URL);
	// tests pass their own roots.
	TLS *tls.Config
	// Timeout bounds one delivery when ctx has no earlier deadline (default 30s).
	Timeout time.Duration
	// HeloName is the name sent in EHLO (default "localhost").
	HeloName string
}

// Mailer delivers mail over SMTP. Each Send opens one connection: mail is rare (invitations,
// resets), so a pool would only hold idle connections servers time out anyway.
type Mailer struct {
	addr     string
	host     string
	implicit bool
	auth     smtp.Auth
	from     *mail.Address
	opts     Options
}

var _ auth.Mailer = (*Mailer)(nil)

// New parses rawURL (smtp:// or smtps://) and returns a Mailer. The error never repeats the
// password.
func New(rawURL string, o Options) (*Mailer, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, eusaas.E(eusaas.InvalidArgument, "smtpmail: APP_SMTP_URL is not a URL")
	}
	m := &Mailer{opts: o}
	switch u.Scheme {
	case "smtp":
	case "smtps":
		m.implicit = true
	default:
		return nil, eusaas.Errorf(eusaas.InvalidArgument, "smtpmail: scheme %q: want smtp or smtps", u.Scheme)
	}
	m.host = u.Hostname()
	if m.host == "" {
		return nil, eusaas.E(eusaas.InvalidArgument, "smtpmail: APP_SMTP_URL has no host")
	}
	port := u.Port()
	if port == "" {
		port = "587"
		if m.implicit {
			port = "465"
		}
	}
	m.addr = net.JoinHostPort(m.host, port)
	if u.User != nil {
		pass, _ := u.User.Password()
		m.auth = smtp.PlainAuth("", u.User.Username(), pass, m.host)
	}
	if m.from, err = mail.ParseAddress(o.From); err != nil {
		return nil, eusaas.E(eusaas.InvalidArgument, "smtpmail: APP_MAIL_FROM is not an address")
	}
	if m.opts.Timeout <= 0 {
		m.opts.Timeout = 30 * time.Second
	}
	if m.opts.HeloName == "" {
		m.opts.HeloName = "localhost"
	}
	return m, nil
}

func (m *Mailer) tlsConfig() *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if m.opts.TLS != nil {
		c = m.opts.TLS.Clone()
	}
	if c.ServerName == "" {
		c.ServerName = m.host
	}
	return c
}

// Send implements auth.Mailer.
func (m *Mailer) Send(ctx context.Context, ml auth.Mail) error {
	to, err := mail.ParseAddress(ml.To)
	if err != nil {
		return eusaas.E(eusaas.InvalidArgument, "smtpmail: bad recipient address")
	}
	msg, err := m.message(to, ml)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	var conn net.Conn
	d := &net.Dialer{}
	if m.implicit {
		conn, err = (&tls.Dialer{NetDialer: d, Config: m.tlsConfig()}).DialContext(ctx, "tcp", m.addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", m.addr)
	}
	if err != nil {
		return eusaas.E(eusaas.Unavailable, "smtpmail: cannot reach the SMTP server").Wrap(err)
	}
	// net/smtp has no context: the deadline bounds every read and write of the dialogue,
	// and closing on cancellation unblocks it at once.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		_ = conn.Close()
		return eusaas.E(eusaas.Unavailable, "smtpmail: SMTP greeting failed").Wrap(err)
	}
	defer c.Close()
	if err := m.deliver(c, to.Address, msg); err != nil {
		return eusaas.E(eusaas.Unavailable, "smtpmail: delivery failed").Wrap(err)
	}
	return nil
}

func (m *Mailer) deliver(c *smtp.Client, to string, msg []byte) error {
	if err := c.Hello(m.opts.HeloName); err != nil {
		return err
	}
	if !m.implicit {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(m.tlsConfig()); err != nil {
				return err
			}
		}
	}
	if m.auth != nil {
		if err := c.Auth(m.auth); err != nil {
			return err
		}
	}
	if err := c.Mail(m.from.Address); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// message builds a multipart/alternative RFC 5322 message, both parts quoted-printable so
// long lines and non-ASCII text survive any relay.
func (m *Mailer) message(to *mail.Address, ml auth.Mail) ([]byte, error) {
	var rnd [12]byte
	_, _ = rand.Read(rnd[:])
	boundary := "eusaas-" + hex.EncodeToString(rnd[:])
	var b strings.Builder
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", m.from.String())
	hdr("To", to.String())
	hdr("Subject", mime.QEncoding.Encode("utf-8", ml.Subject))
	hdr("Date", time.Now().UTC().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+hex.EncodeToString(rnd[:])+"@"+m.host+">")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
	b.WriteString("\r\n")
	for _, part := range []struct{ ctype, body string }{{"text/plain", ml.Text}, {"text/html", ml.HTML}} {
		b.WriteString("--" + boundary + "\r\n")
		hdr("Content-Type", part.ctype+"; charset=utf-8")
		hdr("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		qp := quotedprintable.NewWriter(&b)
		if _, err := qp.Write([]byte(strings.ReplaceAll(part.body, "\n", "\r\n"))); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
		b.WriteString("\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return []byte(b.String()), nil
}
