package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/adapters/httpapi/httpapitest"
	"github.com/eusaas/eusaas/auth"
)

var update = flag.Bool("update", false, "rewrite golden files")

type echoInput struct {
	ID   string `path:"id"`
	Body struct {
		Name     string `json:"name" minLength:"2" maxLength:"10"`
		Password string `json:"password" minLength:"10"`
	}
}

type echoOutput struct {
	Body struct {
		Tenant string `json:"tenant"`
		Name   string `json:"name"`
	}
}

// newTestServer adds a few operations exercising every error path.
func newTestServer(t *testing.T, adjust ...func(*httpapi.Options)) *httpapitest.Harness {
	h := httpapitest.New(t, adjust...)
	s := h.Server
	httpapi.Register(s, huma.Operation{OperationID: "echo", Method: http.MethodPost, Path: "/api/v1/tenants/{id}/echo", Security: httpapi.BearerAuth},
		func(ctx context.Context, in *echoInput) (*echoOutput, error) {
			id, _, err := s.TenantAccess(ctx, in.ID, auth.PermBillingRead)
			if err != nil {
				return nil, err
			}
			out := &echoOutput{}
			out.Body.Tenant = id.String()
			out.Body.Name = in.Body.Name
			return out, nil
		})
	httpapi.Register(s, huma.Operation{OperationID: "fail", Method: http.MethodGet, Path: "/api/v1/fail/{kind}"},
		func(ctx context.Context, in *struct {
			Kind string `path:"kind"`
		}) (*struct{}, error) {
			switch in.Kind {
			case "panic":
				panic("secret internal state")
			case "internal":
				return nil, errors.New("pq: password authentication failed for user secret")
			case "notfound":
				return nil, eusaas.E(eusaas.NotFound, "widget not found")
			case "conflict":
				return nil, eusaas.Sentinel(eusaas.FailedPrecondition, "invalid_transition", "bad").With("cannot go from ACTIVE to PENDING")
			case "stale":
				return nil, httpapi.ErrPreconditionFailed
			case "unavailable":
				return nil, eusaas.E(eusaas.Unavailable, "database unavailable").Wrap(errors.New("dial tcp 10.0.0.7:5432: connection refused"))
			case "busy":
				return nil, &httpapi.RetryAfter{Err: eusaas.E(eusaas.ResourceExhausted, "too many concurrent logins"), After: 2e9}
			case "invalid":
				var v eusaas.Violations
				v.Add("body.slug", "must match ^[a-z0-9]+(-[a-z0-9]+)*$")
				return nil, v.Err()
			}
			return &struct{}{}, nil
		})
	return h
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var pretty bytes.Buffer
	require.NoError(t, json.Indent(&pretty, got, "", "  "))
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		require.NoError(t, os.WriteFile(path, pretty.Bytes(), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create golden files")
	require.JSONEq(t, string(want), pretty.String())
}

func TestProblems(t *testing.T) {
	h := newTestServer(t)
	tenant := h.NewTenant()
	tok, _ := h.User(tenant, auth.RoleViewer)
	cases := []struct {
		name, method, path string
		body               any
		status             int
	}{
		{"not_found_route", "GET", "/nope", nil, 404},
		{"method_not_allowed", "DELETE", "/health", nil, 405},
		{"malformed_json", "POST", "/api/v1/tenants/" + tenant.String() + "/echo", `{"name": `, 422},
		{"number_out_of_range", "POST", "/api/v1/tenants/" + tenant.String() + "/echo", `{"name": 1e400}`, 422},
		{"validation", "POST", "/api/v1/tenants/" + tenant.String() + "/echo", map[string]any{"name": "x", "password": "short"}, 422},
		{"panic", "GET", "/api/v1/fail/panic", nil, 500},
		{"internal", "GET", "/api/v1/fail/internal", nil, 500},
		{"domain_not_found", "GET", "/api/v1/fail/notfound", nil, 404},
		{"domain_conflict", "GET", "/api/v1/fail/conflict", nil, 409},
		{"stale_if_match", "GET", "/api/v1/fail/stale", nil, 412},
		{"busy", "GET", "/api/v1/fail/busy", nil, 429},
		{"domain_invalid", "GET", "/api/v1/fail/invalid", nil, 422},
		{"too_large", "POST", "/api/v1/tenants/" + tenant.String() + "/echo", strings.Repeat("x", 2<<20), 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := h.Do(c.method, c.path, c.body, tok, "X-Request-ID", "req-"+c.name)
			require.Equal(t, c.status, r.Status, "body: %s", r.Body)
			p := r.Problem(t)
			require.Equal(t, c.status, p.Status)
			require.Equal(t, "req-"+c.name, p.RequestID)
			require.Equal(t, "req-"+c.name, r.Header.Get("X-Request-ID"))
			require.NotEmpty(t, p.Code)
			require.NotEmpty(t, p.Title)
			require.True(t, strings.HasPrefix(p.Type, httpapi.ProblemTypeBase))
			require.NotContains(t, string(r.Body), "secret", "internals and secrets never leak")
			require.NotContains(t, string(r.Body), "short", "input values are never echoed")
			// Tenant ids differ per run; normalise before comparing with the golden file.
			body := strings.ReplaceAll(string(r.Body), tenant.String(), "TENANT")
			golden(t, "problem_"+c.name, []byte(body))
		})
	}
	r := h.Do("GET", "/api/v1/fail/busy", nil, "")
	require.Equal(t, "2", r.Header.Get("Retry-After"))
}

func TestRequestIDGeneratedWhenMissingOrUnsafe(t *testing.T) {
	h := newTestServer(t)
	r := h.Do("GET", "/nope", nil, "")
	id := r.Header.Get("X-Request-ID")
	require.Len(t, id, 32)
	require.Equal(t, id, r.Problem(t).RequestID)
	r = h.Do("GET", "/nope", nil, "", "X-Request-ID", "bad id\"with quotes")
	require.NotContains(t, r.Header.Get("X-Request-ID"), "quotes")
}

func TestTenantAccess(t *testing.T) {
	h := newTestServer(t)
	a, b := h.NewTenant(), h.NewTenant()
	tokA, _ := h.User(a, auth.RoleViewer)
	tokB, _ := h.User(b, auth.RoleOwner)
	body := map[string]any{"name": "hello", "password": "0123456789"}
	path := "/api/v1/tenants/" + a.String() + "/echo"

	r := h.Do("POST", path, body, tokA)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	var out struct{ Tenant string }
	r.JSON(t, &out)
	require.Equal(t, a.String(), out.Tenant)

	require.Equal(t, 401, h.Do("POST", path, body, "").Status, "no token")
	r = h.Do("POST", path, body, "forged")
	require.Equal(t, 401, r.Status, "bad token")
	require.Equal(t, `Bearer realm="eusaas"`, r.Header.Get("WWW-Authenticate"))
	require.Equal(t, 403, h.Do("POST", path, body, tokB).Status, "tenant B's token on tenant A's path")
	require.Equal(t, 200, h.Do("POST", path, body, h.Operator()).Status, "operators reach every tenant")
	require.Equal(t, 403, h.Do("POST", path, body, h.Service()).Status, "service principals only ingest usage")
	require.Equal(t, 422, h.Do("POST", "/api/v1/tenants/not-a-uuid/echo", body, tokA).Status)

	h.Gate.Set(a, "SUSPENDED")
	r = h.Do("POST", path, body, tokA)
	require.Equal(t, 403, r.Status)
	require.Equal(t, "tenant_suspended", r.Problem(t).Code)
	require.Equal(t, 200, h.Do("POST", path, body, h.Operator()).Status, "operators still manage suspended tenants")
	h.Gate.Set(a, "DELETED")
	require.Equal(t, 404, h.Do("POST", path, body, tokA).Status)
}

func TestTenantRequestHookAndAccessLog(t *testing.T) {
	var logs bytes.Buffer
	h := newTestServer(t, func(o *httpapi.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	a := h.NewTenant()
	var hooked []string
	h.Server.OnTenantRequest(func(_ context.Context, id eusaas.TenantID, route string) {
		hooked = append(hooked, id.String()+" "+route)
	})
	tok, _ := h.User(a, auth.RoleViewer)
	r := h.Do("POST", "/api/v1/tenants/"+a.String()+"/echo", map[string]any{"name": "hello", "password": "0123456789"}, tok, "X-Request-ID", "abc")
	require.Equal(t, 200, r.Status)
	require.Equal(t, []string{a.String() + " /api/v1/tenants/{id}/echo"}, hooked)

	var entry map[string]any
	require.NoError(t, json.Unmarshal(bytes.TrimSpace(logs.Bytes()), &entry))
	require.Equal(t, "POST", entry["method"])
	require.Equal(t, "/api/v1/tenants/{id}/echo", entry["route"])
	require.EqualValues(t, 200, entry["status"])
	require.Equal(t, "abc", entry["request_id"])
	require.Equal(t, a.String(), entry["tenant_id"])
	require.Contains(t, entry, "duration_ms")
	require.NotContains(t, logs.String(), tok, "tokens never reach logs")
}

func TestMetricsUseRoutePattern(t *testing.T) {
	h := newTestServer(t)
	a := h.NewTenant()
	tok, _ := h.User(a, auth.RoleViewer)
	h.Do("POST", "/api/v1/tenants/"+a.String()+"/echo", map[string]any{"name": "hello", "password": "0123456789"}, tok)
	h.Do("GET", "/nope/"+a.String(), nil, "")
	r := h.Do("GET", "/metrics", nil, "")
	require.Equal(t, 200, r.Status)
	m := string(r.Body)
	require.Contains(t, m, `http_requests_total{method="POST",route="/api/v1/tenants/{id}/echo",status="200"} 1`)
	require.Contains(t, m, `http_requests_total{method="GET",route="unmatched",status="404"} 1`)
	require.Contains(t, m, `http_request_duration_seconds_bucket{method="POST",route="/api/v1/tenants/{id}/echo"`)
	require.NotContains(t, m, a.String(), "raw paths never become labels")
}

func TestHealth(t *testing.T) {
	up := func(context.Context) error { return nil }
	down := func(context.Context) error { return errors.New("dial tcp: refused") }
	h := newTestServer(t, func(o *httpapi.Options) {
		o.Health = []httpapi.HealthCheck{{Name: "store", Required: true, Check: up}, {Name: "cache", Check: down}}
	})
	r := h.Do("GET", "/health", nil, "")
	require.Equal(t, 200, r.Status)
	var body struct {
		Status     string
		Version    string
		Components map[string]string
	}
	r.JSON(t, &body)
	require.Equal(t, "degraded", body.Status)
	require.Equal(t, "test", body.Version)
	require.Equal(t, map[string]string{"store": "up", "cache": "down"}, body.Components)

	h = newTestServer(t, func(o *httpapi.Options) {
		o.Health = []httpapi.HealthCheck{{Name: "store", Required: true, Check: down}}
	})
	r = h.Do("GET", "/health", nil, "")
	require.Equal(t, 503, r.Status)
	r.JSON(t, &body)
	require.Equal(t, "down", body.Status)
	require.Equal(t, "down", body.Components["store"])

	// Readiness follows the required checks; liveness only says the process serves.
	r = h.Do("GET", "/health/ready", nil, "")
	require.Equal(t, 503, r.Status)
	r.JSON(t, &body)
	require.Equal(t, "down", body.Components["store"])
	r = h.Do("GET", "/health/live", nil, "")
	require.Equal(t, 200, r.Status)
	require.JSONEq(t, `{"status":"ok"}`, string(r.Body))

	h = newTestServer(t, func(o *httpapi.Options) {
		o.Health = []httpapi.HealthCheck{{Name: "store", Required: true, Check: up}, {Name: "cache", Check: down}}
	})
	r = h.Do("GET", "/health/ready", nil, "")
	require.Equal(t, 200, r.Status, "an optional component down leaves the replica ready")
	r.JSON(t, &body)
	require.Equal(t, "degraded", body.Status)
}

func TestOpenAPIAndDocs(t *testing.T) {
	h := newTestServer(t)
	r := h.Do("GET", "/openapi.json", nil, "")
	require.Equal(t, 200, r.Status)
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	r.JSON(t, &doc)
	require.Equal(t, "3.1.0", doc.OpenAPI)
	require.Contains(t, doc.Paths, "/health")
	require.Contains(t, doc.Paths, "/api/v1/tenants/{id}/echo")

	r = h.Do("GET", "/docs", nil, "")
	require.Equal(t, 200, r.Status)
	require.Contains(t, string(r.Body), "swagger")
	require.NotContains(t, string(r.Body), "cdn.", "docs are served from embedded assets")
}

// BenchmarkMiddleware compares a request through the whole stack (request id, recovery,
// access log and metrics, body limit, authentication, huma) with a bare net/http handler
// doing the same JSON work.
func BenchmarkMiddleware(b *testing.B) {
	b.Run("bare", func(b *testing.B) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"tenant": "x", "name": "y"})
		})
		benchServe(b, h, "")
	})
	// huma on a bare chi router, without the stack: what the framework itself costs, so the
	// stack's own share (stack - huma) can be read off.
	b.Run("huma", func(b *testing.B) {
		r := chi.NewRouter()
		api := humachi.New(r, huma.DefaultConfig("bench", "1"))
		huma.Register(api, huma.Operation{OperationID: "get", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/thing"},
			func(ctx context.Context, in *struct {
				ID string `path:"id"`
			}) (*echoOutput, error) {
				out := &echoOutput{}
				out.Body.Tenant, out.Body.Name = in.ID, "y"
				return out, nil
			})
		benchServe(b, r, "/api/v1/tenants/"+eusaas.NewTenantID().String()+"/thing")
	})
	// stack: the access log is a JSON line per request (to a discarding writer); stack-nolog
	// is the same with the log level above INFO, so the log line's own cost can be read off.
	for _, variant := range []struct {
		name  string
		level slog.Level
	}{{"stack", slog.LevelInfo}, {"stack-nolog", slog.LevelWarn}} {
		b.Run(variant.name, func(b *testing.B) {
			h := httpapitest.New(b, func(o *httpapi.Options) {
				o.Logger = slog.New(slog.NewJSONHandler(discard{}, &slog.HandlerOptions{Level: variant.level}))
			})
			s := h.Server
			httpapi.Register(s, huma.Operation{OperationID: "get", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/thing", Security: httpapi.BearerAuth},
				func(ctx context.Context, in *struct {
					ID string `path:"id"`
				}) (*echoOutput, error) {
					id, _, err := s.TenantAccess(ctx, in.ID, auth.PermBillingRead)
					if err != nil {
						return nil, err
					}
					out := &echoOutput{}
					out.Body.Tenant, out.Body.Name = id.String(), "y"
					return out, nil
				})
			a := h.NewTenant()
			tok, _ := h.User(a, auth.RoleViewer)
			benchServe(b, s.Handler(), "/api/v1/tenants/"+a.String()+"/thing", "Bearer "+tok)
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func benchServe(b *testing.B, h http.Handler, path string, authz ...string) {
	if path == "" {
		path = "/x"
	}
	req := httptest.NewRequest("GET", path, nil)
	if len(authz) > 0 {
		req.Header.Set("Authorization", authz[0])
	}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

type limiterFunc func(ctx context.Context, id eusaas.TenantID) (bool, time.Duration, error)

func (f limiterFunc) Allow(ctx context.Context, id eusaas.TenantID) (bool, time.Duration, error) {
	return f(ctx, id)
}

func TestTenantRateLimit(t *testing.T) {
	allowed := 2
	h := newTestServer(t, func(o *httpapi.Options) {
		o.RateLimiter = limiterFunc(func(context.Context, eusaas.TenantID) (bool, time.Duration, error) {
			allowed--
			return allowed >= 0, 30 * time.Second, nil
		})
	})
	a := h.NewTenant()
	tok, _ := h.User(a, auth.RoleViewer)
	body := map[string]any{"name": "hello", "password": "0123456789"}
	path := "/api/v1/tenants/" + a.String() + "/echo"
	require.Equal(t, 200, h.Do("POST", path, body, tok).Status)
	require.Equal(t, 200, h.Do("POST", path, body, tok).Status)
	r := h.Do("POST", path, body, tok)
	require.Equal(t, 429, r.Status)
	require.Equal(t, "30", r.Header.Get("Retry-After"))
	require.Equal(t, "rate_limited", r.Problem(t).Code)
	require.Equal(t, 200, h.Do("POST", path, body, h.Operator()).Status, "operators are not throttled")
}
