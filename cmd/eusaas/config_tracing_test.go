package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTracingConfig(t *testing.T) {
	load := func(vars map[string]string) (TracingConfig, error) {
		return loadTracingConfig(func(k string) string { return vars[k] })
	}
	off, err := load(nil)
	require.NoError(t, err)
	require.False(t, off.Enabled(), "no endpoint, no tracing")

	base, err := load(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318/"})
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:4318/v1/traces", base.Endpoint, "the base endpoint gets the signal path")
	require.Equal(t, "eusaas", base.ServiceName)

	signal, err := load(map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":        "http://ignored:4318",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://collector.example/custom",
		"OTEL_EXPORTER_OTLP_HEADERS":         "a=1,b=x%2Cy",
		"OTEL_EXPORTER_OTLP_TRACES_HEADERS":  "a=2",
		"OTEL_RESOURCE_ATTRIBUTES":           "service.name=from-attrs,deployment.environment=prod",
	})
	require.NoError(t, err)
	require.Equal(t, "https://collector.example/custom", signal.Endpoint, "the per-signal endpoint is used as it is")
	require.Equal(t, map[string]string{"a": "2", "b": "x,y"}, signal.Headers, "per-signal headers win; values percent-decoded")
	require.Equal(t, "from-attrs", signal.ServiceName)

	disabled, err := load(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"})
	require.NoError(t, err)
	require.False(t, disabled.Enabled())

	for name, vars := range map[string]map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":       {"OTEL_EXPORTER_OTLP_ENDPOINT": "127.0.0.1:4317"},
		"OTEL_EXPORTER_OTLP_PROTOCOL":       {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
		"OTEL_EXPORTER_OTLP_HEADERS":        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_HEADERS": "api-key"},
		"OTEL_TRACES_EXPORTER":              {"OTEL_TRACES_EXPORTER": "zipkin"},
		"OTEL_EXPORTER_OTLP_TRACES_HEADERS": {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "k=%zz-topsecret"},
	} {
		_, err := load(vars)
		var ce *ConfigError
		require.ErrorAs(t, err, &ce, name)
		require.Equal(t, name, ce.Var)
		require.NotContains(t, err.Error(), "topsecret", "a header value is never quoted")
	}
}
