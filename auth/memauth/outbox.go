package memauth

import (
	"context"
	"log/slog"
	"strings"
	"sync"

	"github.com/eusaas/eusaas/auth"
)

// Outbox is the memory-mode auth.Mailer: it keeps every mail for tests to read and writes
// each to the log with its token redacted, so a developer without an SMTP server still sees
// that (and what) mail went out, and no token reaches the log.
type Outbox struct {
	log   *slog.Logger
	mu    sync.Mutex
	mails []auth.Mail
}

var _ auth.Mailer = (*Outbox)(nil)

// NewOutbox returns an empty outbox logging to log (nil: no log).
func NewOutbox(log *slog.Logger) *Outbox { return &Outbox{log: log} }

// Send implements auth.Mailer.
func (o *Outbox) Send(ctx context.Context, m auth.Mail) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.mu.Lock()
	o.mails = append(o.mails, m)
	o.mu.Unlock()
	if o.log != nil {
		o.log.InfoContext(ctx, "mail (memory outbox, not delivered)", "template", m.Template, "to", m.To,
			"subject", m.Subject, "text", Redact(m.Text, m.Secret))
	}
	return nil
}

// Redact replaces every occurrence of secret in s (tokens are base64url: a link carries
// them unchanged).
func Redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[REDACTED]")
}

// Mails returns the mails sent so far, oldest first.
func (o *Outbox) Mails() []auth.Mail {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]auth.Mail(nil), o.mails...)
}
