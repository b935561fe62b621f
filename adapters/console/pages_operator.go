package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

type tenantItem struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Slug       string    `json:"slug"`
	Status     string    `json:"status"`
	Tier       string    `json:"tier"`
	AdminEmail string    `json:"admin_email"`
	PlanCode   string    `json:"plan_code"`
	CreatedAt  time.Time `json:"created_at"`
}

type tenantsData struct {
	Items      []tenantItem
	Pagination pagination
	Query      string
	Status     string
	Statuses   []string
	Tiers      []string
	Plans      []string // plan codes a tenant can be moved to; none when the server has no plans
}

var tenantStatuses = []string{"PENDING", "PROVISIONING", "ACTIVE", "SUSPENDED", "DEPROVISIONING", "DELETED"}

// tenants lists tenants for operators. The API filters by status but has no search
// parameter: without a search the console shows the API's page; with one it walks every page
// of the (status-filtered) list and filters name and slug here, so a match beyond the first
// 100 tenants is found too.
func (c *Console) tenants(w http.ResponseWriter, r *http.Request, ss *session) {
	d := tenantsData{Query: strings.TrimSpace(r.URL.Query().Get("q")), Statuses: tenantStatuses,
		Tiers: []string{"FREE", "STARTER", "PROFESSIONAL", "ENTERPRISE"}}
	q := url.Values{"page": {pageParam(r)}, "page_size": {"100"}}
	for _, s := range tenantStatuses {
		if r.URL.Query().Get("status") == s {
			d.Status = s
			q.Set("status", s)
		}
	}
	type tenantPage struct {
		Items      []tenantItem `json:"items"`
		Pagination pagination   `json:"pagination"`
	}
	d.Plans = c.planCodes(r, ss)
	needle := strings.ToLower(d.Query)
	if needle == "" {
		var l tenantPage
		if !c.get(w, r, ss, "/api/v1/tenants?"+q.Encode(), &l) {
			return
		}
		d.Items, d.Pagination = l.Items, l.Pagination
		c.render(w, r, ss, http.StatusOK, "tenants", T(ss.language(), "tenants.title"), "", d)
		return
	}
	// maxSearchPages bounds one search's work (100,000 tenants) so a page view stays cheap.
	const maxSearchPages = 1000
	for n := 1; n <= maxSearchPages; n++ {
		q.Set("page", strconv.Itoa(n))
		var l tenantPage
		if !c.get(w, r, ss, "/api/v1/tenants?"+q.Encode(), &l) {
			return
		}
		for _, t := range l.Items {
			if strings.Contains(strings.ToLower(t.Name), needle) || strings.Contains(t.Slug, needle) {
				d.Items = append(d.Items, t)
			}
		}
		if n >= l.Pagination.TotalPages || len(l.Items) == 0 {
			break
		}
	}
	d.Pagination = pagination{Page: 1, PageSize: len(d.Items), TotalItems: len(d.Items), TotalPages: 1}
	c.render(w, r, ss, http.StatusOK, "tenants", T(ss.language(), "tenants.title"), "", d)
}

func (c *Console) createTenant(w http.ResponseWriter, r *http.Request, ss *session) {
	body := map[string]string{"name": strings.TrimSpace(r.PostForm.Get("name")), "slug": strings.TrimSpace(r.PostForm.Get("slug")),
		"admin_email": strings.TrimSpace(r.PostForm.Get("admin_email"))}
	if t := r.PostForm.Get("tier"); t != "" {
		body["tier"] = t
	}
	res, ok := c.act(w, r, ss, http.MethodPost, "/api/v1/tenants", body, "tenants.created", Prefix+"/tenants")
	var created struct {
		OwnerInvitation struct {
			Token string `json:"token"`
		} `json:"owner_invitation"`
	}
	if ok && res.Decode(&created) == nil {
		c.sessions.update(func() { ss.once = created.OwnerInvitation.Token })
	}
}

// tenantAction suspends, activates or deletes a tenant. Deletion runs the GDPR erasure of
// everything the tenant holds, so the form asks for the slug typed out, and the console
// compares it with the tenant's actual slug (read from the API) before it sends DELETE.
func (c *Console) tenantAction(w http.ResponseWriter, r *http.Request, ss *session) {
	tid := url.PathEscape(r.PathValue("tid"))
	back := Prefix + "/tenants"
	switch r.PathValue("action") {
	case "suspend", "activate":
		c.act(w, r, ss, http.MethodPost, "/api/v1/tenants/"+tid+"/"+r.PathValue("action"), nil, "tenants.done", back)
	case "delete":
		var t tenantItem
		if !c.get(w, r, ss, "/api/v1/tenants/"+tid, &t) {
			return
		}
		if strings.TrimSpace(r.PostForm.Get("confirm")) != t.Slug {
			c.sessions.update(func() { ss.flash, ss.flashErr = T(ss.language(), "tenants.delete.wrong"), true })
			http.Redirect(w, r, back, http.StatusSeeOther)
			return
		}
		c.act(w, r, ss, http.MethodDelete, "/api/v1/tenants/"+tid, nil, "tenants.done", back)
	default:
		c.fail(w, r, ss, http.StatusNotFound, T(ss.language(), "err.notfound"))
	}
}

// planCodes lists the plans' codes for the tenant list's plan selector; an API that has no
// plans (or refuses) gives none, and the selector is not shown.
func (c *Console) planCodes(r *http.Request, ss *session) []string {
	tok, ok := c.token(r, ss)
	if !ok {
		return nil
	}
	res, err := c.call(r, tok, http.MethodGet, "/api/v1/billing/plans", nil)
	if err != nil || !res.OK() {
		return nil
	}
	var l struct {
		Items []struct {
			Code string `json:"code"`
		} `json:"items"`
	}
	if res.Decode(&l) != nil {
		return nil
	}
	var out []string
	for _, p := range l.Items {
		out = append(out, p.Code)
	}
	return out
}
