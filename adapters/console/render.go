package console

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

// page is what every template sees.
type page struct {
	Lang, Title string
	Path        string // the page's own path (the language switch returns to it)
	CSRF        string
	Principal   *auth.Principal
	TenantID    string // the tenant whose pages are shown ("" on operator and public pages)
	TenantLabel string
	Nav         []navItem
	Active      string
	Flash       string
	FlashErr    bool
	Once        string
	Data        any
}

type navItem struct {
	Key, Href string
	Current   bool
}

// T is the catalogue string of key.
func (p *page) T(key string) string { return T(p.Lang, key) }

// Tf formats the catalogue string of key with args.
func (p *page) Tf(key string, args ...any) string { return fmt.Sprintf(T(p.Lang, key), args...) }

// Money formats an EUR decimal string.
func (p *page) Money(s string) string { return formatMoney(p.Lang, s) }

// MoneyP formats an optional EUR decimal string.
func (p *page) MoneyP(s *string) string {
	if s == nil {
		return "–"
	}
	return formatMoney(p.Lang, *s)
}

// Num formats a decimal string with up to the digits it has (quantities, percentages).
func (p *page) Num(s string, places int) string { return formatDecimal(p.Lang, s, int32(places)) }

// Pct formats a fraction (0.8) as a percentage number (80).
func (p *page) Pct(s string) string {
	return formatDecimal(p.Lang, dec(s).Shift(2).String(), 0)
}

// Day formats a YYYY-MM-DD date.
func (p *page) Day(s string) string {
	if s == "" {
		return "–"
	}
	return formatDate(p.Lang, parseDay(s))
}

// DayP formats an optional date.
func (p *page) DayP(s *string) string {
	if s == nil {
		return "–"
	}
	return p.Day(*s)
}

// Time formats an instant.
func (p *page) Time(t time.Time) string { return formatTime(p.Lang, t) }

// TimeP formats an optional instant.
func (p *page) TimeP(t *time.Time) string {
	if t == nil {
		return "–"
	}
	return formatTime(p.Lang, *t)
}

// Can reports whether the principal holds perm on the page's tenant: the console shows an
// action only when the API would allow it.
func (p *page) Can(perm string) bool {
	if p.Principal == nil {
		return false
	}
	tid, err := eusaas.ParseTenantID(p.TenantID)
	if err != nil {
		return p.Principal.Kind == eusaas.ActorOperator
	}
	return p.Principal.Can(tid, auth.Permission(perm))
}

// Operator reports a platform operator.
func (p *page) Operator() bool { return p.Principal != nil && p.Principal.Kind == eusaas.ActorOperator }

// RoleName is the principal's role for the header.
func (p *page) RoleName() string {
	if p.Principal == nil {
		return ""
	}
	if p.Operator() {
		return p.T("role.operator")
	}
	return p.T("role." + string(p.Principal.Role))
}

// render executes template name in the layout and writes it with status. The flash and
// the show-once secret are consumed here.
func (c *Console) render(w http.ResponseWriter, r *http.Request, ss *session, status int, name, title, tenantID string, data any) {
	p := &page{Lang: ss.language(), Title: title, TenantID: tenantID, Data: data, Path: r.URL.RequestURI()}
	c.sessions.update(func() {
		p.CSRF, p.Principal = ss.csrf, ss.principal()
		p.Flash, p.FlashErr, p.Once = ss.flash, ss.flashErr, ss.once
		ss.flash, ss.once = "", ""
		if ss.principal() != nil && ss.principal().Kind == eusaas.ActorUser {
			p.TenantLabel = ss.tenant
		}
	})
	if p.TenantLabel == "" && tenantID != "" {
		p.TenantLabel = tenantID
	}
	p.Nav = nav(p, r.URL.Path)
	t := c.pages[name]
	if t == nil {
		http.Error(w, "no template "+name, http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		c.log.ErrorContext(r.Context(), "console: render", "page", name, "error", err.Error())
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// nav is the menu: the tenant's pages the principal may read, and for operators the
// tenant list.
func nav(p *page, path string) []navItem {
	var items []navItem
	if p.Principal == nil {
		return nil
	}
	if p.Operator() {
		items = append(items, navItem{Key: "nav.tenants", Href: Prefix + "/tenants"}, navItem{Key: "nav.plans", Href: Prefix + "/plans"},
			navItem{Key: "nav.platform", Href: Prefix + "/platform"})
	}
	tid := p.TenantID
	if tid == "" && !p.Operator() {
		tid = p.Principal.TenantID.String()
	}
	if tid != "" {
		base := Prefix + "/t/" + tid
		for _, it := range []struct {
			key, href string
			perm      auth.Permission
		}{
			{"nav.overview", "/overview", auth.PermBillingRead},
			{"nav.anomalies", "/anomalies", auth.PermBillingRead},
			{"nav.alerts", "/alerts", auth.PermBillingRead},
			{"nav.invoices", "/invoices", auth.PermBillingRead},
			{"nav.usage", "/usage", auth.PermBillingRead},
			{"nav.users", "/users", auth.PermUsersRead},
			{"nav.gdpr", "/gdpr", auth.PermGDPRWrite},
			{"nav.audit", "/audit", auth.PermAuditRead},
			{"nav.apikeys", "/api-keys", auth.PermAPIKeys},
			{"nav.settings", "/settings", auth.PermTenantRead},
		} {
			id, err := eusaas.ParseTenantID(tid)
			if err == nil && p.Principal.Can(id, it.perm) {
				items = append(items, navItem{Key: it.key, Href: base + it.href})
			}
		}
	}
	items = append(items, navItem{Key: "nav.account", Href: Prefix + "/account"})
	for i := range items {
		items[i].Current = path == items[i].Href || (len(path) > len(items[i].Href) && path[:len(items[i].Href)+1] == items[i].Href+"/")
	}
	return items
}

type pagerData struct {
	Pages                           int
	Prev, Next                      string
	Text, PrevText, NextText, Label string
}

// pagerOf is the previous/next links of a paginated list, on the page's own URL.
func pagerOf(p *page, pg pagination) pagerData {
	d := pagerData{Pages: pg.TotalPages, Text: p.Tf("page.of", pg.Page, pg.TotalPages),
		PrevText: p.T("page.prev"), NextText: p.T("page.next"), Label: p.Tf("page.of", pg.Page, pg.TotalPages)}
	u, err := url.Parse(p.Path)
	if err != nil {
		return d
	}
	at := func(n int) string {
		q := u.Query()
		q.Set("page", strconv.Itoa(n))
		v := *u
		v.RawQuery = q.Encode()
		return v.String()
	}
	if pg.Page > 1 {
		d.Prev = at(pg.Page - 1)
	}
	if pg.Page < pg.TotalPages {
		d.Next = at(pg.Page + 1)
	}
	return d
}
