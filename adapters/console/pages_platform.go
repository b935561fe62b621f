package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The operators' platform page: the platform audit chain, service accounts, the seller's
// invoicing identity and the personal-data breach register (Art. 33).

type serviceAccount struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	ClientID  string    `json:"client_id"`
	CreatedAt time.Time `json:"created_at"`
}

type breach struct {
	ID                string     `json:"id"`
	DetectedAt        time.Time  `json:"detected_at"`
	Description       string     `json:"description"`
	Categories        []string   `json:"categories"`
	ApproxSubjects    int        `json:"approx_subjects"`
	NotifyAuthorityBy time.Time  `json:"notify_authority_by"`
	Status            string     `json:"status"`
	NotifiedAt        *time.Time `json:"notified_at"`
}

type platformData struct {
	Verify struct {
		Valid           bool  `json:"valid"`
		EntriesVerified int64 `json:"entries_verified"`
	}
	Audit           []auditEntry
	ServiceAccounts []serviceAccount
	Seller          *invoiceParty
	SellerErr       string
	Breaches        []breach
}

func (c *Console) platform(w http.ResponseWriter, r *http.Request, ss *session) {
	var d platformData
	var al struct {
		Items []auditEntry `json:"items"`
	}
	var sl struct {
		Items []serviceAccount `json:"items"`
	}
	var br struct {
		Items []breach `json:"items"`
	}
	if !c.get(w, r, ss, "/api/v1/audit-log/verify", &d.Verify) ||
		!c.get(w, r, ss, "/api/v1/audit-log?page_size=20", &al) ||
		!c.get(w, r, ss, "/api/v1/service-accounts?page_size=100", &sl) ||
		!c.get(w, r, ss, "/api/v1/gdpr/breaches", &br) {
		return
	}
	d.Audit, d.ServiceAccounts, d.Breaches = al.Items, sl.Items, br.Items
	tok, ok := c.token(r, ss)
	if !ok {
		http.Redirect(w, r, Prefix+"/signin", http.StatusSeeOther)
		return
	}
	// No seller yet (404) or invoicing not configured (412) is a state, not a page error.
	if res, err := c.call(r, tok, http.MethodGet, "/api/v1/billing/seller", nil); err == nil && res.OK() {
		var p invoiceParty
		if res.Decode(&p) == nil {
			d.Seller = &p
		}
	} else if err == nil {
		d.SellerErr = res.Problem().Message()
	}
	c.render(w, r, ss, http.StatusOK, "platform", T(ss.language(), "platform.title"), "", d)
}

func (c *Console) createServiceAccount(w http.ResponseWriter, r *http.Request, ss *session) {
	res, ok := c.act(w, r, ss, http.MethodPost, "/api/v1/service-accounts", map[string]string{"name": strings.TrimSpace(r.PostForm.Get("name"))},
		"platform.sa.created", Prefix+"/platform")
	var out struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if ok && res.Decode(&out) == nil {
		c.sessions.update(func() { ss.once = out.ClientID + " / " + out.ClientSecret })
	}
}

func (c *Console) revokeServiceAccount(w http.ResponseWriter, r *http.Request, ss *session) {
	c.act(w, r, ss, http.MethodDelete, "/api/v1/service-accounts/"+url.PathEscape(r.PathValue("id")), nil, "tenants.done", Prefix+"/platform")
}
