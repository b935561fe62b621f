package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/trace"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

// requestInfo is the per-request state the middleware and the guards share. It is a pointer
// in the context so handlers deeper down can fill in what the access log reports (tenant).
type requestInfo struct {
	requestID string
	path      string
	method    string
	bearer    string
	principal *auth.Principal
	authErr   error
	tenant    eusaas.TenantID
	// internalErr is the cause of a 5xx, logged by the access log and never sent.
	internalErr error
	rctx        *chi.Context
	// sw is the response writer the stack hands down, allocated with the request info.
	sw statusWriter
	// span is the request's server span when tracing is on (Options.TracerProvider).
	span trace.Span
}

func (ri *requestInfo) routePattern() string {
	if ri.rctx != nil {
		if p := ri.rctx.RoutePattern(); p != "" {
			return p
		}
	}
	return ""
}

type requestInfoKey struct{}

func requestInfoFrom(ctx context.Context) *requestInfo {
	ri, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	return ri
}

// RequestID returns the id of the request in ctx.
func RequestID(ctx context.Context) string {
	if ri := requestInfoFrom(ctx); ri != nil {
		return ri.requestID
	}
	return ""
}

// validRequestID accepts client ids that are safe to log and echo: 1..128 visible ASCII
// characters without spaces or quotes.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c <= ' ' || c > '~' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [16]byte
	var out [32]byte
	_, _ = rand.Read(b[:])
	hex.Encode(out[:], b[:])
	return string(out[:])
}

// clientIP is the address of the client the request comes from. It is the peer address
// unless the peer is one of the trusted proxies (Options.TrustedProxies): only then are
// X-Forwarded-For or Forwarded read, since anybody else can write those headers. The
// address feeds the brute-force counters, rate limits, session records and audit entries,
// so trusting a header from an untrusted peer would let a client pick its own counter.
func clientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(trusted) == 0 {
		return host
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(peer.Unmap(), trusted) {
		return host
	}
	// X-Forwarded-For first: proxies that write both keep them in step, and it is the
	// more common one. Forwarded is read when X-Forwarded-For is absent.
	var hops []string
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		for _, v := range xff {
			for _, h := range strings.Split(v, ",") {
				hops = append(hops, strings.TrimSpace(h))
			}
		}
	} else if fwd := r.Header.Values("Forwarded"); len(fwd) > 0 {
		hops = forwardedFor(fwd)
	}
	// Right to left: each trusted proxy appended the address it received the request from;
	// the first hop that is not a trusted proxy is the client. Anything further left was
	// written by that client and proves nothing.
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			// A hop a trusted proxy wrote is never malformed; a garbled entry means the
			// chain cannot be followed past it, so the last trusted hop's peer is used.
			return host
		}
		if !isTrusted(a, trusted) {
			return a.String()
		}
		host = a.String()
	}
	return host
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseHop reads one X-Forwarded-For or Forwarded "for" value: an IPv4 or IPv6 address,
// optionally with a port ("1.2.3.4:5", "[::1]:5") or in brackets. Obfuscated identifiers
// ("_hidden", "unknown") are not addresses and are refused.
func parseHop(h string) (netip.Addr, bool) {
	h = strings.TrimSpace(strings.Trim(strings.TrimSpace(h), `"`))
	if h == "" || len(h) > 64 {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(h); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		if a, err := netip.ParseAddr(h[1 : len(h)-1]); err == nil {
			return a.Unmap().WithZone(""), true
		}
	}
	return netip.Addr{}, false
}

// forwardedFor returns the "for" parameters of RFC 7239 Forwarded header values, in order.
// An element without "for" counts as an unreadable hop so the walk stops there.
func forwardedFor(values []string) []string {
	var hops []string
	for _, v := range values {
		for _, elem := range strings.Split(v, ",") {
			hop := ""
			for _, pair := range strings.Split(elem, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "for") {
					hop = val
				}
			}
			hops = append(hops, hop)
		}
	}
	return hops
}

// statusWriter records the status code and bytes written.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// edge is the whole middleware stack in one pass: request id, panic recovery, access log
// and metrics, body limit, input checks and authentication. One function instead of a chain
// of six: the request is cloned with its context once (not once per layer), and nothing is
// allocated that the request does not need — BenchmarkMiddleware holds it to at most twice
// a bare handler.
func (s *Server) edge(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(headerRequestID)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header()[headerRequestID] = []string{id}
		ri := &requestInfo{requestID: id, path: r.URL.Path, method: r.Method, rctx: chi.RouteContext(r.Context())}
		ri.sw.ResponseWriter = w
		sw := &ri.sw
		ctx := context.WithValue(r.Context(), requestInfoKey{}, ri)
		ctx = eusaas.WithRequestMeta(ctx, eusaas.RequestMeta{RequestID: id, IP: clientIP(r, s.opts.TrustedProxies), UserAgent: cleanText(r.UserAgent())})
		if s.tracer != nil {
			ctx = s.startSpan(ctx, r, ri)
			defer endSpan(r, sw, ri)
		}
		// Deferred in this order so the access log runs after recovery has written the 500.
		defer s.logRequest(r, sw, ri, start)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(ctx, "panic serving request",
					"request_id", id, "panic", p, "stack", string(debug.Stack()))
				writeProblem(sw, newProblem(ctx, http.StatusInternalServerError, "internal", "internal error"))
			}
		}()
		if r.ContentLength > s.opts.MaxBodyBytes {
			writeProblem(sw, newProblem(ctx, http.StatusRequestEntityTooLarge, "",
				"request body exceeds "+strconv.FormatInt(s.opts.MaxBodyBytes, 10)+" bytes"))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			// huma reports an oversize body as a 413 problem.
			r.Body = http.MaxBytesReader(sw, r.Body, s.opts.MaxBodyBytes)
		}
		if p := checkInput(ctx, r); p != nil {
			writeProblem(sw, p)
			return
		}
		ctx = s.authenticate(ctx, r, ri)
		next.ServeHTTP(sw, r.WithContext(ctx))
	})
}

// headerRequestID is X-Request-ID in canonical form: looking it up or setting it needs no
// canonicalisation (an allocation) per request.
const headerRequestID = "X-Request-Id"

// logRequest writes the JSON access log and the Prometheus metrics, keyed by the route
// pattern (never the raw path, which would explode label cardinality).
func (s *Server) logRequest(r *http.Request, sw *statusWriter, ri *requestInfo, start time.Time) {
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	elapsed := time.Since(start)
	route := ri.routePattern()
	if route == "" {
		route = "unmatched"
	}
	s.requests.WithLabelValues(r.Method, route, statusText(sw.status)).Inc()
	s.latency.WithLabelValues(r.Method, route).Observe(elapsed.Seconds())
	level := slog.LevelInfo
	if sw.status >= 500 {
		level = slog.LevelError
	}
	ctx := r.Context()
	if !s.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs,
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.Int("status", sw.status),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		slog.Int("bytes", sw.bytes),
		slog.String("request_id", ri.requestID),
	)
	if !ri.tenant.IsZero() {
		attrs = append(attrs, slog.String("tenant_id", ri.tenant.String()))
	}
	if ri.internalErr != nil {
		attrs = append(attrs, slog.String("error", ri.internalErr.Error()))
	}
	if ri.span != nil {
		if sc := ri.span.SpanContext(); sc.IsValid() {
			attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
		}
	}
	s.log.LogAttrs(ctx, level, "http request", attrs...)
}

// statusText is strconv.Itoa without an allocation for the statuses the API answers.
func statusText(code int) string {
	if code >= 100 && code < 600 {
		if t := statusTexts[code]; t != "" {
			return t
		}
	}
	return strconv.Itoa(code)
}

var statusTexts = func() (t [600]string) {
	for c := 100; c < 600; c++ {
		t[c] = strconv.Itoa(c)
	}
	return t
}()

// authenticate verifies a bearer token when one is sent and records the principal or the
// failure; the guards (Principal, TenantAccess) decide whether a route needs it, so public
// routes are not broken by a stale token. It returns ctx with the caller as actor.
func (s *Server) authenticate(ctx context.Context, r *http.Request, ri *requestInfo) context.Context {
	tok, ok := bearerToken(r)
	if !ok {
		return ctx
	}
	ri.bearer = tok
	if s.opts.Authenticator == nil {
		ri.authErr = errUnauthenticated.With("authentication is not configured").Wrap(errAuthUnconfigured)
		return ctx
	}
	p, err := s.opts.Authenticator.Authenticate(ctx, tok)
	if err != nil {
		if k := eusaas.KindOf(err); k == eusaas.Unavailable || k == eusaas.Internal {
			ri.authErr = err
		} else {
			// Whatever failed (signature, expiry, denylist, deactivated user) the client
			// learns only that the token is not valid.
			ri.authErr = errUnauthenticated.With("invalid or expired access token").Wrap(err)
		}
		return ctx
	}
	ri.principal = &p
	if !p.TenantID.IsZero() {
		ri.tenant = p.TenantID
	}
	return eusaas.WithActor(ctx, p.Actor())
}
