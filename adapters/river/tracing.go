package river

import (
	"context"
	"encoding/json"

	rq "github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// metadataKey is the job metadata field that carries the W3C trace context of the code that
// inserted the job (traceparent, tracestate).
const metadataKey = "otel"

// tracing is a River middleware: a producer span around every insert, the inserting
// context's trace written into the job's metadata, and a consumer span around every job's
// work whose parent is that trace. rivercontrib/otelriver makes both spans too, but starts
// each job's span as a new root: the request that enqueued a job and the job's own queries
// would land in two unrelated traces, which is what tracing a job queue is for.
type tracing struct {
	rq.MiddlewareDefaults
	tracer trace.Tracer
	prop   propagation.TraceContext
}

func newTracing(tp trace.TracerProvider) *tracing {
	return &tracing{tracer: tp.Tracer("github.com/eusaas/eusaas/adapters/river")}
}

func (t *tracing) InsertMany(ctx context.Context, many []*rivertype.JobInsertParams, doInner func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	ctx, span := t.tracer.Start(ctx, "river.insert", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("messaging.system", "river"), attribute.Int("messaging.batch.message_count", len(many))))
	defer span.End()
	carrier := propagation.MapCarrier{}
	t.prop.Inject(ctx, carrier)
	if len(carrier) > 0 {
		for _, p := range many {
			p.Metadata = withTraceContext(p.Metadata, carrier)
			span.AddEvent("job", trace.WithAttributes(attribute.String("kind", p.Kind)))
		}
	}
	res, err := doInner(ctx)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	return res, err
}

func (t *tracing) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	if carrier := traceContextOf(job.Metadata); carrier != nil {
		ctx = t.prop.Extract(ctx, carrier)
	}
	ctx, span := t.tracer.Start(ctx, "river.work/"+job.Kind, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "river"),
			attribute.String("messaging.operation.type", "process"),
			attribute.Int64("river.job.id", job.ID),
			attribute.String("river.job.kind", job.Kind),
			attribute.Int("river.job.attempt", job.Attempt),
		))
	defer span.End()
	err := doInner(ctx)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}

// withTraceContext adds the trace context to a job's metadata object, keeping what else it
// holds. Metadata that is not an object (River writes objects; a caller could pass
// anything) is left alone rather than replaced.
func withTraceContext(meta []byte, carrier propagation.MapCarrier) []byte {
	m := map[string]json.RawMessage{}
	if len(meta) > 0 {
		if err := json.Unmarshal(meta, &m); err != nil {
			return meta
		}
	}
	raw, err := json.Marshal(map[string]string(carrier))
	if err != nil {
		return meta
	}
	m[metadataKey] = raw
	out, err := json.Marshal(m)
	if err != nil {
		return meta
	}
	return out
}

// traceContextOf reads the carrier withTraceContext wrote; nil when there is none.
func traceContextOf(meta []byte) propagation.MapCarrier {
	if len(meta) == 0 {
		return nil
	}
	var m struct {
		OTel map[string]string `json:"otel"`
	}
	if err := json.Unmarshal(meta, &m); err != nil || len(m.OTel) == 0 {
		return nil
	}
	return propagation.MapCarrier(m.OTel)
}
