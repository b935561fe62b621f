package console

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// API keys (OWNER, ADMIN and operators: auth.PermAPIKeys) and the signed-in user's own second
// factor (TOTP enrolment, confirmation, disabling).

type apiKeyItem struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

type apiKeysData struct {
	Items      []apiKeyItem
	Pagination pagination
	Scopes     []string
}

// apiKeyScopes are the scopes the API accepts for a key (POST /tenants/{id}/api-keys).
var apiKeyScopes = []string{"usage:write", "costs:read"}

func (c *Console) apiKeys(w http.ResponseWriter, r *http.Request, ss *session) {
	tid := r.PathValue("tid")
	var l struct {
		Items      []apiKeyItem `json:"items"`
		Pagination pagination   `json:"pagination"`
	}
	if !c.get(w, r, ss, "/api/v1/tenants/"+tid+"/api-keys?page_size=50&page="+pageParam(r), &l) {
		return
	}
	d := apiKeysData{Items: l.Items, Pagination: l.Pagination, Scopes: apiKeyScopes}
	c.render(w, r, ss, http.StatusOK, "apikeys", T(ss.language(), "keys.title"), tid, d)
}

func (c *Console) createAPIKey(w http.ResponseWriter, r *http.Request, ss *session) {
	tid := r.PathValue("tid")
	scopes := []string{}
	for _, s := range r.PostForm["scopes"] {
		scopes = append(scopes, strings.TrimSpace(s))
	}
	body := map[string]any{"name": strings.TrimSpace(r.PostForm.Get("name")), "scopes": scopes}
	res, ok := c.act(w, r, ss, http.MethodPost, "/api/v1/tenants/"+tid+"/api-keys", body, "keys.created", Prefix+"/t/"+tid+"/api-keys")
	var out struct {
		Key string `json:"key"`
	}
	// The key exists only in this answer: shown on the next page, then forgotten.
	if ok && res.Decode(&out) == nil {
		c.sessions.update(func() { ss.once = out.Key })
	}
}

func (c *Console) revokeAPIKey(w http.ResponseWriter, r *http.Request, ss *session) {
	tid := r.PathValue("tid")
	c.act(w, r, ss, http.MethodDelete, "/api/v1/tenants/"+tid+"/api-keys/"+url.PathEscape(r.PathValue("kid")), nil,
		"keys.revoked", Prefix+"/t/"+tid+"/api-keys")
}

type accountData struct {
	// Secret and URL of an enrolment waiting for its first code; the API shows them once,
	// so the session keeps them until the code confirms (or the session ends).
	Secret, URL string
	QR          template.URL // data: URL (built here from our own SVG, so trusted) of the otpauth URL as a QR code (SVG), "" when none
	Recovery    []string
}

func (c *Console) account(w http.ResponseWriter, r *http.Request, ss *session) {
	var d accountData
	c.sessions.update(func() {
		d.Secret, d.URL = ss.enrolSecret, ss.enrolURL
		d.Recovery, ss.recovery = ss.recovery, nil
	})
	if d.URL != "" {
		d.QR = template.URL(qrDataURL(d.URL)) // #nosec: our own base64 SVG, not user input
	}
	c.render(w, r, ss, http.StatusOK, "account", T(ss.language(), "account.title"), "", d)
}

func (c *Console) enrolMFA(w http.ResponseWriter, r *http.Request, ss *session) {
	var out struct {
		Secret     string `json:"secret"`
		OTPAuthURL string `json:"otpauth_url"`
	}
	c.accountCall(w, r, ss, "/api/v1/auth/mfa/totp", map[string]string{}, &out, func() {
		ss.enrolSecret, ss.enrolURL = out.Secret, out.OTPAuthURL
		ss.flash, ss.flashErr = T(ss.language(), "account.enrolled"), false
	})
}

func (c *Console) confirmMFA(w http.ResponseWriter, r *http.Request, ss *session) {
	var out struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	c.accountCall(w, r, ss, "/api/v1/auth/mfa/totp/confirm", map[string]string{"code": strings.TrimSpace(r.PostForm.Get("code"))}, &out, func() {
		ss.enrolSecret, ss.enrolURL, ss.recovery = "", "", out.RecoveryCodes
		ss.flash, ss.flashErr = T(ss.language(), "account.confirmed"), false
	})
}

// accountCall POSTs body to the API as the session's user and decodes the answer into out;
// on success done runs under the session lock (it keeps what the API shows only once), on
// failure the flash says why. Then back to My account (or to sign-in without a session).
func (c *Console) accountCall(w http.ResponseWriter, r *http.Request, ss *session, path string, body, out any, done func()) {
	tok, ok := c.token(r, ss)
	if !ok {
		http.Redirect(w, r, Prefix+"/signin", http.StatusSeeOther)
		return
	}
	res, err := c.call(r, tok, http.MethodPost, path, body)
	c.sessions.update(func() {
		switch {
		case err != nil:
			ss.flash, ss.flashErr = err.Error(), true
		case !res.OK():
			ss.flash, ss.flashErr = res.Problem().Message(), true
		case res.Decode(out) != nil:
			ss.flash, ss.flashErr = "unexpected answer from the API", true
		default:
			done()
		}
	})
	http.Redirect(w, r, Prefix+"/account", http.StatusSeeOther)
}

func (c *Console) disableMFA(w http.ResponseWriter, r *http.Request, ss *session) {
	body := map[string]string{}
	if v := strings.TrimSpace(r.PostForm.Get("code")); v != "" {
		body["code"] = v
	}
	if v := r.PostForm.Get("current_password"); v != "" {
		body["current_password"] = v
	}
	if _, ok := c.act(w, r, ss, http.MethodDelete, "/api/v1/auth/mfa/totp", body, "account.disabled", Prefix+"/account"); ok {
		c.sessions.update(func() { ss.enrolSecret, ss.enrolURL = "", "" })
	}
}
