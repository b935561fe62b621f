// Package console is the web console of the reference server: server-rendered pages
// (html/template) for tenant users and platform operators, served under /console/.
//
// The console is a client of the REST API, in process: every page reads and every form
// writes through the API's http.Handler with the signed-in user's access token (api.go), so
// what a user may see or do is decided by the API's own authorization, the same as for any
// other client. The console hides an action the principal's role does not allow
// (auth.Principal.Can, the function the API's guards use), so it never offers what the API
// would refuse. See docs/adr/0018-web-console.md.
package console

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Authenticator verifies an access token (auth.Service implements it).
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (auth.Principal, error)
}

// Options configure the console.
type Options struct {
	// API is the REST API handler (httpapi.Server.Handler()): every read and write goes
	// through it.
	API http.Handler
	// Authenticator turns the session's access token into the principal whose role decides
	// which actions are shown.
	Authenticator Authenticator
	// PublicURL is APP_PUBLIC_URL; an https URL makes the cookie Secure even when TLS ends
	// at a proxy in front of the server.
	PublicURL string
	Logger    *slog.Logger
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
	// SessionIdle and SessionMax bound a signed-in session (defaults 30 minutes and 12 hours).
	SessionIdle, SessionMax time.Duration
	// MaxSessions bounds the in-memory session store (default 100000).
	MaxSessions int
}

// Console is the console's http.Handler.
type Console struct {
	api      http.Handler
	authn    Authenticator
	secure   bool
	log      *slog.Logger
	now      func() time.Time
	sessions *sessions
	pages    map[string]*template.Template
	mux      *http.ServeMux
}

// Prefix is where the console is mounted.
const Prefix = "/console"

// New builds the console.
func New(o Options) (*Console, error) {
	if o.API == nil || o.Authenticator == nil {
		return nil, errors.New("console: API and Authenticator are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = 30 * time.Minute
	}
	if o.SessionMax <= 0 {
		o.SessionMax = 12 * time.Hour
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = 100000
	}
	c := &Console{api: o.API, authn: o.Authenticator, log: o.Logger, now: o.Now,
		secure:   strings.HasPrefix(strings.ToLower(o.PublicURL), "https://"),
		sessions: newSessions(o.SessionIdle, o.SessionMax, o.MaxSessions, o.Now)}
	if err := c.parseTemplates(); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

func (c *Console) parseTemplates() error {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	c.pages = map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return err
		}
		c.pages[base] = t
	}
	return nil
}

var funcs = template.FuncMap{
	"add": func(a, b int) int { return a + b },
	"sub": func(a, b int) int { return a - b },
	"deref": func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	},
	"pager": pagerOf,
	"short": func(s string) string {
		if len(s) > 8 {
			return s[:8]
		}
		return s
	},
}

// handler is a console page or action with its session.
type handler func(w http.ResponseWriter, r *http.Request, ss *session)

func (c *Console) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix(Prefix+"/static/", http.FileServerFS(static))
	m.Handle("GET "+Prefix+"/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Our own, small and versioned with the binary: a day of caching is plenty.
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	}))
	pub := func(pattern string, h handler) { m.Handle(pattern, c.wrap(h, false)) }
	priv := func(pattern string, h handler) { m.Handle(pattern, c.wrap(h, true)) }

	pub("GET "+Prefix+"/{$}", c.home)
	pub("GET "+Prefix+"/signin", c.signinPage)
	pub("POST "+Prefix+"/signin", c.signin)
	pub("GET "+Prefix+"/mfa", c.mfaPage)
	pub("POST "+Prefix+"/mfa", c.mfa)
	pub("GET "+Prefix+"/forgot", c.forgotPage)
	pub("POST "+Prefix+"/forgot", c.forgot)
	pub("GET "+Prefix+"/reset", c.resetPage)
	pub("POST "+Prefix+"/reset", c.reset)
	pub("GET "+Prefix+"/accept", c.acceptPage)
	pub("POST "+Prefix+"/accept", c.accept)
	pub("GET "+Prefix+"/verify", c.verifyPage)
	pub("POST "+Prefix+"/verify", c.verify)
	pub("POST "+Prefix+"/lang", c.setLang)
	pub("POST "+Prefix+"/signout", c.signout)

	priv("GET "+Prefix+"/t/{tid}/overview", c.tenantPage(auth.PermBillingRead, c.overview))
	priv("GET "+Prefix+"/t/{tid}/anomalies", c.tenantPage(auth.PermBillingRead, c.anomalies))
	priv("POST "+Prefix+"/t/{tid}/anomalies/{aid}/acknowledge", c.tenantPage(auth.PermBillingWrite, c.acknowledge))
	priv("POST "+Prefix+"/t/{tid}/anomalies/{aid}/feedback", c.tenantPage(auth.PermBillingWrite, c.feedback))
	priv("GET "+Prefix+"/t/{tid}/invoices", c.tenantPage(auth.PermBillingRead, c.invoices))
	priv("GET "+Prefix+"/t/{tid}/invoices/{iid}", c.tenantPage(auth.PermBillingRead, c.invoice))
	priv("GET "+Prefix+"/t/{tid}/invoices/{iid}/{format}", c.tenantPage(auth.PermBillingRead, c.invoiceDocument))
	priv("GET "+Prefix+"/t/{tid}/credit-notes/{iid}/{format}", c.tenantPage(auth.PermBillingRead, c.creditNoteDocument))
	priv("GET "+Prefix+"/t/{tid}/users", c.tenantPage(auth.PermUsersRead, c.users))
	priv("POST "+Prefix+"/t/{tid}/invitations", c.tenantPage(auth.PermInvite, c.invite))
	priv("POST "+Prefix+"/t/{tid}/users/{uid}", c.tenantPage(auth.PermUsersWrite, c.changeUser))
	priv("GET "+Prefix+"/t/{tid}/audit", c.tenantPage(auth.PermAuditRead, c.audit))
	priv("GET "+Prefix+"/t/{tid}/usage", c.tenantPage(auth.PermBillingRead, c.usage))
	// The request list holds personal data: the API gives it to gdpr:write (OWNER, ADMIN).
	priv("GET "+Prefix+"/t/{tid}/gdpr", c.tenantPage(auth.PermGDPRWrite, c.gdprPage))
	priv("POST "+Prefix+"/t/{tid}/gdpr/requests", c.tenantPage(auth.PermGDPRWrite, c.createDSR))
	priv("POST "+Prefix+"/t/{tid}/gdpr/requests/{rid}/verify-identity", c.tenantPage(auth.PermGDPRWrite, c.verifyDSR))
	priv("POST "+Prefix+"/t/{tid}/gdpr/requests/{rid}/{action}", c.tenantPage(auth.PermGDPRWrite, c.dsrReasoned))
	priv("GET "+Prefix+"/t/{tid}/gdpr/exports/{job}/download", c.tenantPage(auth.PermGDPRRead, c.exportDownload))
	priv("GET "+Prefix+"/t/{tid}/alerts", c.tenantPage(auth.PermBillingRead, c.alerts))
	priv("POST "+Prefix+"/t/{tid}/alerts", c.tenantPage(auth.PermBillingWrite, c.addAlert))
	priv("POST "+Prefix+"/t/{tid}/alerts/{sid}/remove", c.tenantPage(auth.PermBillingWrite, c.removeAlert))
	priv("GET "+Prefix+"/t/{tid}/settings", c.tenantPage(auth.PermTenantRead, c.settings))
	priv("POST "+Prefix+"/t/{tid}/settings", c.tenantPage(auth.PermTenantWrite, c.saveSettings))

	priv("GET "+Prefix+"/t/{tid}/api-keys", c.tenantPage(auth.PermAPIKeys, c.apiKeys))
	priv("POST "+Prefix+"/t/{tid}/api-keys", c.tenantPage(auth.PermAPIKeys, c.createAPIKey))
	priv("POST "+Prefix+"/t/{tid}/api-keys/{kid}/revoke", c.tenantPage(auth.PermAPIKeys, c.revokeAPIKey))
	// The second factor is the signed-in principal's own: no tenant permission involved.
	priv("GET "+Prefix+"/account", c.account)
	priv("POST "+Prefix+"/account/mfa/enrol", c.enrolMFA)
	priv("POST "+Prefix+"/account/mfa/confirm", c.confirmMFA)
	priv("POST "+Prefix+"/account/mfa/disable", c.disableMFA)

	priv("GET "+Prefix+"/t/{tid}/billing-profile", c.tenantPage(auth.PermBillingWrite, c.profileForm))
	priv("POST "+Prefix+"/t/{tid}/billing-profile", c.tenantPage(auth.PermBillingWrite, c.saveProfile))
	priv("GET "+Prefix+"/seller", c.operatorPage(c.sellerForm))
	priv("POST "+Prefix+"/seller", c.operatorPage(c.saveSeller))

	priv("GET "+Prefix+"/tenants", c.operatorPage(c.tenants))
	priv("POST "+Prefix+"/tenants", c.operatorPage(c.createTenant))
	priv("POST "+Prefix+"/tenants/{tid}/{action}", c.operatorPage(c.tenantAction))
	priv("GET "+Prefix+"/platform", c.operatorPage(c.platform))
	priv("GET "+Prefix+"/plans", c.operatorPage(c.plans))
	priv("POST "+Prefix+"/plans", c.operatorPage(c.createPlan))
	priv("POST "+Prefix+"/plans/{code}", c.operatorPage(c.updatePlan))
	priv("POST "+Prefix+"/metrics", c.operatorPage(c.createMetric))
	priv("POST "+Prefix+"/tenants/{tid}/plan", c.operatorPage(c.assignPlan))
	priv("POST "+Prefix+"/service-accounts", c.operatorPage(c.createServiceAccount))
	priv("POST "+Prefix+"/service-accounts/{id}/revoke", c.operatorPage(c.revokeServiceAccount))

	m.Handle(Prefix+"/", c.wrap(func(w http.ResponseWriter, r *http.Request, ss *session) {
		c.fail(w, r, ss, http.StatusNotFound, T(ss.language(), "err.notfound"))
	}, false))
	c.mux = m
}

// ServeHTTP serves the console.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.mux.ServeHTTP(w, r) }

// csp is the Content-Security-Policy of every console response: only our own scripts,
// styles and images (charts are inline SVG, not images), nothing inline, no framing, forms
// only to ourselves.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"

func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
}

func (c *Console) isSecure(r *http.Request) bool { return c.secure || r.TLS != nil }

// session finds the request's session, creating an anonymous one (and its cookie) when
// there is none.
func (c *Console) session(w http.ResponseWriter, r *http.Request) *session {
	for _, name := range []string{secureCookieName, cookieName} {
		if ck, err := r.Cookie(name); err == nil {
			if ss := c.sessions.get(ck.Value); ss != nil {
				return ss
			}
		}
	}
	ss := c.sessions.create(pickLang(r))
	http.SetCookie(w, sessionCookie(ss, c.isSecure(r)))
	return ss
}

// wrap is every console request's frame: security headers, the session, the CSRF check of
// every POST, and (private) a signed-in principal.
func (c *Console) wrap(h handler, private bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w.Header())
		w.Header().Set("Cache-Control", "no-store")
		ss := c.session(w, r)
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := r.ParseForm(); err != nil || !csrfOK(ss, r.PostForm.Get("csrf")) {
				c.fail(w, r, ss, http.StatusForbidden, T(ss.language(), "err.csrf"))
				return
			}
		}
		if private && ss.principal() == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, Prefix+"/signin", http.StatusSeeOther)
				return
			}
			c.fail(w, r, ss, http.StatusForbidden, T(ss.language(), "err.forbidden"))
			return
		}
		h(w, r, ss)
	})
}

// tenantPage checks that the principal may use tenant {tid} with perm before the page runs:
// another tenant's pages answer 403 without a single API call. The API checks again.
func (c *Console) tenantPage(perm auth.Permission, h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, ss *session) {
		tid, err := eusaas.ParseTenantID(r.PathValue("tid"))
		if err != nil {
			c.fail(w, r, ss, http.StatusNotFound, T(ss.language(), "err.notfound"))
			return
		}
		if !ss.principal().Can(tid, perm) {
			c.fail(w, r, ss, http.StatusForbidden, T(ss.language(), "err.forbidden"))
			return
		}
		h(w, r, ss)
	}
}

func (c *Console) operatorPage(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, ss *session) {
		if ss.principal().Kind != eusaas.ActorOperator {
			c.fail(w, r, ss, http.StatusForbidden, T(ss.language(), "err.forbidden"))
			return
		}
		h(w, r, ss)
	}
}

// token is the session's access token, refreshed through the API when it expires within
// the next 30 seconds. ok is false when the session could not be renewed (signed out).
func (c *Console) token(r *http.Request, ss *session) (string, bool) {
	var access, refresh string
	var exp time.Time
	c.sessions.update(func() {
		access, refresh = ss.access, ss.refresh
		if p := ss.principal(); p != nil {
			exp = p.Expires
		}
	})
	if access == "" {
		return "", false
	}
	if c.now().Add(30 * time.Second).Before(exp) {
		return access, true
	}
	res, err := c.call(r, "", http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refresh_token": refresh})
	var tok tokenPair
	if err != nil || !res.OK() || res.Decode(&tok) != nil {
		c.sessions.drop(ss.id)
		return "", false
	}
	p, err := c.authn.Authenticate(r.Context(), tok.AccessToken)
	if err != nil {
		c.sessions.drop(ss.id)
		return "", false
	}
	c.sessions.update(func() { ss.access, ss.refresh = tok.AccessToken, tok.RefreshToken })
	ss.who.Store(&p)
	return tok.AccessToken, true
}

type tokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	MFARequired  bool   `json:"mfa_required"`
	MFAToken     string `json:"mfa_token"`
}

// get calls the API as the session's user and decodes a 2xx JSON answer into out. On any
// other answer it renders the error page and returns false.
func (c *Console) get(w http.ResponseWriter, r *http.Request, ss *session, path string, out any) bool {
	tok, ok := c.token(r, ss)
	if !ok {
		http.Redirect(w, r, Prefix+"/signin", http.StatusSeeOther)
		return false
	}
	res, err := c.call(r, tok, http.MethodGet, path, nil)
	if err != nil {
		c.fail(w, r, ss, http.StatusInternalServerError, err.Error())
		return false
	}
	if !res.OK() {
		c.apiFail(w, r, ss, res)
		return false
	}
	if err := res.Decode(out); err != nil {
		c.fail(w, r, ss, http.StatusBadGateway, "unexpected answer from the API")
		return false
	}
	return true
}

// act runs a write through the API as the session's user, then redirects to back (303,
// POST-redirect-GET) with the outcome as a flash message. It returns the answer for
// callers that show part of it once (invitation tokens).
func (c *Console) act(w http.ResponseWriter, r *http.Request, ss *session, method, path string, body any, okKey, back string) (apiResult, bool) {
	tok, ok := c.token(r, ss)
	if !ok {
		http.Redirect(w, r, Prefix+"/signin", http.StatusSeeOther)
		return apiResult{}, false
	}
	res, err := c.call(r, tok, method, path, body)
	if err != nil {
		c.fail(w, r, ss, http.StatusInternalServerError, err.Error())
		return res, false
	}
	c.sessions.update(func() {
		if res.OK() {
			ss.flash, ss.flashErr = T(ss.language(), okKey), false
		} else {
			ss.flash, ss.flashErr = res.Problem().Message(), true
		}
	})
	http.Redirect(w, r, back, http.StatusSeeOther)
	return res, res.OK()
}

func (c *Console) apiFail(w http.ResponseWriter, r *http.Request, ss *session, res apiResult) {
	switch res.Status {
	case http.StatusUnauthorized:
		c.sessions.drop(ss.id)
		http.Redirect(w, r, Prefix+"/signin", http.StatusSeeOther)
	case http.StatusForbidden:
		c.fail(w, r, ss, http.StatusForbidden, T(ss.language(), "err.forbidden")+" "+res.Problem().Message())
	case http.StatusNotFound:
		c.fail(w, r, ss, http.StatusNotFound, T(ss.language(), "err.notfound"))
	default:
		status := res.Status
		if status < 400 {
			status = http.StatusBadGateway
		}
		c.fail(w, r, ss, status, res.Problem().Message())
	}
}

// fail renders the error page with status.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, ss *session, status int, msg string) {
	c.render(w, r, ss, status, "error", T(ss.language(), "err.title"), "", map[string]any{"Message": msg, "Status": status})
}
