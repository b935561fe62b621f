package auth

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/jobs"
)

// Mail is one rendered message. Secret is the single-use token the message carries (an
// invitation, reset or verification token): it is never logged, and adapters that log a mail
// (the memory outbox) replace it before they do.
type Mail struct {
	To      string
	Subject string
	Text    string // plain text part
	HTML    string // HTML part
	// Template names the kind of mail ("invitation", "password_reset", ...), for logs and tests.
	Template string
	Secret   string `json:"-"`
}

// Mailer delivers a mail. Errors are retried by the job that sends (MailJobKind); an
// InvalidArgument error (a malformed recipient) is not worth retrying but is retried all the
// same, harmlessly. Adapters: adapters/smtpmail (SMTP) and memauth.Outbox (memory).
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// MailJobKind is the job that renders and sends one mail. Sending never happens inside the
// request: the request enqueues this job (inside its transaction, so a rolled-back
// invitation sends nothing) and the job runner retries it with backoff.
const MailJobKind = "auth.mail"

// mailMaxAttempts bounds the retries of a mail job: about a day of exponential backoff.
const mailMaxAttempts = 12

// Mail templates, all in this one place.
const (
	MailInvitation        = "invitation"
	MailPasswordReset     = "password_reset"
	MailEmailVerification = "email_verification"
)

// MailArgs are the arguments of a mail job. Token is the secret the link carries: it sits in
// the job row until the job completes, which is why the link lives in the URL fragment (never
// sent to a server, so never in an access log or a Referer) and the token itself is
// single-use and short-lived.
type MailArgs struct {
	TenantID  string    `json:"tenant_id,omitempty"`
	To        string    `json:"to"`
	Template  string    `json:"template"`
	Token     string    `json:"token"`
	Role      string    `json:"role,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
}

type mailTemplate struct {
	subject string
	path    string // link path under the public URL
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

type mailData struct {
	Link      string
	Role      string
	ExpiresAt string
}

var mailTemplates = map[string]mailTemplate{
	MailInvitation: {subject: "You are invited", path: "/accept-invitation",
		text: texttemplate.Must(texttemplate.New("t").Parse("You have been invited to join a workspace as {{.Role}}.\n\nAccept the invitation: {{.Link}}\n\nThe link works once and expires at {{.ExpiresAt}}.\nIf you did not expect this mail, ignore it.\n")),
		html: htmltemplate.Must(htmltemplate.New("h").Parse(`<p>You have been invited to join a workspace as {{.Role}}.</p><p><a href="{{.Link}}">Accept the invitation</a></p><p>The link works once and expires at {{.ExpiresAt}}. If you did not expect this mail, ignore it.</p>`))},
	MailPasswordReset: {subject: "Reset your password", path: "/reset-password",
		text: texttemplate.Must(texttemplate.New("t").Parse("Someone asked to reset the password of your account.\n\nChoose a new password: {{.Link}}\n\nThe link works once and expires at {{.ExpiresAt}}.\nIf it was not you, ignore this mail: your password stays as it is.\n")),
		html: htmltemplate.Must(htmltemplate.New("h").Parse(`<p>Someone asked to reset the password of your account.</p><p><a href="{{.Link}}">Choose a new password</a></p><p>The link works once and expires at {{.ExpiresAt}}. If it was not you, ignore this mail: your password stays as it is.</p>`))},
	MailEmailVerification: {subject: "Confirm your e-mail address", path: "/verify-email",
		text: texttemplate.Must(texttemplate.New("t").Parse("Confirm your e-mail address: {{.Link}}\n\nThe link expires at {{.ExpiresAt}}.\n")),
		html: htmltemplate.Must(htmltemplate.New("h").Parse(`<p><a href="{{.Link}}">Confirm your e-mail address</a></p><p>The link expires at {{.ExpiresAt}}.</p>`))},
	MailMFAEnabled: {subject: "Two-step verification turned on", path: "/account/security",
		text: texttemplate.Must(texttemplate.New("t").Parse("Two-step verification (an authenticator app) was turned on for your account.\n\nIf it was not you, reset your password and contact your administrator: {{.Link}}\n")),
		html: htmltemplate.Must(htmltemplate.New("h").Parse(`<p>Two-step verification (an authenticator app) was turned on for your account.</p><p>If it was not you, reset your password and contact your administrator: <a href="{{.Link}}">account security</a></p>`))},
	MailMFADisabled: {subject: "Two-step verification turned off", path: "/account/security",
		text: texttemplate.Must(texttemplate.New("t").Parse("Two-step verification was turned off for your account.\n\nIf it was not you, reset your password and contact your administrator: {{.Link}}\n")),
		html: htmltemplate.Must(htmltemplate.New("h").Parse(`<p>Two-step verification was turned off for your account.</p><p>If it was not you, reset your password and contact your administrator: <a href="{{.Link}}">account security</a></p>`))},
}

// RenderMail renders the mail of a job. publicURL is the base of the link (APP_PUBLIC_URL).
func RenderMail(publicURL string, a MailArgs) (Mail, error) {
	t, ok := mailTemplates[a.Template]
	if !ok {
		return Mail{}, eusaas.Errorf(eusaas.InvalidArgument, "auth: unknown mail template %q", a.Template)
	}
	frag := url.Values{}
	if a.Token != "" {
		frag.Set("token", a.Token)
	}
	if a.TenantID != "" {
		frag.Set("tenant", a.TenantID)
	}
	link := strings.TrimRight(publicURL, "/") + t.path + "#" + frag.Encode()
	d := mailData{Link: link, Role: a.Role, ExpiresAt: a.ExpiresAt.UTC().Format(time.RFC1123)}
	var text, html bytes.Buffer
	if err := t.text.Execute(&text, d); err != nil {
		return Mail{}, fmt.Errorf("auth: render %s: %w", a.Template, err)
	}
	if err := t.html.Execute(&html, d); err != nil {
		return Mail{}, fmt.Errorf("auth: render %s: %w", a.Template, err)
	}
	return Mail{To: a.To, Subject: t.subject, Text: text.String(), HTML: html.String(), Template: a.Template, Secret: a.Token}, nil
}

// MailHandler is the handler of MailJobKind: it renders the mail and hands it to m. Register
// it once: jobs.Registry.Handle(auth.MailJobKind, auth.MailHandler(m, publicURL)).
func MailHandler(m Mailer, publicURL string) jobs.Handler {
	return func(ctx context.Context, job jobs.Job) error {
		var a MailArgs
		if err := job.Decode(&a); err != nil {
			return fmt.Errorf("auth: mail job arguments: %w", err)
		}
		mail, err := RenderMail(publicURL, a)
		if err != nil {
			return err
		}
		return m.Send(ctx, mail)
	}
}

// queueMail enqueues a mail job in ctx's transaction. Without a queue (Deps.Jobs nil) no mail
// is sent: the embedding application delivers tokens its own way.
func (s *Service) queueMail(ctx context.Context, a MailArgs) error {
	if s.d.Jobs == nil {
		return nil
	}
	return s.d.Jobs.Enqueue(ctx, MailJobKind, a, &jobs.EnqueueOpts{MaxAttempts: mailMaxAttempts})
}
