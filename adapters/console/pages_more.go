package console

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Usage: quantities by resource and day, from the API's cost breakdown by day (which
// carries each line's quantity and unit).

type usageData struct {
	Days      int
	Spans     []int
	Resources []string
	Units     map[string]string
	Rows      []usageRow
	Totals    []string
}

type usageRow struct {
	Day        string
	Quantities []string
}

func (c *Console) usage(w http.ResponseWriter, r *http.Request, ss *session) {
	tid := r.PathValue("tid")
	d := usageData{Days: 30, Spans: []int{7, 30, 90}, Units: map[string]string{}}
	if n, err := strconv.Atoi(r.URL.Query().Get("days")); err == nil && (n == 7 || n == 90) {
		d.Days = n
	}
	today := c.now().UTC().Truncate(24 * time.Hour)
	from := today.AddDate(0, 0, -(d.Days - 1))
	var b struct {
		LineItems []struct {
			Service  string `json:"service"`
			Date     string `json:"date"`
			Unit     string `json:"unit"`
			Quantity string `json:"quantity"`
		} `json:"line_items"`
	}
	q := url.Values{"start_date": {from.Format("2006-01-02")}, "end_date": {today.Format("2006-01-02")}, "group_by": {"day"}}
	if !c.get(w, r, ss, "/api/v1/tenants/"+tid+"/costs?"+q.Encode(), &b) {
		return
	}
	byDay := map[string]map[string]decimal.Decimal{}
	totals := map[string]decimal.Decimal{}
	for _, l := range b.LineItems {
		if byDay[l.Date] == nil {
			byDay[l.Date] = map[string]decimal.Decimal{}
		}
		qty := dec(l.Quantity)
		byDay[l.Date][l.Service] = byDay[l.Date][l.Service].Add(qty)
		totals[l.Service] = totals[l.Service].Add(qty)
		d.Units[l.Service] = l.Unit
	}
	for _, s := range resourceOrder {
		if _, ok := d.Units[s]; ok {
			d.Resources = append(d.Resources, s)
		}
	}
	var extra []string
	for s := range d.Units {
		if _, known := resourceColors[s]; !known {
			extra = append(extra, s)
		}
	}
	sort.Strings(extra)
	d.Resources = append(d.Resources, extra...)
	for i := d.Days - 1; i >= 0; i-- {
		day := from.AddDate(0, 0, i).Format("2006-01-02")
		row := usageRow{Day: day}
		for _, s := range d.Resources {
			row.Quantities = append(row.Quantities, formatDecimal(ss.language(), byDay[day][s].String(), 2))
		}
		d.Rows = append(d.Rows, row)
	}
	for _, s := range d.Resources {
		d.Totals = append(d.Totals, formatDecimal(ss.language(), totals[s].String(), 2))
	}
	c.render(w, r, ss, http.StatusOK, "usage", T(ss.language(), "usage.title"), tid, d)
}

// GDPR: data-subject requests with their deadlines, starting one, starting its work
// (verify-identity), and downloading a finished export.

type dsrItem struct {
	ID            string     `json:"id"`
	Type          string     `json:"type"`
	Status        string     `json:"status"`
	DataSubjectID *string    `json:"data_subject_id"`
	Email         *string    `json:"email"`
	ReceivedAt    time.Time  `json:"received_at"`
	DueAt         time.Time  `json:"due_at"`
	ExtendedDueAt *time.Time `json:"extended_due_at"`
	Overdue       bool       `json:"overdue"`
	CompletedAt   *time.Time `json:"completed_at"`
	JobID         *string    `json:"job_id"`
}

type gdprData struct {
	Items      []dsrItem
	Pagination pagination
	Users      []userItem
	Types      []string
}

func (c *Console) gdprPage(w http.ResponseWriter, r *http.Request, ss *session) {
	tid := r.PathValue("tid")
	d := gdprData{Types: []string{"ACCESS", "PORTABILITY", "ERASURE", "RECTIFICATION", "RESTRICTION", "OBJECTION"}}
	var l struct {
		Items      []dsrItem  `json:"items"`
		Pagination pagination `json:"pagination"`
	}
	var ul struct {
		Items []userItem `json:"items"`
	}
	if !c.get(w, r, ss, "/api/v1/tenants/"+tid+"/gdpr/requests?page_size=50&page="+pageParam(r), &l) ||
		!c.get(w, r, ss, "/api/v1/tenants/"+tid+"/users?page_size=100", &ul) {
		return
	}
	// Newest first on screen (the API lists oldest first, the order deadlines fall due).
	for i := len(l.Items) - 1; i >= 0; i-- {
		d.Items = append(d.Items, l.Items[i])
	}
	d.Pagination, d.Users = l.Pagination, ul.Items
	c.render(w, r, ss, http.StatusOK, "gdpr", T(ss.language(), "gdpr.title"), tid, d)
}

func (c *Console) createDSR(w http.ResponseWriter, r *http.Request, ss *session) {
	tid := r.PathValue("tid")
	body := map[string]string{"type": r.PostForm.Get("type")}
	for _, f := range []string{"data_subject_id", "email", "details", "format"} {
		if v := strings.TrimSpace(r.PostForm.Get(f)); v != "" {
			body[f] = v
		}
	}
	if t := body["type"]; t != "ACCESS" && t != "PORTABILITY" {
		delete(body, "format")
	}
	c.act(w, r, ss, http.MethodPost, "/api/v1/tenants/"+tid+"/gdpr/requests", body, "gdpr.created", Prefix+"/t/"+tid+"/gdpr")
}

func (c *Console) verifyDSR(w http.ResponseWriter, r *http.Request, ss *session) {
	tid := r.PathValue("tid")
	c.act(w, r, ss, http.MethodPost, "/api/v1/tenants/"+tid+"/gdpr/requests/"+url.PathEscape(r.PathValue("rid"))+"/verify-identity",
		map[string]string{"method": strings.TrimSpace(r.PostForm.Get("method"))}, "gdpr.started", Prefix+"/t/"+tid+"/gdpr")
}

// dsrReasoned extends (to three months) or rejects a request; both need a reason, which the
// data subject is given. complete closes one by hand with what was done (the outcome; the API
// requires it for rectification and objection, and refuses while an export or erasure runs).
func (c *Console) dsrReasoned(w http.ResponseWriter, r *http.Request, ss *session) {
	tid, action := r.PathValue("tid"), r.PathValue("action")
	if action == "complete" {
		body := map[string]string{}
		if v := strings.TrimSpace(r.PostForm.Get("outcome")); v != "" {
			body["outcome"] = v
		}
		c.act(w, r, ss, http.MethodPost, "/api/v1/tenants/"+tid+"/gdpr/requests/"+url.PathEscape(r.PathValue("rid"))+"/complete",
			body, "gdpr.completed", Prefix+"/t/"+tid+"/gdpr")
		return
	}
	if action != "extend" && action != "reject" {
		c.fail(w, r, ss, http.StatusNotFound, T(ss.language(), "err.notfound"))
		return
	}
	c.act(w, r, ss, http.MethodPost, "/api/v1/tenants/"+tid+"/gdpr/requests/"+url.PathEscape(r.PathValue("rid"))+"/"+action,
		map[string]string{"reason": strings.TrimSpace(r.PostForm.Get("reason"))}, "gdpr."+action+"ed", Prefix+"/t/"+tid+"/gdpr")
}

// exportDownload streams a finished export. The API's download URL carries its own signed
// token; the console follows it in process, so it works whatever APP_PUBLIC_URL says.
func (c *Console) exportDownload(w http.ResponseWriter, r *http.Request, ss *session) {
	tid, job := r.PathValue("tid"), url.PathEscape(r.PathValue("job"))
	var st struct {
		Status      string  `json:"status"`
		DownloadURL *string `json:"download_url"`
	}
	if !c.get(w, r, ss, "/api/v1/tenants/"+tid+"/gdpr/export/"+job, &st) {
		return
	}
	if st.DownloadURL == nil {
		c.fail(w, r, ss, http.StatusConflict, T(ss.language(), "gdpr.notready")+" ("+st.Status+")")
		return
	}
	u, err := url.Parse(*st.DownloadURL)
	if err != nil || !strings.HasPrefix(u.Path, "/api/v1/gdpr/downloads/") {
		c.fail(w, r, ss, http.StatusBadGateway, "unexpected download URL")
		return
	}
	res, err := c.call(r, "", http.MethodGet, u.EscapedPath(), nil)
	if err != nil || !res.OK() {
		if err == nil {
			c.apiFail(w, r, ss, res)
		} else {
			c.fail(w, r, ss, http.StatusInternalServerError, err.Error())
		}
		return
	}
	for _, h := range []string{"Content-Type", "Content-Disposition", "Digest", "Repr-Digest"} {
		if v := res.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	if w.Header().Get("Content-Disposition") == "" {
		w.Header().Set("Content-Disposition", `attachment; filename="gdpr-export-`+r.PathValue("job")+`.zip"`)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(res.Body)
}

// Settings: the tenant's settings (OWNER and ADMIN read and change them) and its billing
// profile.

type settingsData struct {
	Tenant struct {
		Name     string `json:"name"`
		Slug     string `json:"slug"`
		Status   string `json:"status"`
		Tier     string `json:"tier"`
		Region   string `json:"data_residency_region"`
		Settings struct {
			MaxUsers           int    `json:"max_users"`
			APIRateLimit       int    `json:"api_rate_limit"`
			DataRetentionDays  int    `json:"data_retention_days"`
			CostAlertThreshold string `json:"cost_alert_threshold"`
			AnomalyMinImpact   string `json:"anomaly_min_impact"`
		} `json:"settings"`
	}
	Profile    *invoiceParty
	ProfileErr string
}

func (c *Console) settings(w http.ResponseWriter, r *http.Request, ss *session) {
	tid := r.PathValue("tid")
	var d settingsData
	if !c.get(w, r, ss, "/api/v1/tenants/"+tid, &d.Tenant) {
		return
	}
	tok, ok := c.token(r, ss)
	if !ok {
		http.Redirect(w, r, Prefix+"/signin", http.StatusSeeOther)
		return
	}
	// The billing profile is optional: 404 (none yet) and 412 (invoicing not configured)
	// are states to show, not errors of the page.
	if res, err := c.call(r, tok, http.MethodGet, "/api/v1/tenants/"+tid+"/billing-profile", nil); err == nil && res.OK() {
		var p invoiceParty
		if res.Decode(&p) == nil {
			d.Profile = &p
		}
	} else if err == nil {
		d.ProfileErr = res.Problem().Message()
	}
	c.render(w, r, ss, http.StatusOK, "settings", T(ss.language(), "settings.title"), tid, d)
}

func (c *Console) saveSettings(w http.ResponseWriter, r *http.Request, ss *session) {
	tid := r.PathValue("tid")
	set := map[string]any{}
	for _, f := range []string{"cost_alert_threshold", "anomaly_min_impact"} {
		if v := strings.TrimSpace(r.PostForm.Get(f)); v != "" {
			set[f] = v
		}
	}
	if v := strings.TrimSpace(r.PostForm.Get("data_retention_days")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			c.sessions.update(func() { ss.flash, ss.flashErr = "data_retention_days: "+T(ss.language(), "settings.number"), true })
			http.Redirect(w, r, Prefix+"/t/"+tid+"/settings", http.StatusSeeOther)
			return
		}
		set["data_retention_days"] = n
	}
	c.act(w, r, ss, http.MethodPatch, "/api/v1/tenants/"+tid, map[string]any{"settings": set}, "settings.saved", Prefix+"/t/"+tid+"/settings")
}
