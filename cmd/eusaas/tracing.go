package main

import (
	"context"
	"log/slog"

	"github.com/exaring/otelpgx"
	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/eusaas/eusaas/adapters/postgres"
)

// newTracerProvider exports spans in batches over OTLP/HTTP to the configured collector.
// Sampling is the SDK's default (parent-based, always on), which honours a caller's
// sampled flag and OTEL_TRACES_SAMPLER.
func newTracerProvider(ctx context.Context, cfg TracingConfig) (*sdktrace.TracerProvider, error) {
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(cfg.Endpoint)}
	if len(cfg.Headers) > 0 {
		opts = append(opts, otlptracehttp.WithHeaders(cfg.Headers))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, &ConfigError{"OTEL_EXPORTER_OTLP_ENDPOINT", "cannot configure the OTLP exporter: " + err.Error()}
	}
	attrs := []attribute.KeyValue{semconv.ServiceName(cfg.ServiceName), semconv.ServiceVersion(Version())}
	for k, v := range cfg.Attributes {
		if k != "service.name" {
			attrs = append(attrs, attribute.String(k, v))
		}
	}
	res := resource.NewWithAttributes(semconv.SchemaURL, attrs...)
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}

// tracedPostgres gives every query of the pool a span (statement text, no arguments: they
// hold personal data and secrets).
func tracedPostgres(tp trace.TracerProvider) []postgres.OpenOption {
	if tp == nil {
		return nil
	}
	return []postgres.OpenOption{postgres.WithQueryTracer(otelpgx.NewTracer(
		otelpgx.WithTracerProvider(tp),
	))}
}

// traceRedis gives every Redis command a span. Only tracing: the server's metrics are
// Prometheus's, not OpenTelemetry's.
func traceRedis(rdb *redis.Client, tp trace.TracerProvider) error {
	if tp == nil {
		return nil
	}
	return redisotel.InstrumentTracing(rdb, redisotel.WithTracerProvider(tp), redisotel.WithDBStatement(false))
}

// traceLogHandler adds the trace and span ids of the record's context to every JSON log
// line written inside a traced request or job, so logs and traces join up in Grafana/Loki.
type traceLogHandler struct{ slog.Handler }

func (h traceLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return traceLogHandler{h.Handler.WithAttrs(as)}
}

func (h traceLogHandler) WithGroup(name string) slog.Handler {
	return traceLogHandler{h.Handler.WithGroup(name)}
}
