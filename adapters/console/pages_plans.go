package console

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// The operators' billing catalogue: subscription plans (list, create, edit of name, fee,
// included quantities, entitlements and hard limits), billable metrics (list, create) and
// moving a tenant onto a plan (PATCH /tenants/{id} plan_code). The API validates; a refused
// write comes back as the page's flash message with the API's reason.

type planItem struct {
	Code         string            `json:"code"`
	Name         string            `json:"name"`
	MonthlyFee   string            `json:"monthly_fee"`
	Included     map[string]string `json:"included"`
	Entitlements struct {
		MaxUsers       int `json:"max_users"`
		StorageLimitGB int `json:"storage_limit_gb"`
		APIRateLimit   int `json:"api_rate_limit"`
	} `json:"entitlements"`
	HardLimits bool `json:"hard_limits"`
}

// IncludedText is the included quantities as the form's "METRIC=quantity" lines, in code order.
func (p planItem) IncludedText() string {
	keys := make([]string, 0, len(p.Included))
	for k := range p.Included {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(k + "=" + p.Included[k])
	}
	return b.String()
}

type metricItem struct {
	Code        string `json:"code"`
	Name        string `json:"name"`
	Unit        string `json:"unit"`
	Aggregation string `json:"aggregation"`
	Field       string `json:"field"`
	BuiltIn     bool   `json:"built_in"`
}

type plansData struct {
	Plans        []planItem
	Metrics      []metricItem
	Aggregations []string
}

func (c *Console) plans(w http.ResponseWriter, r *http.Request, ss *session) {
	var pl struct {
		Items []planItem `json:"items"`
	}
	if !c.get(w, r, ss, "/api/v1/billing/plans", &pl) {
		return
	}
	var ml struct {
		Items []metricItem `json:"items"`
	}
	if !c.get(w, r, ss, "/api/v1/billing/metrics", &ml) {
		return
	}
	d := plansData{Plans: pl.Items, Metrics: ml.Items, Aggregations: []string{"SUM", "MAX", "COUNT", "UNIQUE_COUNT", "LATEST"}}
	c.render(w, r, ss, http.StatusOK, "plans", T(ss.language(), "plans.title"), "", d)
}

// planBody is the plan fields of the posted form as the API's JSON body. Empty fields are
// left out (a PATCH keeps them); an entitlement that is not a number is passed on as text
// so the API names the field in its refusal.
func planBody(r *http.Request) map[string]any {
	f := r.PostForm
	body := map[string]any{}
	for _, k := range []string{"code", "name", "monthly_fee"} {
		if v := strings.TrimSpace(f.Get(k)); v != "" {
			body[k] = v
		}
	}
	if f.Has("included") {
		inc := map[string]string{}
		for _, line := range strings.FieldsFunc(f.Get("included"), func(r rune) bool { return r == '\n' || r == ',' }) {
			k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
			if k = strings.TrimSpace(k); k != "" {
				inc[k] = strings.TrimSpace(v)
			}
		}
		body["included"] = inc
	}
	ent := map[string]any{}
	for _, k := range []string{"max_users", "storage_limit_gb", "api_rate_limit"} {
		v := strings.TrimSpace(f.Get(k))
		if v == "" {
			continue
		}
		if n, err := strconv.Atoi(v); err == nil {
			ent[k] = n
		} else {
			ent[k] = v
		}
	}
	if len(ent) > 0 {
		// The API takes the three together; one left empty means "not set by the plan" (0).
		for _, k := range []string{"max_users", "storage_limit_gb", "api_rate_limit"} {
			if _, ok := ent[k]; !ok {
				ent[k] = 0
			}
		}
		body["entitlements"] = ent
	}
	if f.Has("hard_limits_shown") {
		body["hard_limits"] = f.Get("hard_limits") == "on"
	}
	return body
}

func (c *Console) createPlan(w http.ResponseWriter, r *http.Request, ss *session) {
	c.act(w, r, ss, http.MethodPost, "/api/v1/billing/plans", planBody(r), "plans.created", Prefix+"/plans")
}

func (c *Console) updatePlan(w http.ResponseWriter, r *http.Request, ss *session) {
	body := planBody(r)
	delete(body, "code") // the path names the plan
	c.act(w, r, ss, http.MethodPatch, "/api/v1/billing/plans/"+url.PathEscape(r.PathValue("code")), body, "plans.updated", Prefix+"/plans")
}

func (c *Console) createMetric(w http.ResponseWriter, r *http.Request, ss *session) {
	body := map[string]any{}
	for _, k := range []string{"code", "name", "unit", "aggregation", "field"} {
		if v := strings.TrimSpace(r.PostForm.Get(k)); v != "" {
			body[k] = v
		}
	}
	c.act(w, r, ss, http.MethodPost, "/api/v1/billing/metrics", body, "metrics.created", Prefix+"/plans")
}

// assignPlan moves a tenant onto a plan (operators), from the tenant list.
func (c *Console) assignPlan(w http.ResponseWriter, r *http.Request, ss *session) {
	c.act(w, r, ss, http.MethodPatch, "/api/v1/tenants/"+url.PathEscape(r.PathValue("tid")),
		map[string]any{"plan_code": strings.TrimSpace(r.PostForm.Get("plan_code"))}, "plans.assigned", Prefix+"/tenants")
}
