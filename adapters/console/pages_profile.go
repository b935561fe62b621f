package console

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Editing the tenant's billing profile (billing:write: OWNER, ADMIN) and the platform's seller
// (operators). Both are one form whose fields are the API body's paths; the API validates,
// and its field errors (problem "errors", location body.<path>) are shown next to the fields
// they name, with the values as typed.

type formField struct {
	Path, Label, Value, Error, Type string
	Required                        bool
	Options                         []string
}

// ID is the field's element id.
func (f formField) ID() string { return "f-" + strings.ReplaceAll(f.Path, ".", "-") }

type partyForm struct {
	Action, Submit string
	Fields         []formField
	Errors         []string // errors no field claims
}

var profileFields = []formField{
	{Path: "legal_name", Label: "party.legal_name", Required: true},
	{Path: "customer_type", Label: "party.customer_type", Options: []string{"BUSINESS", "CONSUMER"}},
	{Path: "vat_id", Label: "col.vat"},
	{Path: "email", Label: "party.email", Type: "email", Required: true},
	{Path: "address.line1", Label: "party.line1", Required: true},
	{Path: "address.line2", Label: "party.line2"},
	{Path: "address.postal_code", Label: "party.postal_code"},
	{Path: "address.city", Label: "party.city", Required: true},
	{Path: "address.country", Label: "party.country", Required: true},
}

var sellerFields = []formField{
	{Path: "legal_name", Label: "party.legal_name", Required: true},
	{Path: "vat_id", Label: "col.vat", Required: true},
	{Path: "email", Label: "party.email", Type: "email", Required: true},
	{Path: "address.line1", Label: "party.line1", Required: true},
	{Path: "address.line2", Label: "party.line2"},
	{Path: "address.postal_code", Label: "party.postal_code"},
	{Path: "address.city", Label: "party.city", Required: true},
	{Path: "address.country", Label: "party.country", Required: true},
	{Path: "iban", Label: "party.iban"},
	{Path: "bic", Label: "party.bic"},
}

// fill sets the fields' values from a JSON object (the API's answer).
func fill(fields []formField, body []byte) []formField {
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	out := append([]formField(nil), fields...)
	for i, f := range out {
		var v any = m
		for _, k := range strings.Split(f.Path, ".") {
			mm, _ := v.(map[string]any)
			v = mm[k]
		}
		if s, ok := v.(string); ok {
			out[i].Value = s
		}
	}
	return out
}

// fromForm sets the fields' values from the posted form and builds the API body.
func fromForm(fields []formField, r *http.Request) ([]formField, map[string]any) {
	out := append([]formField(nil), fields...)
	body := map[string]any{}
	for i, f := range out {
		v := strings.TrimSpace(r.PostForm.Get(f.Path))
		out[i].Value = v
		if v == "" && !f.Required {
			continue // optional: omitted, as the API's omitempty fields
		}
		m := body
		keys := strings.Split(f.Path, ".")
		for _, k := range keys[:len(keys)-1] {
			sub, _ := m[k].(map[string]any)
			if sub == nil {
				sub = map[string]any{}
				m[k] = sub
			}
			m = sub
		}
		m[keys[len(keys)-1]] = v
	}
	return out, body
}

// withErrors puts the problem's field errors next to their fields.
func withErrors(fields []formField, p apiProblem) ([]formField, []string) {
	var rest []string
	for _, e := range p.Errors {
		loc := strings.TrimPrefix(e.Location, "body.")
		claimed := false
		for i := range fields {
			if fields[i].Path == loc {
				if fields[i].Error != "" {
					fields[i].Error += "; "
				}
				fields[i].Error += e.Message
				claimed = true
			}
		}
		if !claimed {
			rest = append(rest, loc+": "+e.Message)
		}
	}
	return fields, rest
}

func (c *Console) profileForm(w http.ResponseWriter, r *http.Request, ss *session) {
	tid := r.PathValue("tid")
	c.partyPage(w, r, ss, tid, "/api/v1/tenants/"+tid+"/billing-profile", profileFields,
		partyForm{Action: Prefix + "/t/" + tid + "/billing-profile", Submit: "party.save"}, "party.profile.title")
}

func (c *Console) saveProfile(w http.ResponseWriter, r *http.Request, ss *session) {
	tid := r.PathValue("tid")
	c.partySave(w, r, ss, tid, "/api/v1/tenants/"+tid+"/billing-profile", profileFields,
		partyForm{Action: Prefix + "/t/" + tid + "/billing-profile", Submit: "party.save"}, "party.profile.title", Prefix+"/t/"+tid+"/settings")
}

func (c *Console) sellerForm(w http.ResponseWriter, r *http.Request, ss *session) {
	c.partyPage(w, r, ss, "", "/api/v1/billing/seller", sellerFields, partyForm{Action: Prefix + "/seller", Submit: "party.save"}, "party.seller.title")
}

func (c *Console) saveSeller(w http.ResponseWriter, r *http.Request, ss *session) {
	c.partySave(w, r, ss, "", "/api/v1/billing/seller", sellerFields, partyForm{Action: Prefix + "/seller", Submit: "party.save"}, "party.seller.title", Prefix+"/platform")
}

// partyPage shows the form filled from the API; none yet (404) is an empty form.
func (c *Console) partyPage(w http.ResponseWriter, r *http.Request, ss *session, tid, path string, fields []formField, f partyForm, title string) {
	tok, ok := c.token(r, ss)
	if !ok {
		http.Redirect(w, r, Prefix+"/signin", http.StatusSeeOther)
		return
	}
	res, err := c.call(r, tok, http.MethodGet, path, nil)
	if err != nil {
		c.fail(w, r, ss, http.StatusInternalServerError, err.Error())
		return
	}
	switch {
	case res.OK():
		f.Fields = fill(fields, res.Body)
	case res.Status == http.StatusNotFound:
		f.Fields = append([]formField(nil), fields...)
	default:
		c.apiFail(w, r, ss, res)
		return
	}
	c.render(w, r, ss, http.StatusOK, "party", T(ss.language(), title), tid, f)
}

// partySave sends PUT; on a 4xx the form comes back with the typed values and the API's
// errors beside their fields (no redirect, so nothing typed is lost).
func (c *Console) partySave(w http.ResponseWriter, r *http.Request, ss *session, tid, path string, fields []formField, f partyForm, title, back string) {
	tok, ok := c.token(r, ss)
	if !ok {
		http.Redirect(w, r, Prefix+"/signin", http.StatusSeeOther)
		return
	}
	var body map[string]any
	f.Fields, body = fromForm(fields, r)
	res, err := c.call(r, tok, http.MethodPut, path, body)
	if err != nil {
		c.fail(w, r, ss, http.StatusInternalServerError, err.Error())
		return
	}
	if res.OK() {
		c.sessions.update(func() { ss.flash, ss.flashErr = T(ss.language(), "party.saved"), false })
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	if res.Status == http.StatusUnauthorized || res.Status == http.StatusForbidden || res.Status >= 500 {
		c.apiFail(w, r, ss, res)
		return
	}
	p := res.Problem()
	f.Fields, f.Errors = withErrors(f.Fields, p)
	c.sessions.update(func() {
		ss.flash, ss.flashErr = p.Title+func() string {
			if p.Detail != "" && p.Detail != p.Title {
				return ": " + p.Detail
			}
			return ""
		}(), true
	})
	c.render(w, r, ss, res.Status, "party", T(ss.language(), title), tid, f)
}
