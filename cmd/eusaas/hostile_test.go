package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/internal/pgtest"
	"github.com/eusaas/eusaas/internal/redistest"
)

// hostileDoc is the part of the served OpenAPI document the hostile walk reads.
type hostileDoc struct {
	Paths map[string]map[string]struct {
		OperationID string `json:"operationId"`
		Parameters  []struct {
			Name   string     `json:"name"`
			In     string     `json:"in"`
			Schema schemaNode `json:"schema"`
		} `json:"parameters"`
		RequestBody *struct {
			Content map[string]struct {
				Schema schemaNode `json:"schema"`
			} `json:"content"`
		} `json:"requestBody"`
	} `json:"paths"`
	Components struct {
		Schemas map[string]schemaNode `json:"schemas"`
	} `json:"components"`
}

type schemaNode struct {
	Ref        string                `json:"$ref"`
	Type       any                   `json:"type"` // a name or a list of names
	Properties map[string]schemaNode `json:"properties"`
}

// kind is the first non-null JSON type of the schema ("object" for references).
func (s schemaNode) kind() string {
	switch t := s.Type.(type) {
	case string:
		return t
	case []any:
		for _, x := range t {
			if x != "null" {
				return fmt.Sprint(x)
			}
		}
	}
	if s.Ref != "" {
		return "object"
	}
	return ""
}

// hostileRequest is one request of the walk.
type hostileRequest struct {
	class, desc string
	method, url string
	body        []byte
	headers     map[string]string
}

// TestHostileInputEveryOperation walks the served OpenAPI document and sends every operation
// hostile input of each class — huge and negative integers, NUL, invalid UTF-8, duplicate
// and wrong-case JSON keys, a wrong charset, oversized values and wrong types — with a valid
// operator, tenant owner or service token. Nothing may answer 5xx, every 4xx must be an RFC
// 9457 problem with a code and a request id, and the tenant the requests aim at must be
// intact afterwards.
func TestHostileInputEveryOperation(t *testing.T) {
	hostileWalk(t, startApp(t, map[string]string{"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword}))
}

// The same walk against PostgreSQL and Redis, where a NUL, an invalid byte or an OFFSET out
// of range would reach a store that refuses it.
func TestHostileInputEveryOperationPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL and Redis")
	}
	cfg := pgConfigFromURL(t, pgtest.URL(t))
	_, prefix := redistest.Client(t)
	cfg["APP_REDIS_URL"] = redistest.URL(t)
	cfg["APP_REDIS_KEY_PREFIX"] = prefix
	cfg["APP_BOOTSTRAP_ADMIN_EMAIL"] = opEmail
	cfg["APP_BOOTSTRAP_ADMIN_PASSWORD"] = opPassword
	priv, pub := testKeyPEMs(t)
	cfg["APP_JWT_PRIVATE_KEY"], cfg["APP_JWT_PUBLIC_KEY"] = priv, pub
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(k string) string { return cfg[k] }}
	require.Equal(t, 0, m.Run(context.Background(), []string{"migrate"}), out.String())
	hostileWalk(t, startApp(t, cfg))
}

func hostileWalk(t *testing.T, c *client) {
	op := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(t)["access_token"].(string)
	a := c.createTenant(op, map[string]any{"name": "A", "slug": "tenant-a", "admin_email": "o@a.example"})
	aID := a["id"].(string)
	c.expect(201, c.do("POST", "/api/v1/auth/register", "", map[string]any{"email": "o@a.example", "password": "Owner-Passw0rd!", "full_name": "A",
		"invitation_token": a["owner_invitation"].(map[string]any)["token"]}, "X-Tenant-ID", "tenant-a"))
	owner := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "o@a.example", "password": "Owner-Passw0rd!"},
		"X-Tenant-ID", "tenant-a")).json(t)["access_token"].(string)
	sa := c.expect(201, c.do("POST", "/api/v1/service-accounts", op, map[string]any{"name": "metering"})).json(t)
	svc := c.expect(200, c.do("POST", "/api/v1/auth/token", "", map[string]any{"grant_type": "client_credentials",
		"client_id": sa["client_id"], "client_secret": sa["client_secret"]})).json(t)["access_token"].(string)
	before := c.expect(200, c.do("GET", "/api/v1/tenants/"+aID, op, nil)).json(t)

	var doc hostileDoc
	require.NoError(t, json.Unmarshal(c.expect(200, c.do("GET", "/openapi.json", "", nil)).body, &doc))

	type tally struct{ sent, ok, refused, denied, server int }
	counts := map[string]*tally{}
	var failures, accepted []string
	ops := 0
	var paths []string
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, path := range paths {
		var methods []string
		for m := range doc.Paths[path] {
			methods = append(methods, m)
		}
		sort.Strings(methods)
		for _, m := range methods {
			o := doc.Paths[path][m]
			method := strings.ToUpper(m)
			ops++
			name := method + " " + path
			tokens := []string{op}
			if strings.HasPrefix(path, "/api/v1/tenants/{id}") {
				tokens = append(tokens, owner)
			}
			if name == "POST /api/v1/tenants/{id}/usage" {
				tokens = []string{svc}
			}
			validPath := map[string]string{"id": aID, "resource": "CPU"}
			var headers, pathParams []string
			for _, p := range o.Parameters {
				switch p.In {
				case "path":
					pathParams = append(pathParams, p.Name)
				case "header":
					headers = append(headers, p.Name)
				}
			}
			var bodySchema *schemaNode
			if o.RequestBody != nil {
				if ct, ok := o.RequestBody.Content["application/json"]; ok {
					s := ct.Schema
					if s.Ref != "" {
						s = doc.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
					}
					bodySchema = &s
				}
			}
			valid := validInput[name]
			build := func(pathOverride map[string]string, extraQuery string) string {
				u := regexp.MustCompile(`\{[a-z_]+\}`).ReplaceAllStringFunc(path, func(p string) string {
					k := p[1 : len(p)-1]
					if v, ok := pathOverride[k]; ok {
						return v
					}
					if v, ok := validPath[k]; ok {
						return v
					}
					return uuid.NewString()
				})
				q := strings.TrimPrefix(valid.query, "?")
				if key, _, _ := strings.Cut(extraQuery, "="); key != "" && q != "" {
					// The hostile value replaces the valid one: a repeated parameter would
					// leave the valid first value in charge.
					var kept []string
					for _, kv := range strings.Split(q, "&") {
						if k, _, _ := strings.Cut(kv, "="); k != key {
							kept = append(kept, kv)
						}
					}
					q = strings.Join(kept, "&")
				}
				if extraQuery != "" {
					if q != "" {
						q += "&"
					}
					q += extraQuery
				}
				if q != "" {
					u += "?" + q
				}
				return u
			}
			baseBody := func() map[string]any {
				out := map[string]any{}
				if m, ok := valid.body.(map[string]any); ok {
					for k, v := range m {
						out[k] = v
					}
				}
				return out
			}
			// withField renders the valid body with field set to a raw JSON fragment.
			withField := func(field, raw string) []byte {
				b := baseBody()
				b[field] = "__HOSTILE__"
				enc, _ := json.Marshal(b)
				return bytes.Replace(enc, []byte(`"__HOSTILE__"`), []byte(raw), 1)
			}
			validBody := func() []byte {
				if bodySchema == nil {
					return nil
				}
				enc, _ := json.Marshal(baseBody())
				return enc
			}
			var reqs []hostileRequest
			add := func(class, desc, url string, body []byte, hdr map[string]string) {
				reqs = append(reqs, hostileRequest{class: class, desc: desc, method: method, url: url, body: body, headers: hdr})
			}
			for _, p := range o.Parameters {
				if p.In != "query" {
					continue
				}
				if p.Schema.kind() == "integer" {
					add("huge_int", "query "+p.Name, build(nil, p.Name+"=4611686018427387904"), validBody(), nil)
					add("huge_int", "query "+p.Name, build(nil, p.Name+"=1e400"), validBody(), nil)
					add("negative", "query "+p.Name, build(nil, p.Name+"=-1"), validBody(), nil)
					add("negative", "query "+p.Name, build(nil, p.Name+"=-9223372036854775808"), validBody(), nil)
					add("wrong_type", "query "+p.Name, build(nil, p.Name+"=abc"), validBody(), nil)
					continue
				}
				add("nul", "query "+p.Name, build(nil, p.Name+"=a%00b"), validBody(), nil)
				add("invalid_utf8", "query "+p.Name, build(nil, p.Name+"=a%ff%fe"), validBody(), nil)
				add("oversized", "query "+p.Name, build(nil, p.Name+"="+strings.Repeat("x", 16<<10)), validBody(), nil)
			}
			add("nul", "extra query parameter", build(nil, "x=a%00b"), validBody(), nil)
			add("invalid_utf8", "extra query parameter", build(nil, "x=%c3%28"), validBody(), nil)
			for _, p := range pathParams {
				add("nul", "path "+p, build(map[string]string{p: "a%00b"}, ""), validBody(), nil)
				add("invalid_utf8", "path "+p, build(map[string]string{p: "a%ffb"}, ""), validBody(), nil)
				add("oversized", "path "+p, build(map[string]string{p: strings.Repeat("x", 16<<10)}, ""), validBody(), nil)
				add("huge_int", "path "+p, build(map[string]string{p: "4611686018427387904"}, ""), validBody(), nil)
				add("negative", "path "+p, build(map[string]string{p: "-1"}, ""), validBody(), nil)
			}
			for _, h := range headers {
				// Go's client refuses to send a NUL in a header (and net/http servers refuse
				// it before any handler); bytes above 0x7f do travel.
				add("invalid_utf8", "header "+h, build(nil, ""), validBody(), map[string]string{h: "tenant-a\xff"})
				add("oversized", "header "+h, build(nil, ""), validBody(), map[string]string{h: strings.Repeat("x", 16<<10)})
			}
			add("wrong_charset", "Content-Type charset=utf-16", build(nil, ""), validBody(), map[string]string{"Content-Type": "application/json; charset=utf-16"})
			add("wrong_charset", "Content-Type charset=latin1", build(nil, ""), validBody(), map[string]string{"Content-Type": "application/json; charset=iso-8859-1"})
			if bodySchema != nil {
				fields := make([]string, 0, len(bodySchema.Properties))
				for f := range bodySchema.Properties {
					fields = append(fields, f)
				}
				sort.Strings(fields)
				for _, f := range fields {
					switch bodySchema.Properties[f].kind() {
					case "integer", "number":
						add("huge_int", "body "+f, build(nil, ""), withField(f, "4611686018427387904000"), nil)
						add("huge_int", "body "+f, build(nil, ""), withField(f, "1e400"), nil)
						add("negative", "body "+f, build(nil, ""), withField(f, "-9223372036854775808"), nil)
						add("negative", "body "+f, build(nil, ""), withField(f, "-1"), nil)
						add("wrong_type", "body "+f, build(nil, ""), withField(f, `"12"`), nil)
					case "string":
						add("nul", "body "+f, build(nil, ""), withField(f, `"a\u0000b"`), nil)
						add("invalid_utf8", "body "+f, build(nil, ""), withField(f, "\"a\xff\xfeb\""), nil)
						add("invalid_utf8", "body "+f, build(nil, ""), withField(f, `"a\udc00b"`), nil)
						add("oversized", "body "+f, build(nil, ""), withField(f, `"`+strings.Repeat("x", 64<<10)+`"`), nil)
						add("wrong_type", "body "+f, build(nil, ""), withField(f, "12"), nil)
						add("huge_int", "body "+f, build(nil, ""), withField(f, "4611686018427387904"), nil)
					default:
						add("wrong_type", "body "+f, build(nil, ""), withField(f, `"x"`), nil)
						add("nul", "body "+f+" (nested)", build(nil, ""), withField(f, `{"a\u0000":"b\u0000"}`), nil)
						add("negative", "body "+f+" (nested)", build(nil, ""), withField(f, `[-1,{"quantity":-1}]`), nil)
					}
					enc, _ := json.Marshal(baseBody())
					if len(enc) > 2 {
						dup := append([]byte(`{"`+f+`":"dup",`), enc[1:]...)
						if _, present := baseBody()[f]; !present {
							dup = append([]byte(`{"`+f+`":"dup","`+f+`":"dup",`), enc[1:]...)
						}
						add("duplicate_keys", "body "+f, build(nil, ""), dup, nil)
					} else {
						add("duplicate_keys", "body "+f, build(nil, ""), []byte(`{"`+f+`":"a","`+f+`":"b"}`), nil)
					}
					b := baseBody()
					if v, ok := b[f]; ok {
						delete(b, f)
						b[strings.ToUpper(f[:1])+f[1:]] = v
					} else {
						b[strings.ToUpper(f)] = "x"
					}
					enc, _ = json.Marshal(b)
					add("wrong_case_keys", "body "+f, build(nil, ""), enc, nil)
				}
				add("oversized", "body over 1 MiB", build(nil, ""), []byte(`{"x":"`+strings.Repeat("x", 2<<20)+`"}`), nil)
				add("wrong_type", "body is an array", build(nil, ""), []byte(`[]`), nil)
				add("wrong_type", "body is a string", build(nil, ""), []byte(`"x"`), nil)
				add("invalid_utf8", "body raw bytes", build(nil, ""), []byte("{\"\xff\":1}"), nil)
				add("duplicate_keys", "nested", build(nil, ""), []byte(`{"a":{"b":1,"b":2}}`), nil)
			}
			// Logging out revokes the token it is sent with: each logout gets its own.
			logout := name == "POST /api/v1/auth/logout"
			for _, tok := range tokens {
				for _, r := range reqs {
					if logout {
						tok = c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(t)["access_token"].(string)
					}
					status, ct, body := sendRaw(t, c.base, r, tok)
					tl := counts[r.class]
					if tl == nil {
						tl = &tally{}
						counts[r.class] = tl
					}
					tl.sent++
					where := fmt.Sprintf("%s [%s] %s -> %d", name, r.class, r.desc, status)
					switch {
					case status >= 500:
						tl.server++
						failures = append(failures, where+": "+clipBody(body))
					case status >= 400:
						tl.refused++
						if status == 401 && !strings.HasPrefix(path, "/api/v1/auth/") {
							// The walk's tokens are valid: a 401 means one was lost and the
							// rest of the walk would test nothing.
							failures = append(failures, where+": a valid token was refused: "+clipBody(body))
						}
						if status == 401 || status == 403 {
							tl.denied++
						}
						var p struct {
							Code      string `json:"code"`
							RequestID string `json:"request_id"`
						}
						if ct != "application/problem+json" || json.Unmarshal(body, &p) != nil || p.Code == "" || p.RequestID == "" {
							failures = append(failures, where+" is not a problem with code and request_id: "+ct+" "+clipBody(body))
						}
					default:
						tl.ok++
						accepted = append(accepted, where)
					}
				}
			}
		}
	}
	var classes []string
	for k := range counts {
		classes = append(classes, k)
	}
	sort.Strings(classes)
	total := 0
	for _, k := range classes {
		n := counts[k]
		total += n.sent
		t.Logf("%-16s sent %5d  4xx %5d (401/403 %4d)  2xx/3xx %4d  5xx %d", k, n.sent, n.refused, n.denied, n.ok, n.server)
	}
	t.Logf("%d requests over %d operations", total, ops)
	for _, a := range accepted {
		t.Logf("accepted (the hostile part is ignorable): %s", a)
	}
	require.Greater(t, ops, 40, "the walk covered the API")
	for _, f := range failures {
		t.Error(f)
	}

	// The tenant every request aimed at is as it was, and both audit chains still verify.
	after := c.expect(200, c.do("GET", "/api/v1/tenants/"+aID, op, nil)).json(t)
	for _, k := range []string{"name", "slug", "status", "settings"} {
		require.Equal(t, before[k], after[k], "tenant %s after the hostile walk", k)
	}
	require.Equal(t, true, c.expect(200, c.do("GET", "/api/v1/tenants/"+aID+"/audit-log/verify", op, nil)).json(t)["valid"])
	require.Equal(t, true, c.expect(200, c.do("GET", "/api/v1/audit-log/verify", op, nil)).json(t)["valid"])
	c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "o@a.example", "password": "Owner-Passw0rd!"}, "X-Tenant-ID", "tenant-a"))
}

func sendRaw(t *testing.T, base string, r hostileRequest, token string) (int, string, []byte) {
	t.Helper()
	var rd io.Reader
	if r.body != nil {
		rd = bytes.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, base+r.url, rd)
	require.NoError(t, err, r.url)
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err, r.url)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, res.Header.Get("Content-Type"), b
}

func clipBody(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}
