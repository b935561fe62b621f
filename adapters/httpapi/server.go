package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/danielgtaylor/huma/v2/yaml"
	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/swaggest/swgui/v5emb"
	"go.opentelemetry.io/otel/trace"

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
	// TrustedProxies are the networks of the reverse proxies and load balancers in front of
	// the server. Only a request whose peer is in one of them has its client address taken
	// from X-Forwarded-For (the right-most hop that is not a trusted proxy) or Forwarded;
	// empty means the peer address is always the client's.
	TrustedProxies []netip.Prefix
	// TracerProvider, when set, gives every request a server span named by its route
	// template ("GET /api/v1/tenants/{id}"), continuing the caller's W3C trace context
	// (traceparent), and puts the trace id in the access log. Nil: no tracing code runs.
	TracerProvider trace.TracerProvider
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

	tracer trace.Tracer

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
	if opts.TracerProvider != nil {
		s.tracer = opts.TracerProvider.Tracer("github.com/eusaas/eusaas/adapters/httpapi")
	}
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
	r.Use(s.edge)
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
	cfg.DocsPath = "" // /docs is served from embedded Swagger UI below (no CDN)
	// The document is served by s.serveDocument (/openapi.json and .yaml, 3.1 and 3.0): the
	// served contract differs from the validation schema where the server is more lenient
	// than what it promises (a usage quantity is documented as a decimal string; JSON numbers
	// are still accepted).
	cfg.OpenAPIPath = ""
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
	for _, d := range []struct {
		path            string
		yaml, downgrade bool
	}{{"/openapi.json", false, false}, {"/openapi.yaml", true, false}, {"/openapi-3.0.json", false, true}, {"/openapi-3.0.yaml", true, true}} {
		r.Get(d.path, s.serveDocument(d.yaml, d.downgrade))
	}
	r.Handle("/metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry}))
	s.registerHealth()
	return s
}

// docWire marks a schema whose served form differs from the one requests are validated
// against; serveDocument replaces it with the schema named by the value.
const docWire = "x-eusaas-wire"

// wireSchemas are the documented forms of docWire-marked schemas.
var wireSchemas = map[string]map[string]any{
	"decimal-string": {
		"type": "string", "format": "decimal", "pattern": `^[0-9]{1,15}(\.[0-9]{1,18})?$`, "examples": []any{"12.5"},
		"description": "Non-negative decimal quantity in the resource's unit, as a string (exact: never binary " +
			"floating point). At most 18 fractional digits, less than 10^15. For compatibility the server also " +
			"accepts a JSON number, parsed from its text exactly.",
	},
}

// serveDocument serves the OpenAPI document, built on first request (after every module has
// registered its operations) and cached.
func (s *Server) serveDocument(asYAML, downgrade bool) http.HandlerFunc {
	var once sync.Once
	var doc []byte
	var err error
	return func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { doc, err = s.document(asYAML, downgrade) })
		if err != nil {
			s.log.ErrorContext(r.Context(), "openapi document", "error", err.Error())
			writeProblem(w, newProblem(r.Context(), http.StatusInternalServerError, "internal", "internal error"))
			return
		}
		if asYAML {
			w.Header().Set("Content-Type", "application/openapi+yaml")
		} else {
			w.Header().Set("Content-Type", "application/openapi+json")
		}
		_, _ = w.Write(doc)
	}
}

func (s *Server) document(asYAML, downgrade bool) ([]byte, error) {
	var raw []byte
	var err error
	if downgrade {
		raw, err = s.api.OpenAPI().Downgrade()
	} else {
		raw, err = json.Marshal(s.api.OpenAPI())
	}
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	v = wireForms(v)
	if raw, err = json.Marshal(v); err != nil {
		return nil, err
	}
	if !asYAML {
		return raw, nil
	}
	var buf bytes.Buffer
	err = yaml.Convert(&buf, bytes.NewReader(raw))
	return buf.Bytes(), err
}

// wireForms replaces every docWire-marked schema in a decoded document by its served form.
func wireForms(v any) any {
	switch t := v.(type) {
	case map[string]any:
		if name, ok := t[docWire].(string); ok {
			if w, ok := wireSchemas[name]; ok {
				return maps.Clone(w)
			}
		}
		for k, e := range t {
			t[k] = wireForms(e)
		}
	case []any:
		for i, e := range t {
			t[i] = wireForms(e)
		}
	}
	return v
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
	op.Errors = declaredErrors(op)
	huma.Register(s.api, op, func(ctx context.Context, in *I) (*O, error) {
		out, err := h(ctx, in)
		if err != nil {
			return nil, ProblemFor(ctx, err)
		}
		return out, nil
	})
	documentRetryAfter(s.api.OpenAPI(), op)
}

// declaredErrors is every error status op can answer, so generated clients decode each one
// as a problem instead of failing on an undeclared status: the operation's own, plus those
// the stack answers for any operation — 422 (the edge refuses unusable input on every
// route), 415 (a non-UTF-8 charset), 503 (a dependency is down) — and those that follow from
// the operation's shape.
func declaredErrors(op huma.Operation) []int {
	set := map[int]bool{http.StatusUnprocessableEntity: true, http.StatusUnsupportedMediaType: true, http.StatusServiceUnavailable: true}
	for _, c := range op.Errors {
		set[c] = true
	}
	public := len(op.Security) == 1 && len(op.Security[0]) == 0
	if !public {
		set[http.StatusUnauthorized], set[http.StatusForbidden] = true, true
	}
	if strings.Contains(op.Path, "{") {
		set[http.StatusNotFound] = true // the path names something that may not exist
	}
	switch op.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		set[http.StatusRequestEntityTooLarge] = true
		set[http.StatusConflict] = true // a state conflict or a concurrent transaction
	case http.MethodDelete:
		set[http.StatusConflict] = true
	}
	if strings.HasPrefix(op.Path, "/api/v1/tenants/{id}") && !public {
		set[http.StatusTooManyRequests] = true // the tenant's API rate limit
	}
	out := make([]int, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// documentRetryAfter declares the Retry-After header of op's 429 and 503 answers.
func documentRetryAfter(doc *huma.OpenAPI, op huma.Operation) {
	item := doc.Paths[op.Path]
	if item == nil {
		return
	}
	var o *huma.Operation
	switch op.Method {
	case http.MethodGet:
		o = item.Get
	case http.MethodPost:
		o = item.Post
	case http.MethodPut:
		o = item.Put
	case http.MethodPatch:
		o = item.Patch
	case http.MethodDelete:
		o = item.Delete
	}
	if o == nil {
		return
	}
	for _, code := range []string{"429", "503"} {
		r := o.Responses[code]
		if r == nil {
			continue
		}
		if r.Headers == nil {
			r.Headers = map[string]*huma.Param{}
		}
		r.Headers["Retry-After"] = &huma.Param{
			Description: "Seconds to wait before retrying",
			Schema:      &huma.Schema{Type: huma.TypeInteger, Minimum: ptr(1.0)},
		}
	}
}

func ptr[T any](v T) *T { return &v }

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
	if ri.principal.EnrolmentOnly && !enrolmentRoutes[ri.method+" "+ri.routePattern()] {
		// The tenant requires a second factor the user has not enrolled: the token is good
		// for enrolling one (and for /auth/me and logout), nothing else.
		return auth.Principal{}, auth.ErrMFAEnrolmentRequired
	}
	return *ri.principal, nil
}

// enrolmentRoutes are what an enrolment-only token (auth.Principal.EnrolmentOnly) may call.
var enrolmentRoutes = map[string]bool{
	"POST /api/v1/auth/mfa/totp":         true,
	"POST /api/v1/auth/mfa/totp/confirm": true,
	"GET /api/v1/auth/me":                true,
	"POST /api/v1/auth/logout":           true,
}

var (
	errUnauthenticated = eusaas.Sentinel(eusaas.Unauthenticated, "unauthenticated", "authentication required")
	errForbidden       = eusaas.Sentinel(eusaas.PermissionDenied, "permission_denied", "permission denied")
	errSuspended       = eusaas.Sentinel(eusaas.PermissionDenied, "tenant_suspended", "the tenant is suspended")
	errTenantNotFound  = eusaas.ErrTenantNotFound
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

// tenantActive refuses a tenant user's request unless the tenant is ACTIVE: a suspended
// tenant's access tokens stop working at once (403), not when they expire.
func (s *Server) tenantActive(ctx context.Context, id eusaas.TenantID) error {
	if s.opts.TenantGate == nil {
		return errForbidden.With("tenant status unavailable")
	}
	status, err := s.opts.TenantGate.TenantStatus(ctx, id)
	switch {
	case err != nil && eusaas.KindOf(err) == eusaas.NotFound:
		return errTenantNotFound
	case err != nil:
		return err
	case status == "DELETED":
		return errTenantNotFound
	case status == "SUSPENDED":
		return errSuspended
	case status != "ACTIVE":
		return errForbidden.Withf("the tenant is %s", status)
	}
	return nil
}

// ActivePrincipal is Principal for routes outside /tenants/{id} that a tenant user may
// call (/auth/me, /auth/sessions): the user's tenant must still be ACTIVE.
func (s *Server) ActivePrincipal(ctx context.Context) (auth.Principal, error) {
	p, err := s.Principal(ctx)
	if err != nil {
		return p, err
	}
	if p.Kind == eusaas.ActorUser || p.Kind == eusaas.ActorAPIKey {
		if err := s.tenantActive(ctx, p.TenantID); err != nil {
			return auth.Principal{}, err
		}
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
	if p.Kind == eusaas.ActorUser || p.Kind == eusaas.ActorAPIKey {
		// A tenant API key is the tenant's own traffic: gated and throttled as its users.
		if err := s.tenantActive(ctx, id); err != nil {
			return id, auth.Principal{}, err
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
	Body healthBody
}

type healthBody struct {
	Status     string            `json:"status" enum:"ok,degraded,down"`
	Version    string            `json:"version"`
	Components map[string]string `json:"components"`
}

func (s *Server) registerHealth() {
	huma.Register(s.api, huma.Operation{
		OperationID: "health", Method: http.MethodGet, Path: "/health", Security: Public,
		Summary: "Liveness and component status", Tags: []string{"Operations"},
		Description: "200 when every required component answers; 503 with the same body otherwise.",
		Responses: map[string]*huma.Response{"503": {Description: "A required component is down (the same body as 200)",
			Content: map[string]*huma.MediaType{"application/json": {
				Schema: s.api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[healthBody](), true, "HealthOutputBody")}}}},
		// The edge refuses unusable input (a NUL in the query, a non-UTF-8 charset) on every
		// route, this one included.
		Errors: []int{http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		out, down := s.checkHealth(ctx)
		if down {
			return nil, &healthDown{out: out}
		}
		return out, nil
	})
	// Kubernetes probes, outside the documented API like /metrics. Liveness answers while
	// the process serves HTTP and never looks at dependencies (a database outage must not
	// make the kubelet restart every replica); readiness runs the same checks as /health so
	// a replica whose required components fail leaves the Service until they answer again.
	s.router.Get("/health/live", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	s.router.Get("/health/ready", func(w http.ResponseWriter, r *http.Request) {
		out, down := s.checkHealth(r.Context())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if down {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(out.Body)
	})
}

// checkHealth runs every health check (2 s in all) and reports whether a required one failed.
func (s *Server) checkHealth(ctx context.Context) (*healthOutput, bool) {
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
	}
	return out, down
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
