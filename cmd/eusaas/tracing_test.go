package main

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP trace receiver (the collector side of the protocol: POST
// /v1/traces, a protobuf ExportTraceServiceRequest, answered by an
// ExportTraceServiceResponse), holding what it received for the test to read.
type otlpReceiver struct {
	mu      sync.Mutex
	spans   []*tracepb.Span
	service []string
	headers []http.Header
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "not an OTLP/HTTP protobuf trace export", http.StatusBadRequest)
		return
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req collectortrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	o.headers = append(o.headers, r.Header.Clone())
	for _, rs := range req.ResourceSpans {
		for _, a := range rs.GetResource().GetAttributes() {
			if a.Key == "service.name" {
				o.service = append(o.service, a.GetValue().GetStringValue())
			}
		}
		for _, ss := range rs.ScopeSpans {
			o.spans = append(o.spans, ss.Spans...)
		}
	}
	o.mu.Unlock()
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// trace returns the received spans of one trace.
func (o *otlpReceiver) trace(id string) []*tracepb.Span {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range o.spans {
		if hex.EncodeToString(s.TraceId) == id {
			out = append(out, s)
		}
	}
	return out
}

// TestTracingOneTrace is issue 16's must-show for tracing: one API request that enqueues a
// job (POST /tenants enqueues the tenant's provisioning) gives one trace holding the HTTP
// span named by its route template, the request's SQL spans, the job insert and the job's
// work span (in the worker, from the trace context carried in the job's metadata) with the
// job's own SQL spans; the trace continues the caller's traceparent; the JSON logs carry
// the trace id; the spans reach a real OTLP/HTTP receiver with the configured headers.
func TestTracingOneTrace(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL and Redis")
	}
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	t.Cleanup(collector.Close)

	cfg := migratedPostgres(t)
	cfg["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.URL
	cfg["OTEL_EXPORTER_OTLP_HEADERS"] = "x-collector-key=s3cr%20et"
	cfg["OTEL_SERVICE_NAME"] = "eusaas-test"
	logs := &lockedBuffer{}
	c := startAppLogging(t, cfg, logs)

	op := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(t)["access_token"].(string)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	tn := c.expect(201, c.do("POST", "/api/v1/tenants", op,
		map[string]any{"name": "Traced", "slug": "traced", "admin_email": "owner@traced.example"},
		"traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")).json(t)
	id := tn["id"].(string)

	// The batch exporter sends every few seconds; wait for the job's span to arrive.
	var spans []*tracepb.Span
	require.Eventually(t, func() bool {
		spans = recv.trace(traceID)
		return spanNamed(spans, "river.work/") != nil
	}, 30*time.Second, 100*time.Millisecond, "the provisioning job's span joins the request's trace")
	var st map[string]any
	require.NoError(t, json.Unmarshal(c.expect(200, c.do("GET", "/api/v1/tenants/"+id, op, nil)).body, &st))

	byID := map[string]*tracepb.Span{}
	for _, s := range spans {
		byID[hex.EncodeToString(s.SpanId)] = s
	}
	server := spanNamed(spans, "POST /api/v1/tenants")
	require.NotNil(t, server, "the HTTP span is named by its route template: %v", spanNames(spans))
	require.Equal(t, tracepb.Span_SPAN_KIND_SERVER, server.Kind)
	require.Equal(t, "00f067aa0ba902b7", hex.EncodeToString(server.ParentSpanId), "the caller's span is the HTTP span's parent")
	require.Equal(t, int64(201), intAttr(server, "http.response.status_code"))
	work := spanNamed(spans, "river.work/")
	require.Equal(t, tracepb.Span_SPAN_KIND_CONSUMER, work.Kind)
	// The work span descends from the HTTP span (through the insert span).
	require.True(t, descendsFrom(work, server, byID), "job span %s under the HTTP span", work.Name)
	var reqSQL, jobSQL int
	for _, s := range spans {
		if s.Kind != tracepb.Span_SPAN_KIND_CLIENT || stringAttr(s, "db.system.name")+stringAttr(s, "db.system") == "" {
			continue
		}
		switch {
		case descendsFrom(s, work, byID):
			jobSQL++
		case descendsFrom(s, server, byID):
			reqSQL++
		}
	}
	t.Logf("trace %s: %d spans (%d SQL under the HTTP span, %d under the job span): %v", traceID, len(spans), reqSQL, jobSQL, spanNames(spans))
	require.Positive(t, reqSQL, "the request's SQL statements are spans under the HTTP span: %v", spanNames(spans))
	require.Positive(t, jobSQL, "the job's SQL statements are spans under the job span")
	for _, s := range spans {
		for _, a := range s.Attributes {
			require.NotContains(t, a.GetValue().GetStringValue(), opPassword, "span %s attribute %s", s.Name, a.Key)
		}
	}

	recv.mu.Lock()
	require.Contains(t, recv.service, "eusaas-test")
	require.Equal(t, "s3cr et", recv.headers[0].Get("x-collector-key"), "OTEL_EXPORTER_OTLP_HEADERS are sent")
	recv.mu.Unlock()
	var logged bool
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"route":"/api/v1/tenants"`) && strings.Contains(line, `"trace_id":"`+traceID+`"`) {
			logged = true
		}
	}
	require.True(t, logged, "the access log line of the traced request carries its trace id")
	require.NotContains(t, logs.String(), "s3cr", "the collector's header value is never logged")
}

func spanNamed(spans []*tracepb.Span, prefix string) *tracepb.Span {
	for _, s := range spans {
		if strings.HasPrefix(s.Name, prefix) {
			return s
		}
	}
	return nil
}

func spanNames(spans []*tracepb.Span) []string {
	var n []string
	for _, s := range spans {
		n = append(n, s.Name)
	}
	return n
}

// descendsFrom follows s's parents within the trace up to anc.
func descendsFrom(s, anc *tracepb.Span, byID map[string]*tracepb.Span) bool {
	for i := 0; s != nil && i < 64; i++ {
		p := hex.EncodeToString(s.ParentSpanId)
		if p == hex.EncodeToString(anc.SpanId) {
			return true
		}
		s = byID[p]
	}
	return false
}

func stringAttr(s *tracepb.Span, key string) string {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.GetValue().GetStringValue()
		}
	}
	return ""
}

func intAttr(s *tracepb.Span, key string) int64 {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.GetValue().GetIntValue()
		}
	}
	return 0
}
