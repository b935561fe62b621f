package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

// The API's answers, as far as the pages show them (field names are the REST contract).

type pagination struct {
	Page       int `json:"page"`
	PageSize   int `json:"page_size"`
	TotalItems int `json:"total_items"`
	TotalPages int `json:"total_pages"`
}

type breakdown struct {
	TotalAmount string     `json:"total_amount"`
	LineItems   []costLine `json:"line_items"`
}

type projection struct {
	ActualToDate   string `json:"actual_to_date"`
	ProjectedTotal string `json:"projected_total"`
	Low            string `json:"confidence_interval_low"`
	High           string `json:"confidence_interval_high"`
	Level          string `json:"confidence_level"`
	PeriodStart    string `json:"billing_period_start"`
	PeriodEnd      string `json:"billing_period_end"`
	Budget         *struct {
		Threshold        string `json:"cost_alert_threshold"`
		ProjectedExceeds bool   `json:"projected_exceeds"`
		MayExceed        bool   `json:"may_exceed"`
	} `json:"budget"`
}

type anomalyItem struct {
	ID             string  `json:"id"`
	Day            string  `json:"day"`
	Severity       string  `json:"severity"`
	Kind           string  `json:"kind"`
	Service        string  `json:"service"`
	Expected       string  `json:"expected_amount"`
	Actual         string  `json:"actual_amount"`
	Impact         string  `json:"impact_amount"`
	DeviationPct   *string `json:"deviation_pct"`
	Description    string  `json:"description"`
	Acknowledged   bool    `json:"acknowledged"`
	AcknowledgedBy *string `json:"acknowledged_by"`
	Status         string  `json:"status"`
	StartDate      string  `json:"start_date"`
	LastDay        string  `json:"last_day"`
	EndDate        *string `json:"end_date"`
	TotalImpact    string  `json:"total_impact"`
	Contributions  []struct {
		Resource string  `json:"resource"`
		Delta    string  `json:"delta_amount"`
		SharePct *string `json:"share_pct"`
	} `json:"contributions"`
	// RootCauses are the attribute values (region, usage type, ...) the API ranks as the
	// explanation of the episode, largest first.
	RootCauses []struct {
		Dimension    string `json:"dimension"`
		Value        string `json:"value"`
		Contribution string `json:"contribution_amount"`
		SharePct     string `json:"share_pct"`
	} `json:"root_causes"`
	Feedback *struct {
		Verdict string `json:"verdict"`
	} `json:"feedback"`
}

type anomalyList struct {
	Items      []anomalyItem `json:"items"`
	Pagination pagination    `json:"pagination"`
}

type overviewData struct {
	Current    breakdown
	Projection projection
	Daily      dailyChart
	Proj       projChart
	Anomalies  anomalyList
}

// dailyDays is the span of the overview's chart.
const dailyDays = 90

func (c *Console) overview(w http.ResponseWriter, r *http.Request, ss *session) {
	tid := r.PathValue("tid")
	base := "/api/v1/tenants/" + tid
	var d overviewData
	today := c.now().UTC().Truncate(24 * time.Hour)
	from := today.AddDate(0, 0, -(dailyDays - 1))
	var daily breakdown
	q := url.Values{"start_date": {from.Format("2006-01-02")}, "end_date": {today.Format("2006-01-02")}, "group_by": {"day"}}
	if !c.get(w, r, ss, base+"/costs/current", &d.Current) ||
		!c.get(w, r, ss, base+"/costs/projection", &d.Projection) ||
		!c.get(w, r, ss, base+"/costs?"+q.Encode(), &daily) ||
		!c.get(w, r, ss, base+"/anomalies?acknowledged=false&page_size=5", &d.Anomalies) {
		return
	}
	d.Daily = buildDailyChart(ss.language(), from, today, daily.LineItems)
	budget := ""
	if d.Projection.Budget != nil {
		budget = d.Projection.Budget.Threshold
	}
	d.Proj = buildProjChart(ss.language(), d.Projection.ActualToDate, d.Projection.ProjectedTotal, d.Projection.Low, d.Projection.High, budget)
	c.render(w, r, ss, http.StatusOK, "overview", T(ss.language(), "overview.title"), tid, d)
}

type anomaliesData struct {
	List     anomalyList
	OnlyOpen bool
	Verdicts []string
}

func pageParam(r *http.Request) string {
	if n, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && n > 1 {
		return strconv.Itoa(n)
	}
	return "1"
}

func (c *Console) anomalies(w http.ResponseWriter, r *http.Request, ss *session) {
	tid := r.PathValue("tid")
	d := anomaliesData{OnlyOpen: r.URL.Query().Get("open") == "1", Verdicts: []string{"EXPECTED", "FALSE_POSITIVE", "CONFIRMED"}}
	q := url.Values{"page": {pageParam(r)}, "page_size": {"20"}}
	if d.OnlyOpen {
		q.Set("acknowledged", "false")
	}
	if !c.get(w, r, ss, "/api/v1/tenants/"+tid+"/anomalies?"+q.Encode(), &d.List) {
		return
	}
	// Root causes: the resources that moved by at least a cent, largest first (the API
	// lists every resource of the day).
	for i := range d.List.Items {
		cs := d.List.Items[i].Contributions[:0]
		for _, c := range d.List.Items[i].Contributions {
			if dec(c.Delta).Abs().GreaterThanOrEqual(decimal.New(1, -2)) {
				cs = append(cs, c)
			}
		}
		sort.SliceStable(cs, func(a, b int) bool { return dec(cs[a].Delta).Abs().GreaterThan(dec(cs[b].Delta).Abs()) })
		d.List.Items[i].Contributions = cs
	}
	c.render(w, r, ss, http.StatusOK, "anomalies", T(ss.language(), "anom.title"), tid, d)
}

func (c *Console) acknowledge(w http.ResponseWriter, r *http.Request, ss *session) {
	tid, aid := r.PathValue("tid"), url.PathEscape(r.PathValue("aid"))
	c.act(w, r, ss, http.MethodPost, "/api/v1/tenants/"+tid+"/anomalies/"+aid+"/acknowledge", nil, "anom.ackdone", Prefix+"/t/"+tid+"/anomalies")
}

func (c *Console) feedback(w http.ResponseWriter, r *http.Request, ss *session) {
	tid, aid := r.PathValue("tid"), url.PathEscape(r.PathValue("aid"))
	body := map[string]any{"verdict": r.PostForm.Get("verdict")}
	if note := strings.TrimSpace(r.PostForm.Get("note")); note != "" {
		body["note"] = note
	}
	c.act(w, r, ss, http.MethodPost, "/api/v1/tenants/"+tid+"/anomalies/"+aid+"/feedback", body, "anom.fbdone", Prefix+"/t/"+tid+"/anomalies")
}

type invoiceParty struct {
	LegalName string `json:"legal_name"`
	VATID     string `json:"vat_id"`
	Address   struct {
		Line1      string `json:"line1"`
		PostalCode string `json:"postal_code"`
		City       string `json:"city"`
		Country    string `json:"country"`
	} `json:"address"`
}

type invoiceItem struct {
	ID            string     `json:"id"`
	InvoiceNumber *string    `json:"invoice_number"`
	Status        string     `json:"status"`
	Kind          string     `json:"kind"`
	PeriodStart   string     `json:"period_start"`
	PeriodEnd     string     `json:"period_end"`
	Subtotal      string     `json:"subtotal"`
	TaxAmount     string     `json:"tax_amount"`
	TotalAmount   string     `json:"total_amount"`
	IssuedAt      *time.Time `json:"issued_at"`
	DueDate       *string    `json:"due_date"`
	LineItems     []struct {
		LineID      int    `json:"line_id"`
		Service     string `json:"service"`
		Description string `json:"description"`
		Unit        string `json:"unit"`
		Quantity    string `json:"quantity"`
		UnitPrice   string `json:"unit_price"`
		Amount      string `json:"amount"`
		VATCategory string `json:"vat_category"`
		VATRate     string `json:"vat_rate"`
	} `json:"line_items"`
	Seller *invoiceParty `json:"seller"`
	Buyer  *invoiceParty `json:"buyer"`
	VAT    *struct {
		Rule          string `json:"rule"`
		Rate          string `json:"rate"`
		Reason        string `json:"reason"`
		ExemptionText string `json:"exemption_text"`
	} `json:"vat"`
	VATBreakdown []struct {
		Category      string `json:"category"`
		Rate          string `json:"rate"`
		TaxableAmount string `json:"taxable_amount"`
		TaxAmount     string `json:"tax_amount"`
	} `json:"vat_breakdown"`
	Documents []struct {
		Format string `json:"format"`
		SHA256 string `json:"sha256"`
	} `json:"documents"`
	Invoice *struct {
		ID     string `json:"id"`
		Number string `json:"invoice_number"`
	} `json:"invoice"`
	Reason string `json:"reason"`
}

type invoiceList struct {
	Items      []invoiceItem `json:"items"`
	Pagination pagination    `json:"pagination"`
}

type invoicesData struct {
	invoiceList
	CreditNotes []invoiceItem
}

func (c *Console) invoices(w http.ResponseWriter, r *http.Request, ss *session) {
	tid := r.PathValue("tid")
	var d invoicesData
	var cn invoiceList
	if !c.get(w, r, ss, "/api/v1/tenants/"+tid+"/invoices?page_size=20&page="+pageParam(r), &d.invoiceList) ||
		!c.get(w, r, ss, "/api/v1/tenants/"+tid+"/credit-notes?page_size=100", &cn) {
		return
	}
	d.CreditNotes = cn.Items
	c.render(w, r, ss, http.StatusOK, "invoices", T(ss.language(), "inv.title"), tid, d)
}

func (c *Console) invoice(w http.ResponseWriter, r *http.Request, ss *session) {
	tid := r.PathValue("tid")
	var inv invoiceItem
	if !c.get(w, r, ss, "/api/v1/tenants/"+tid+"/invoices/"+url.PathEscape(r.PathValue("iid")), &inv) {
		return
	}
	c.render(w, r, ss, http.StatusOK, "invoice", T(ss.language(), "inv.detail"), tid, inv)
}

// invoiceDocument passes a stored invoice or credit note document (UBL, CII) through from
// the API as a download: the bytes are the API's, unchanged.
func (c *Console) invoiceDocument(w http.ResponseWriter, r *http.Request, ss *session) {
	c.document(w, r, ss, "invoices", "invoice")
}

func (c *Console) creditNoteDocument(w http.ResponseWriter, r *http.Request, ss *session) {
	c.document(w, r, ss, "credit-notes", "credit-note")
}

func (c *Console) document(w http.ResponseWriter, r *http.Request, ss *session, collection, prefix string) {
	tid, iid, format := r.PathValue("tid"), r.PathValue("iid"), r.PathValue("format")
	switch format {
	case "ubl", "cii", "pdf":
	default:
		c.fail(w, r, ss, http.StatusNotFound, T(ss.language(), "err.notfound"))
		return
	}
	tok, ok := c.token(r, ss)
	if !ok {
		http.Redirect(w, r, Prefix+"/signin", http.StatusSeeOther)
		return
	}
	res, err := c.call(r, tok, http.MethodGet, "/api/v1/tenants/"+tid+"/"+collection+"/"+url.PathEscape(iid)+"/"+format, nil)
	if err != nil || !res.OK() {
		if err != nil {
			c.fail(w, r, ss, http.StatusInternalServerError, err.Error())
		} else {
			c.apiFail(w, r, ss, res)
		}
		return
	}
	ct := res.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	ext := map[string]string{"ubl": "ubl.xml", "cii": "cii.xml", "pdf": "pdf"}[format]
	w.Header().Set("Content-Type", ct)
	// The API found the invoice, so iid is a UUID; keep only its hex digits and dashes all the
	// same, so nothing from the URL can reach the header's quoted string.
	name := strings.Map(func(r rune) rune {
		if r == '-' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'f') || (r >= 'A' && r <= 'F') {
			return r
		}
		return -1
	}, iid)
	w.Header().Set("Content-Disposition", `attachment; filename="`+prefix+`-`+name+`.`+ext+`"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(res.Body)
}

type userItem struct {
	ID          string     `json:"id"`
	Email       string     `json:"email"`
	FullName    string     `json:"full_name"`
	Role        string     `json:"role"`
	IsActive    bool       `json:"is_active"`
	LastLoginAt *time.Time `json:"last_login_at"`
}

type invitationItem struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	ExpiresAt time.Time `json:"expires_at"`
}

type usersData struct {
	Users       []userItem
	Invitations []invitationItem
	ShowInvites bool
	Roles       []string // roles the principal may give (its own and below)
	Self        string   // the principal's user id: its own row has no actions
}

// roleOrder is most to least privileged; a user may invite to its own role or below (the
// API's rule; the form only offers those).
var roleOrder = []string{"OWNER", "ADMIN", "MEMBER", "VIEWER"}

func (c *Console) users(w http.ResponseWriter, r *http.Request, ss *session) {
	tid := r.PathValue("tid")
	var d usersData
	var ul struct {
		Items []userItem `json:"items"`
	}
	if !c.get(w, r, ss, "/api/v1/tenants/"+tid+"/users?page_size=100", &ul) {
		return
	}
	d.Users = ul.Items
	p := ss.principal()
	d.Self = p.UserID
	if tidp, err := eusaas.ParseTenantID(tid); err == nil && p.Can(tidp, auth.PermInvite) {
		var il struct {
			Items []invitationItem `json:"items"`
		}
		if !c.get(w, r, ss, "/api/v1/tenants/"+tid+"/invitations?page_size=100", &il) {
			return
		}
		d.Invitations, d.ShowInvites = il.Items, true
	}
	for i, role := range roleOrder {
		if p.Role == "" || roleOrderIndex(string(p.Role)) <= i {
			d.Roles = append(d.Roles, role)
		}
	}
	c.render(w, r, ss, http.StatusOK, "users", T(ss.language(), "users.title"), tid, d)
}

// changeUser changes a user's role or deactivates / reactivates it (PATCH, users:write).
func (c *Console) changeUser(w http.ResponseWriter, r *http.Request, ss *session) {
	tid := r.PathValue("tid")
	body := map[string]any{}
	switch r.PostForm.Get("change") {
	case "role":
		body["role"] = r.PostForm.Get("role")
	case "deactivate":
		body["is_active"] = false
	case "activate":
		body["is_active"] = true
	default:
		c.fail(w, r, ss, http.StatusBadRequest, T(ss.language(), "err.notfound"))
		return
	}
	c.act(w, r, ss, http.MethodPatch, "/api/v1/tenants/"+tid+"/users/"+url.PathEscape(r.PathValue("uid")), body, "users.changed", Prefix+"/t/"+tid+"/users")
}

func roleOrderIndex(role string) int {
	for i, r := range roleOrder {
		if r == role {
			return i
		}
	}
	return len(roleOrder)
}

func (c *Console) invite(w http.ResponseWriter, r *http.Request, ss *session) {
	tid := r.PathValue("tid")
	res, ok := c.act(w, r, ss, http.MethodPost, "/api/v1/tenants/"+tid+"/invitations",
		map[string]string{"email": strings.TrimSpace(r.PostForm.Get("email")), "role": r.PostForm.Get("role")}, "users.invited", Prefix+"/t/"+tid+"/users")
	var inv struct {
		Token string `json:"token"`
	}
	if ok && res.Decode(&inv) == nil {
		c.sessions.update(func() { ss.once = inv.Token })
	}
}

type auditEntry struct {
	ID           string    `json:"id"`
	Seq          int64     `json:"seq"`
	Timestamp    time.Time `json:"timestamp"`
	Action       string    `json:"action"`
	ResourceType string    `json:"resource_type"`
	ResourceID   string    `json:"resource_id"`
	Actor        struct {
		Kind string `json:"kind"`
		ID   string `json:"id"`
	} `json:"actor"`
	Changes   map[string]any `json:"changes"`
	IPAddress *string        `json:"ip_address"`
	UserAgent *string        `json:"user_agent"`
	Erased    []string       `json:"erased_fields"`
	Hash      string         `json:"hash"`
	PrevHash  string         `json:"prev_hash"`
}

// ChangesJSON is the entry's changes for the detail view.
func (e auditEntry) ChangesJSON() string {
	if len(e.Changes) == 0 {
		return "{}"
	}
	b, err := json.MarshalIndent(e.Changes, "", "  ")
	if err != nil {
		return ""
	}
	return string(b)
}

type auditData struct {
	Entries    []auditEntry
	Pagination pagination
	Verify     struct {
		Valid           bool  `json:"valid"`
		EntriesVerified int64 `json:"entries_verified"`
	}
	Action, ResourceType, From, To string
}

func (c *Console) audit(w http.ResponseWriter, r *http.Request, ss *session) {
	tid := r.PathValue("tid")
	qs := r.URL.Query()
	d := auditData{Action: strings.TrimSpace(qs.Get("action")), ResourceType: strings.TrimSpace(qs.Get("resource_type")),
		From: strings.TrimSpace(qs.Get("start_date")), To: strings.TrimSpace(qs.Get("end_date"))}
	q := url.Values{"page": {pageParam(r)}, "page_size": {"50"}}
	for k, v := range map[string]string{"action": d.Action, "resource_type": d.ResourceType, "start_date": d.From, "end_date": d.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var l struct {
		Items      []auditEntry `json:"items"`
		Pagination pagination   `json:"pagination"`
	}
	if !c.get(w, r, ss, "/api/v1/tenants/"+tid+"/audit-log?"+q.Encode(), &l) ||
		!c.get(w, r, ss, "/api/v1/tenants/"+tid+"/audit-log/verify", &d.Verify) {
		return
	}
	d.Entries, d.Pagination = l.Items, l.Pagination
	c.render(w, r, ss, http.StatusOK, "audit", T(ss.language(), "audit.title"), tid, d)
}
