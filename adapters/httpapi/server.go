package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/swaggest/swgui/v5emb"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

// Authenticator verifies a bearer access token (signature, claims, denylist, user state).
type Authenticator interface {
	Authenticate(ctx context.Context, bearer string) (auth.Principal, error)
}

// TenantGate reports a tenant's lifecycle status (ACTIVE, SUSPENDED, ...). Errors of kind
// NotFound mean no such tenant.
type TenantGate interface {
	TenantStatus(ctx context.Context, id eusaas.TenantID) (string, error)
}

// RateLimiter decides whether a tenant's users may make another request now (the tenant's
// settings.api_rate_limit). When ok is false, retryAfter says when the window resets.
type RateLimiter interface {
	Allow(ctx context.Context, tenant eusaas.TenantID) (ok bool, retryAfter time.Duration, err error)
}

// HealthCheck probes one component. Required components make /health answer 503 when down.
type HealthCheck struct {
	Name     string
	Required bool
	Check    func(ctx context.Context) error
}

// Options configure a Server.
type Options struct {
	Version       string
	Logger        *slog.Logger
	Authenticator Authenticator
	TenantGate    TenantGate
	// RateLimiter throttles tenant users' tenant-scoped requests; nil means no limit.
	RateLimiter RateLimiter
	Health      []HealthCheck
	// Registry receives the HTTP metrics; other packages may register their collectors on it
	// too. A new registry is made when nil.
	Registry *prometheus.Registry
	// MaxBodyBytes caps request bodies (default 1 MiB).
	MaxBodyBytes int64
}

// Server is the REST API: a chi router with the middleware stack and a huma API on it.
type Server struct {
	opts     Options
	log      *slog.Logger
	router   chi.Router
	api      huma.API
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec

	hooksMu sync.RWMutex
	hooks   []func(ctx context.Context, tenant eusaas.TenantID, route string)
}

// BearerAuth is the security requirement of protected operations. It is also the document's
// root-level requirement, so an operation that sets no Security is documented as protected.
var BearerAuth = []map[string][]string{{"bearer": {}}}

// Public is the security requirement of operations that need no token (login, JWKS,
// signed downloads): one empty requirement object, meaning anonymous access is allowed.
var Public = []map[string][]string{{}}

// New builds the server with its middleware and the operations endpoints (/health,
// /metrics, /openapi.json, /docs). Modules add their routes with their Register functions.
func New(opts Options) *Server {
	useProblems()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
		opts.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	s := &Server{opts: opts, log: opts.Logger, registry: opts.Registry}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total",
		Help: "HTTP requests by method, route pattern and status.",
	}, []string{"method", "route", "status"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "http_request_duration_seconds",
		Help:    "HTTP request latency by method and route pattern.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"method", "route"})
	s.registry.MustRegister(s.requests, s.latency)

	r := chi.NewRouter()
	r.Use(s.requestContext, s.recoverer, s.observe, s.limitBody, s.refuseBadInput, s.authenticate)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, newProblem(r.Context(), http.StatusNotFound, "", "no route for "+r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, newProblem(r.Context(), http.StatusMethodNotAllowed, "", r.Method+" is not allowed on "+r.URL.Path))
	})
	s.router = r

	cfg := huma.DefaultConfig("eusaas API", opts.Version)
	// No $schema links in bodies and no /schemas route: the field names are the contract.
	cfg.CreateHooks = nil
	cfg.SchemasPath = ""
	cfg.DocsPath = ""            // /docs is served from embedded Swagger UI below (no CDN)
	cfg.OpenAPIPath = "/openapi" // -> /openapi.json (3.1) and /openapi.yaml
	cfg.Info.Description = "eusaas: EU-grade multi-tenant SaaS platform. Every error is an RFC 9457 problem."
	cfg.Servers = []*huma.Server{{URL: "/", Description: "This server"}}
	cfg.Security = BearerAuth
	cfg.Formats = map[string]huma.Format{"application/json": strictJSON, "json": strictJSON}
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", BearerFormat: "JWT",
			Description: "RS256 access token from POST /api/v1/auth/login"},
	}
	s.api = humachi.New(r, cfg)
	r.Handle("/docs", v5emb.New("eusaas API", "/openapi.json", "/docs"))
	r.Handle("/docs/*", v5emb.New("eusaas API", "/openapi.json", "/docs"))
	r.Handle("/metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry}))
	s.registerHealth()
	return s
}

// Handler returns the root http.Handler.
func (s *Server) Handler() http.Handler { return s.router }

// API returns the huma API for registering operations.
func (s *Server) API() huma.API { return s.api }

// Router returns the chi router for the rare route huma cannot express (raw downloads).
func (s *Server) Router() chi.Router { return s.router }

// Registry returns the Prometheus registry served on /metrics.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Logger returns the server's logger.
func (s *Server) Logger() *slog.Logger { return s.log }

// OnTenantRequest registers a hook called by TenantAccess for every authorised tenant-scoped
// request (billing counts API calls with it). Hooks must be fast and never block.
func (s *Server) OnTenantRequest(fn func(ctx context.Context, tenant eusaas.TenantID, route string)) {
	s.hooksMu.Lock()
	s.hooks = append(s.hooks, fn)
	s.hooksMu.Unlock()
}

// Register adds an operation. Errors returned by the handler become problems from their
// eusaas.Kind, so handlers return domain errors as they are.
func Register[I, O any](s *Server, op huma.Operation, h func(context.Context, *I) (*O, error)) {
	if op.Security != nil && op.Errors == nil {
		op.Errors = []int{http.StatusUnauthorized, http.StatusForbidden}
	}
	huma.Register(s.api, op, func(ctx context.Context, in *I) (*O, error) {
		out, err := h(ctx, in)
		if err != nil {
			return nil, ProblemFor(ctx, err)
		}
		return out, nil
	})
}

func writeProblem(w http.ResponseWriter, p *Problem) {
	for k, vs := range p.headers {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Type", ProblemContentType)
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// Principal returns the verified caller, or an Unauthenticated error.
func (s *Server) Principal(ctx context.Context) (auth.Principal, error) {
	ri := requestInfoFrom(ctx)
	if ri == nil || (ri.principal == nil && ri.authErr == nil) {
		return auth.Principal{}, errUnauthenticated.With("a bearer access token is required")
	}
	if ri.authErr != nil {
		return auth.Principal{}, ri.authErr
	}
	return *ri.principal, nil
}

var (
	errUnauthenticated = eusaas.Sentinel(eusaas.Unauthenticated, "unauthenticated", "authentication required")
	errForbidden       = eusaas.Sentinel(eusaas.PermissionDenied, "permission_denied", "permission denied")
	errSuspended       = eusaas.Sentinel(eusaas.PermissionDenied, "tenant_suspended", "the tenant is suspended")
	errTenantNotFound  = eusaas.Sentinel(eusaas.NotFound, "tenant_not_found", "tenant not found")
	errRateLimited     = eusaas.Sentinel(eusaas.ResourceExhausted, "rate_limited", "the tenant's API rate limit is reached")
)

// Operator returns the caller if it is a platform operator.
func (s *Server) Operator(ctx context.Context) (auth.Principal, error) {
	p, err := s.Principal(ctx)
	if err != nil {
		return p, err
	}
	if p.Kind != eusaas.ActorOperator {
		return auth.Principal{}, errForbidden.With("platform operators only")
	}
	return p, nil
}

// TenantAccess authorises a tenant-scoped request: a valid tenant id in the path, a verified
// caller holding perm on that tenant (a user's token must be for the path's tenant), and, for
// tenant users, an ACTIVE tenant. It records the tenant for logs and metering.
func (s *Server) TenantAccess(ctx context.Context, idParam string, perm auth.Permission) (eusaas.TenantID, auth.Principal, error) {
	id, err := eusaas.ParseTenantID(idParam)
	if err != nil {
		return eusaas.NilTenant, auth.Principal{}, eusaas.Invalid("invalid tenant id",
			eusaas.FieldViolation{Location: "path.id", Message: "must be a UUID"})
	}
	p, err := s.Principal(ctx)
	if err != nil {
		return id, p, err
	}
	if !p.Can(id, perm) {
		return id, auth.Principal{}, errForbidden.With("not allowed for this tenant")
	}
	if p.Kind == eusaas.ActorUser {
		if s.opts.TenantGate == nil {
			return id, auth.Principal{}, errForbidden.With("tenant status unavailable")
		}
		status, err := s.opts.TenantGate.TenantStatus(ctx, id)
		switch {
		case eusaas.KindOf(err) == eusaas.NotFound || status == "DELETED":
			return id, auth.Principal{}, errTenantNotFound
		case err != nil:
			return id, auth.Principal{}, err
		case status == "SUSPENDED":
			return id, auth.Principal{}, errSuspended
		case status != "ACTIVE":
			return id, auth.Principal{}, errForbidden.Withf("the tenant is %s", status)
		}
		// Operators and service principals are not throttled: the limit is the tenant's
		// own API quota, and platform work (ingestion, support) must not eat it.
		if s.opts.RateLimiter != nil {
			ok, after, err := s.opts.RateLimiter.Allow(ctx, id)
			if err != nil {
				return id, auth.Principal{}, err
			}
			if !ok {
				return id, auth.Principal{}, &RetryAfter{Err: errRateLimited, After: after}
			}
		}
	}
	ri := requestInfoFrom(ctx)
	route := ""
	if ri != nil {
		ri.tenant = id
		route = ri.routePattern()
	}
	s.hooksMu.RLock()
	hooks := s.hooks
	s.hooksMu.RUnlock()
	for _, h := range hooks {
		h(ctx, id, route)
	}
	return id, p, nil
}

type healthOutput struct {
	Body struct {
		Status     string            `json:"status" enum:"ok,degraded,down"`
		Version    string            `json:"version"`
		Components map[string]string `json:"components"`
	}
}

func (s *Server) registerHealth() {
	huma.Register(s.api, huma.Operation{
		OperationID: "health", Method: http.MethodGet, Path: "/health", Security: Public,
		Summary: "Liveness and component status", Tags: []string{"Operations"},
		Description: "200 when every required component answers; 503 with the same body otherwise.",
		Responses:   map[string]*huma.Response{"503": {Description: "A required component is down"}},
	}, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		out := &healthOutput{}
		out.Body.Version = s.opts.Version
		out.Body.Status = "ok"
		out.Body.Components = map[string]string{}
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		down := false
		for _, c := range s.opts.Health {
			if err := c.Check(ctx); err != nil {
				out.Body.Components[c.Name] = "down"
				if c.Required {
					down = true
				} else if out.Body.Status == "ok" {
					out.Body.Status = "degraded"
				}
				s.log.WarnContext(ctx, "health check failed", "component", c.Name, "error", err.Error())
				continue
			}
			out.Body.Components[c.Name] = "up"
		}
		if down {
			out.Body.Status = "down"
			return nil, &healthDown{out: out}
		}
		return out, nil
	})
}

// healthDown renders the health body with 503: /health answers its own shape, not a problem,
// so load balancers and humans see which component failed.
type healthDown struct{ out *healthOutput }

func (h *healthDown) Error() string                { return "health: required component down" }
func (h *healthDown) GetStatus() int               { return http.StatusServiceUnavailable }
func (h *healthDown) MarshalJSON() ([]byte, error) { return json.Marshal(h.out.Body) }
func (h *healthDown) ContentType(string) string    { return "application/json" }

// bearerToken extracts the token of an "Authorization: Bearer x" header.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	tok := strings.TrimSpace(h[7:])
	return tok, tok != ""
}

// BearerToken returns the raw bearer token of the request in ctx (logout and refresh need it).
func BearerToken(ctx context.Context) string {
	if ri := requestInfoFrom(ctx); ri != nil {
		return ri.bearer
	}
	return ""
}

var errAuthUnconfigured = errors.New("httpapi: no authenticator configured")
