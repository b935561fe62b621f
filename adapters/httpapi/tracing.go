package httpapi

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// traceContext reads and writes W3C traceparent/tracestate. Fixed rather than the global
// propagator: the server's contract is W3C trace context whatever else an embedder installs.
var traceContext propagation.TraceContext

// startSpan opens the request's server span, as a child of the caller's trace when the
// request carries one. Its name is the method until routing has found the route template
// (endSpan renames it): raw paths would give every tenant id a span name of its own.
func (s *Server) startSpan(ctx context.Context, r *http.Request, ri *requestInfo) context.Context {
	ctx = traceContext.Extract(ctx, propagation.HeaderCarrier(r.Header))
	ctx, ri.span = s.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("http.request.method", r.Method),
			attribute.String("url.path", r.URL.Path),
			attribute.String("http.request_id", ri.requestID),
		))
	return ctx
}

// endSpan names the span by route, records the status (5xx as an error, per the HTTP
// semantic conventions for servers: a 4xx is the client's doing) and ends it.
func endSpan(r *http.Request, sw *statusWriter, ri *requestInfo) {
	status := sw.status
	if status == 0 {
		status = http.StatusOK
	}
	route := ri.routePattern()
	if route == "" {
		route = "unmatched"
	} else {
		ri.span.SetAttributes(attribute.String("http.route", route))
	}
	ri.span.SetName(r.Method + " " + route)
	ri.span.SetAttributes(attribute.Int("http.response.status_code", status))
	if !ri.tenant.IsZero() {
		ri.span.SetAttributes(attribute.String("eusaas.tenant_id", ri.tenant.String()))
	}
	if status >= 500 {
		msg := http.StatusText(status)
		if ri.internalErr != nil {
			msg = ri.internalErr.Error()
		}
		ri.span.SetStatus(codes.Error, msg)
	}
	ri.span.End()
}
