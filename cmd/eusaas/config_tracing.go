package main

import (
	"fmt"
	"net/url"
	"strings"
)

// TracingConfig is OpenTelemetry's standard exporter configuration, read from the variables
// every OpenTelemetry SDK reads (so an operator's collector settings carry over): tracing is
// on when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT is set, and
// costs nothing otherwise (no provider exists, no span is started).
type TracingConfig struct {
	// Endpoint is the full URL spans are POSTed to (OTLP over HTTP with protobuf bodies).
	Endpoint string
	// Headers are sent with every export (OTEL_EXPORTER_OTLP_HEADERS, _TRACES_HEADERS), for
	// collectors that need an API key. Never logged.
	Headers map[string]string
	// ServiceName is the service.name resource attribute (OTEL_SERVICE_NAME, default
	// "eusaas"); Attributes the rest of OTEL_RESOURCE_ATTRIBUTES.
	ServiceName string
	Attributes  map[string]string
}

// Enabled reports whether spans are exported.
func (t TracingConfig) Enabled() bool { return t.Endpoint != "" }

func loadTracingConfig(getenv func(string) string) (TracingConfig, error) {
	var t TracingConfig
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") || strings.EqualFold(getenv("OTEL_TRACES_EXPORTER"), "none") {
		return t, nil
	}
	if e := getenv("OTEL_TRACES_EXPORTER"); e != "" && e != "otlp" {
		return t, &ConfigError{"OTEL_TRACES_EXPORTER", "only otlp (or none) is supported"}
	}
	name := "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	endpoint := getenv(name)
	if endpoint == "" {
		// The base endpoint gets the signal's path appended (OpenTelemetry's exporter
		// specification); the per-signal one is used as it is.
		name = "OTEL_EXPORTER_OTLP_ENDPOINT"
		if base := getenv(name); base != "" {
			endpoint = strings.TrimSuffix(base, "/") + "/v1/traces"
		}
	}
	if endpoint == "" {
		return t, nil
	}
	if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return t, &ConfigError{name, "must be an http(s) URL of an OTLP/HTTP receiver, e.g. http://127.0.0.1:4318"}
	}
	for _, v := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := getenv(v); p != "" {
			if p != "http/protobuf" {
				return t, &ConfigError{v, "only http/protobuf is supported (point it at the collector's OTLP/HTTP port, 4318)"}
			}
			break
		}
	}
	t.Endpoint = endpoint
	var err error
	for _, v := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		if t.Headers, err = mergeKeyValues(t.Headers, getenv(v)); err != nil {
			return TracingConfig{}, &ConfigError{v, err.Error()}
		}
	}
	if t.Attributes, err = mergeKeyValues(nil, getenv("OTEL_RESOURCE_ATTRIBUTES")); err != nil {
		return TracingConfig{}, &ConfigError{"OTEL_RESOURCE_ATTRIBUTES", err.Error()}
	}
	t.ServiceName = getenv("OTEL_SERVICE_NAME")
	if t.ServiceName == "" {
		t.ServiceName = t.Attributes["service.name"]
	}
	if t.ServiceName == "" {
		t.ServiceName = "eusaas"
	}
	return t, nil
}

// mergeKeyValues parses OpenTelemetry's "key1=value1,key2=value2" lists (values
// percent-encoded) into dst. The error never quotes the value: headers carry API keys.
func mergeKeyValues(dst map[string]string, v string) (map[string]string, error) {
	if strings.TrimSpace(v) == "" {
		return dst, nil
	}
	if dst == nil {
		dst = map[string]string{}
	}
	for i, kv := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("entry %d is not key=value", i+1)
		}
		dec, err := url.PathUnescape(strings.TrimSpace(val))
		if err != nil {
			return nil, fmt.Errorf("entry %d has an invalid percent-encoding", i+1)
		}
		dst[k] = dec
	}
	return dst, nil
}
