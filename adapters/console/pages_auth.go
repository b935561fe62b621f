package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/eusaas/eusaas"
)

func (c *Console) home(w http.ResponseWriter, r *http.Request, ss *session) {
	http.Redirect(w, r, c.landing(ss), http.StatusSeeOther)
}

// landing is where a session starts: the tenant's overview, the operator's tenant list, or
// the sign-in form.
func (c *Console) landing(ss *session) string {
	p := ss.principal()
	switch {
	case p == nil:
		return Prefix + "/signin"
	case p.Kind == eusaas.ActorOperator:
		return Prefix + "/tenants"
	default:
		return Prefix + "/t/" + p.TenantID.String() + "/overview"
	}
}

type signinData struct {
	Tenant, Email string
}

func (c *Console) signinPage(w http.ResponseWriter, r *http.Request, ss *session) {
	if ss.principal() != nil {
		http.Redirect(w, r, c.landing(ss), http.StatusSeeOther)
		return
	}
	c.render(w, r, ss, http.StatusOK, "signin", T(ss.language(), "signin.title"), "", signinData{Tenant: r.URL.Query().Get("tenant")})
}

func (c *Console) signin(w http.ResponseWriter, r *http.Request, ss *session) {
	tenant := strings.TrimSpace(r.PostForm.Get("tenant"))
	email := strings.TrimSpace(r.PostForm.Get("email"))
	res, err := c.call(r, "", http.MethodPost, "/api/v1/auth/login",
		map[string]string{"email": email, "password": r.PostForm.Get("password")}, "X-Tenant-ID", tenant)
	var tok tokenPair
	if err == nil && res.OK() {
		err = res.Decode(&tok)
	}
	if err != nil || !res.OK() {
		msg := T(ss.language(), "signin.failed")
		if err == nil {
			msg += ": " + res.Problem().Message()
		}
		c.sessions.update(func() { ss.flash, ss.flashErr = msg, true })
		c.render(w, r, ss, http.StatusUnauthorized, "signin", T(ss.language(), "signin.title"), "", signinData{Tenant: tenant, Email: email})
		return
	}
	if tok.MFARequired {
		c.sessions.update(func() { ss.mfaToken, ss.mfaTenant = tok.MFAToken, tenant })
		http.Redirect(w, r, Prefix+"/mfa", http.StatusSeeOther)
		return
	}
	c.startSession(w, r, ss, tok, tenant)
}

// startSession binds the token pair to a new session (a new id: the anonymous session's id
// was known before sign-in) and goes to the landing page.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, ss *session, tok tokenPair, tenant string) {
	p, err := c.authn.Authenticate(r.Context(), tok.AccessToken)
	if err != nil {
		c.fail(w, r, ss, http.StatusBadGateway, "the API issued a token it does not accept")
		return
	}
	n := c.sessions.rotate(ss)
	c.sessions.update(func() {
		n.access, n.refresh, n.tenant = tok.AccessToken, tok.RefreshToken, tenant
		n.who.Store(&p)
	})
	http.SetCookie(w, sessionCookie(n, c.isSecure(r)))
	http.Redirect(w, r, c.landing(n), http.StatusSeeOther)
}

func (c *Console) mfaPage(w http.ResponseWriter, r *http.Request, ss *session) {
	var pending bool
	c.sessions.update(func() { pending = ss.mfaToken != "" })
	if !pending {
		http.Redirect(w, r, Prefix+"/signin", http.StatusSeeOther)
		return
	}
	c.render(w, r, ss, http.StatusOK, "mfa", T(ss.language(), "mfa.title"), "", nil)
}

func (c *Console) mfa(w http.ResponseWriter, r *http.Request, ss *session) {
	var mfaToken, tenant string
	c.sessions.update(func() { mfaToken, tenant = ss.mfaToken, ss.mfaTenant })
	if mfaToken == "" {
		http.Redirect(w, r, Prefix+"/signin", http.StatusSeeOther)
		return
	}
	res, err := c.call(r, "", http.MethodPost, "/api/v1/auth/login/mfa",
		map[string]string{"mfa_token": mfaToken, "code": strings.TrimSpace(r.PostForm.Get("code"))}, "X-Tenant-ID", tenant)
	var tok tokenPair
	if err == nil && res.OK() {
		err = res.Decode(&tok)
	}
	if err != nil || !res.OK() || tok.AccessToken == "" {
		msg := T(ss.language(), "signin.failed")
		if err == nil && !res.OK() {
			msg += ": " + res.Problem().Message()
		}
		c.sessions.update(func() { ss.flash, ss.flashErr = msg, true })
		c.render(w, r, ss, http.StatusUnauthorized, "mfa", T(ss.language(), "mfa.title"), "", nil)
		return
	}
	c.startSession(w, r, ss, tok, tenant)
}

func (c *Console) forgotPage(w http.ResponseWriter, r *http.Request, ss *session) {
	c.render(w, r, ss, http.StatusOK, "forgot", T(ss.language(), "forgot.title"), "", signinData{Tenant: r.URL.Query().Get("tenant")})
}

func (c *Console) forgot(w http.ResponseWriter, r *http.Request, ss *session) {
	tenant := strings.TrimSpace(r.PostForm.Get("tenant"))
	res, err := c.call(r, "", http.MethodPost, "/api/v1/auth/password/forgot",
		map[string]string{"email": strings.TrimSpace(r.PostForm.Get("email"))}, "X-Tenant-ID", tenant)
	c.sessions.update(func() {
		if err == nil && res.OK() {
			ss.flash, ss.flashErr = T(ss.language(), "forgot.sent"), false
		} else if err == nil {
			ss.flash, ss.flashErr = res.Problem().Message(), true
		}
	})
	http.Redirect(w, r, Prefix+"/forgot", http.StatusSeeOther)
}

// resetPage is the reset form. The mail's link carries the token in the URL fragment
// (never sent to a server or written to access logs); console.js copies it into the form,
// without JavaScript it is pasted.
func (c *Console) resetPage(w http.ResponseWriter, r *http.Request, ss *session) {
	c.render(w, r, ss, http.StatusOK, "reset", T(ss.language(), "reset.title"), "", nil)
}

func (c *Console) reset(w http.ResponseWriter, r *http.Request, ss *session) {
	res, err := c.call(r, "", http.MethodPost, "/api/v1/auth/password/reset",
		map[string]string{"token": strings.TrimSpace(r.PostForm.Get("token")), "new_password": r.PostForm.Get("password")},
		"X-Tenant-ID", strings.TrimSpace(r.PostForm.Get("tenant")))
	if err == nil && res.OK() {
		c.sessions.update(func() { ss.flash, ss.flashErr = T(ss.language(), "reset.done"), false })
		http.Redirect(w, r, Prefix+"/signin", http.StatusSeeOther)
		return
	}
	c.sessions.update(func() {
		if err == nil {
			ss.flash, ss.flashErr = res.Problem().Message(), true
		}
	})
	http.Redirect(w, r, Prefix+"/reset", http.StatusSeeOther)
}

// signout revokes the API session (access token denylisted, refresh chain ended) and
// forgets the console session.
func (c *Console) signout(w http.ResponseWriter, r *http.Request, ss *session) {
	var access, refresh string
	c.sessions.update(func() { access, refresh = ss.access, ss.refresh })
	if access != "" {
		if res, err := c.call(r, access, http.MethodPost, "/api/v1/auth/logout", map[string]string{"refresh_token": refresh}); err != nil || !res.OK() {
			c.log.WarnContext(r.Context(), "console: API logout failed", "status", res.Status)
		}
	}
	c.sessions.drop(ss.id)
	n := c.sessions.create(ss.language())
	n.flash = T(ss.language(), "signin.signedout")
	http.SetCookie(w, sessionCookie(n, c.isSecure(r)))
	http.Redirect(w, r, Prefix+"/signin", http.StatusSeeOther)
}

// setLang switches the session's language and returns to the page the form was on.
func (c *Console) setLang(w http.ResponseWriter, r *http.Request, ss *session) {
	l := r.PostForm.Get("lang")
	for _, known := range languages {
		if l == known {
			ss.lang.Store(l)
		}
	}
	back := r.PostForm.Get("back")
	// Only a local console path: an open redirect would let a link send users elsewhere.
	if !strings.HasPrefix(back, Prefix+"/") || strings.HasPrefix(back, "//") || strings.ContainsAny(back, "\\\r\n") {
		back = Prefix + "/"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// acceptPage is the invitation's registration form. The mail's link carries the invitation
// token and the tenant in the URL fragment (as for resets); console.js fills them in.
func (c *Console) acceptPage(w http.ResponseWriter, r *http.Request, ss *session) {
	c.render(w, r, ss, http.StatusOK, "accept", T(ss.language(), "accept.title"), "", nil)
}

func (c *Console) accept(w http.ResponseWriter, r *http.Request, ss *session) {
	tenant := strings.TrimSpace(r.PostForm.Get("tenant"))
	res, err := c.call(r, "", http.MethodPost, "/api/v1/auth/register", map[string]string{
		"email": strings.TrimSpace(r.PostForm.Get("email")), "password": r.PostForm.Get("password"),
		"full_name": strings.TrimSpace(r.PostForm.Get("full_name")), "invitation_token": strings.TrimSpace(r.PostForm.Get("token")),
	}, "X-Tenant-ID", tenant)
	if err == nil && res.OK() {
		c.sessions.update(func() { ss.flash, ss.flashErr = T(ss.language(), "accept.done"), false })
		http.Redirect(w, r, Prefix+"/signin?tenant="+url.QueryEscape(tenant), http.StatusSeeOther)
		return
	}
	c.sessions.update(func() {
		if err == nil {
			ss.flash, ss.flashErr = res.Problem().Message(), true
		}
	})
	http.Redirect(w, r, Prefix+"/accept", http.StatusSeeOther)
}

// verifyPage confirms an e-mail address from the verification mail's link (token in the
// fragment); the user presses the button, so a mail scanner fetching the link verifies
// nothing.
func (c *Console) verifyPage(w http.ResponseWriter, r *http.Request, ss *session) {
	c.render(w, r, ss, http.StatusOK, "verify", T(ss.language(), "verify.title"), "", nil)
}

func (c *Console) verify(w http.ResponseWriter, r *http.Request, ss *session) {
	res, err := c.call(r, "", http.MethodPost, "/api/v1/auth/email/verify", map[string]string{"token": strings.TrimSpace(r.PostForm.Get("token"))})
	c.sessions.update(func() {
		if err == nil && res.OK() {
			ss.flash, ss.flashErr = T(ss.language(), "verify.done"), false
		} else if err == nil {
			ss.flash, ss.flashErr = res.Problem().Message(), true
		}
	})
	http.Redirect(w, r, Prefix+"/verify", http.StatusSeeOther)
}
