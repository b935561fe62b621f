package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

// requestInfo is the per-request state the middleware and the guards share. It is a pointer
// in the context so handlers deeper down can fill in what the access log reports (tenant).
type requestInfo struct {
	requestID string
	path      string
	bearer    string
	principal *auth.Principal
	authErr   error
	tenant    eusaas.TenantID
	// internalErr is the cause of a 5xx, logged by the access log and never sent.
	internalErr error
	rctx        *chi.Context
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
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// requestContext honours or generates X-Request-ID, echoes it, and puts the request info and
// request metadata into the context.
func (s *Server) requestContext(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-ID", id)
		ri := &requestInfo{requestID: id, path: r.URL.Path, rctx: chi.RouteContext(r.Context())}
		ctx := context.WithValue(r.Context(), requestInfoKey{}, ri)
		ctx = eusaas.WithRequestMeta(ctx, eusaas.RequestMeta{RequestID: id, IP: clientIP(r), UserAgent: cleanText(r.UserAgent())})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// cleanText makes a free-form header (User-Agent) storable: it is recorded, never matched,
// so invalid bytes are replaced rather than the request refused.
func cleanText(s string) string {
	if !bad(s) {
		return s
	}
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
}

// clientIP is the peer address. X-Forwarded-For is not trusted: the server does not know
// which proxies are in front of it.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
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

// recoverer turns a panic into a 500 problem and logs the stack.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(r.Context(), "panic serving request",
					"request_id", RequestID(r.Context()), "panic", p, "stack", string(debug.Stack()))
				writeProblem(w, newProblem(r.Context(), http.StatusInternalServerError, "internal", "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// observe writes the JSON access log and the Prometheus metrics, keyed by the route pattern
// (never the raw path, which would explode label cardinality).
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			// Runs after recoverer has written the 500 for a panic below it.
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			elapsed := time.Since(start)
			ri := requestInfoFrom(r.Context())
			route := ri.routePattern()
			if route == "" {
				route = "unmatched"
			}
			status := strconv.Itoa(sw.status)
			s.requests.WithLabelValues(r.Method, route, status).Inc()
			s.latency.WithLabelValues(r.Method, route).Observe(elapsed.Seconds())
			level := slog.LevelInfo
			if sw.status >= 500 {
				level = slog.LevelError
			}
			if !s.log.Enabled(r.Context(), level) {
				return
			}
			attrs := []slog.Attr{
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.Int("status", sw.status),
				slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
				slog.Int("bytes", sw.bytes),
				slog.String("request_id", ri.requestID),
			}
			if !ri.tenant.IsZero() {
				attrs = append(attrs, slog.String("tenant_id", ri.tenant.String()))
			}
			if ri.internalErr != nil {
				attrs = append(attrs, slog.String("error", ri.internalErr.Error()))
			}
			s.log.LogAttrs(r.Context(), level, "http request", attrs...)
		}()
		next.ServeHTTP(sw, r)
	})
}

// limitBody caps the request body; huma reports an oversize body as a 413 problem.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.opts.MaxBodyBytes {
			writeProblem(w, newProblem(r.Context(), http.StatusRequestEntityTooLarge, "",
				"request body exceeds "+strconv.FormatInt(s.opts.MaxBodyBytes, 10)+" bytes"))
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

// authenticate verifies a bearer token when one is sent and records the principal or the
// failure; the guards (Principal, TenantAccess) decide whether a route needs it, so public
// routes are not broken by a stale token.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearerToken(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		ri := requestInfoFrom(ctx)
		ri.bearer = tok
		if s.opts.Authenticator == nil {
			ri.authErr = errUnauthenticated.With("authentication is not configured").Wrap(errAuthUnconfigured)
			next.ServeHTTP(w, r)
			return
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
			next.ServeHTTP(w, r)
			return
		}
		ri.principal = &p
		ctx = eusaas.WithActor(ctx, p.Actor())
		if !p.TenantID.IsZero() {
			ri.tenant = p.TenantID
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
