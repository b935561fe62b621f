package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/adapters/httpapi/httpapitest"
	"github.com/eusaas/eusaas/auth"
)

// edgeServer is newTestServer plus a list operation (page bounds) and an operation with a
// nested body (field-name case below the top level).
func edgeServer(t testing.TB) *httpapitest.Harness {
	var h *httpapitest.Harness
	if tt, ok := t.(*testing.T); ok {
		h = newTestServer(tt)
	} else {
		h = httpapitest.New(t)
	}
	s := h.Server
	httpapi.Register(s, huma.Operation{OperationID: "list", Method: http.MethodGet, Path: "/api/v1/things", Security: httpapi.BearerAuth},
		func(ctx context.Context, in *struct{ httpapi.PageQuery }) (*struct {
			Body httpapi.Paginated[string]
		}, error) {
			if _, err := s.Operator(ctx); err != nil {
				return nil, err
			}
			page := in.ToPage()
			out := &struct{ Body httpapi.Paginated[string] }{}
			out.Body = httpapi.NewPaginated([]string{}, page.Offset(), page)
			return out, nil
		})
	httpapi.Register(s, huma.Operation{OperationID: "nested", Method: http.MethodPost, Path: "/api/v1/nested", Security: httpapi.BearerAuth},
		func(ctx context.Context, in *nestedInput) (*nestedOutput, error) {
			if _, err := s.Operator(ctx); err != nil {
				return nil, err
			}
			out := &nestedOutput{}
			out.Body = in.Body
			return out, nil
		})
	return h
}

type nestedBody struct {
	Name  string            `json:"name" maxLength:"100"`
	Items []nestedItem      `json:"items,omitempty" maxItems:"10"`
	Attrs map[string]string `json:"attrs,omitempty"`
}

type nestedItem struct {
	Role string `json:"role" enum:"VIEWER,OWNER"`
}

type nestedInput struct{ Body nestedBody }
type nestedOutput struct{ Body nestedBody }

func TestStrictEdge(t *testing.T) {
	h := edgeServer(t)
	tenant := h.NewTenant()
	tok, _ := h.User(tenant, auth.RoleViewer)
	op := h.Operator()
	echo := "/api/v1/tenants/" + tenant.String() + "/echo"
	cases := []struct {
		name, method, path, token string
		body                      any
		headers                   []string
		status                    int
		location                  string
	}{
		{"duplicate key", "POST", echo, tok, `{"name":"ab","name":"cd"}`, nil, 422, "body"},
		{"nested duplicate key", "POST", "/api/v1/nested", op, `{"name":"a","items":[{"role":"VIEWER","role":"OWNER"}]}`, nil, 422, "body.items[0]"},
		{"wrong-case key", "POST", "/api/v1/nested", op, `{"Name":"a"}`, nil, 422, ""},
		{"wrong-case key in a map value is data", "POST", "/api/v1/nested", op, `{"name":"a","attrs":{"Name":"x"}}`, nil, 200, ""},
		{"NUL escape", "POST", echo, tok, `{"name":"a\u0000b"}`, nil, 422, "body.name"},
		{"NUL in a key", "POST", "/api/v1/nested", op, `{"name":"a","attrs":{"a\u0000":"x"}}`, nil, 422, "body.attrs"},
		{"invalid UTF-8", "POST", echo, tok, "{\"name\":\"a\xffb\"}", nil, 422, "body"},
		{"lone surrogate", "POST", echo, tok, `{"name":"a\ud800b"}`, nil, 422, "body"},
		{"surrogate pair is fine", "POST", echo, tok, `{"name":"a\ud83d\ude00b","password":"long-enough-1"}`, nil, 200, ""},
		{"trailing data", "POST", echo, tok, `{"name":"ab"} {}`, nil, 422, "body"},
		{"charset utf-16", "POST", echo, tok, `{"name":"ab"}`, []string{"Content-Type", "application/json; charset=utf-16"}, 415, ""},
		{"charset utf-8", "POST", echo, tok, `{"name":"ab","password":"long-enough-1"}`, []string{"Content-Type", "application/json; charset=UTF-8"}, 200, ""},
		{"malformed content type", "POST", echo, tok, `{"name":"ab"}`, []string{"Content-Type", "application/json; charset"}, 415, ""},
		{"NUL in query", "GET", "/api/v1/things?page=1&x=a%00b", op, nil, nil, 422, "query"},
		{"invalid UTF-8 in query", "GET", "/api/v1/things?x=%ff", op, nil, nil, 422, "query"},
		{"malformed query escape", "GET", "/api/v1/things?x=%zz", op, nil, nil, 422, "query"},
		{"NUL in path", "GET", "/api/v1/tenants/a%00b/echo", tok, nil, nil, 422, "path"},
		{"invalid UTF-8 header", "GET", "/api/v1/things", op, nil, []string{"X-Tenant-ID", "t\xff"}, 422, "header.X-Tenant-ID"},
		{"huge page", "GET", "/api/v1/things?page=4611686018427387904&page_size=100", op, nil, nil, 422, "query.page"},
		{"page above the bound", "GET", "/api/v1/things?page=10000001", op, nil, nil, 422, "query.page"},
		{"last page allowed", "GET", "/api/v1/things?page=10000000&page_size=100", op, nil, nil, 200, ""},
		{"negative page size", "GET", "/api/v1/things?page_size=-1", op, nil, nil, 422, "query.page_size"},
		{"page not a number", "GET", "/api/v1/things?page=x", op, nil, nil, 422, "query.page"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.Do(tc.method, tc.path, tc.body, tc.token, tc.headers...)
			require.Equal(t, tc.status, r.Status, "%s", r.Body)
			if tc.status < 400 {
				return
			}
			p := r.Problem(t)
			require.NotEmpty(t, p.Code)
			require.NotEmpty(t, p.RequestID)
			if tc.location != "" {
				var locs []string
				for _, e := range p.Errors {
					locs = append(locs, e.Location)
				}
				require.Contains(t, locs, tc.location, "%s", r.Body)
			}
		})
	}
}

func TestUnavailableHasRetryAfter(t *testing.T) {
	h := newTestServer(t)
	r := h.Do("GET", "/api/v1/fail/unavailable", nil, "")
	require.Equal(t, http.StatusServiceUnavailable, r.Status)
	require.Equal(t, "2", r.Header.Get("Retry-After"))
	p := r.Problem(t)
	require.Equal(t, "unavailable", p.Code)
	require.NotContains(t, string(r.Body), "10.0.0.7", "the cause is logged, never sent")
}

// FuzzRequestDecoding sends arbitrary bodies through the whole stack. Whatever the input:
// no 5xx; every refusal is a problem; and whatever is accepted was strict JSON — valid UTF-8,
// no duplicate keys, no NUL — echoed back exactly as a strict reader sees it.
func FuzzRequestDecoding(f *testing.F) {
	for _, seed := range []string{
		`{"name":"a"}`, `{"name":"a","items":[{"role":"VIEWER"}]}`, `{"name":"a","name":"b"}`,
		`{"Name":"a"}`, `{"name":"a\u0000"}`, "{\"name\":\"\xff\"}", `{"name":"\ud800"}`,
		`{"name":"\ud83d\ude00"}`, `{"attrs":{"k":"v","k":"w"}}`, `[]`, `null`, `{"name":1e400}`,
		`{"items":[[[[[[[[[[[[]]]]]]]]]]]]}`, `{"name":"a"}x`, ``,
	} {
		f.Add([]byte(seed))
	}
	h := edgeServer(f)
	op := h.Operator()
	f.Fuzz(func(t *testing.T, body []byte) {
		h.T = t
		done := make(chan *httpapitest.Response, 1)
		go func() { done <- h.Do("POST", "/api/v1/nested", body, op) }()
		var r *httpapitest.Response
		select {
		case r = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("no answer within 5s for %q", body)
		}
		if r.Status >= 500 {
			t.Fatalf("status %d for %q: %s", r.Status, body, r.Body)
		}
		if r.Status >= 400 {
			var p httpapi.Problem
			if ct := r.Header.Get("Content-Type"); ct != httpapi.ProblemContentType {
				t.Fatalf("content type %q for %q", ct, body)
			}
			if err := json.Unmarshal(r.Body, &p); err != nil || p.Code == "" || p.RequestID == "" {
				t.Fatalf("not a problem (%v): %s", err, r.Body)
			}
			return
		}
		if !utf8.Valid(body) || strings.Contains(string(body), `\u0000`) {
			t.Fatalf("accepted a body that is not strict text: %q", body)
		}
		var in, out nestedBody
		if err := json.Unmarshal(body, &in); err != nil {
			t.Fatalf("accepted %q that json cannot read: %v", body, err)
		}
		if err := json.Unmarshal(r.Body, &out); err != nil {
			t.Fatalf("response %q: %v", r.Body, err)
		}
		if in.Name != out.Name || len(in.Items) != len(out.Items) || len(in.Attrs) != len(out.Attrs) {
			t.Fatalf("body %q read as %+v, echoed %+v", body, in, out)
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
	})
}
