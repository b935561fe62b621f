package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/gdpr"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	c, err := LoadConfig(env(nil))
	require.NoError(t, err)
	require.Nil(t, c.Postgres, "no APP_POSTGRES_* means memory mode")
	require.Equal(t, ":8000", c.HTTPAddr)
	require.Equal(t, 15, c.AccessTokenMinutes)
	require.Equal(t, 7, c.RefreshTokenDays)
	require.Equal(t, "eu-multi-tenant-platform", c.JWTIssuer)

	c, err = LoadConfig(env(map[string]string{"APP_POSTGRES_PASSWORD": "s3cret"}))
	require.NoError(t, err)
	require.NotNil(t, c.Postgres, "any APP_POSTGRES_* selects Postgres mode")
	require.Equal(t, PostgresConfig{Host: "localhost", Port: 5432, User: "postgres", Password: "s3cret", DB: "eu_multitenant"}, *c.Postgres)
}

func TestLoadConfigTrustedProxies(t *testing.T) {
	c, err := LoadConfig(env(nil))
	require.NoError(t, err)
	require.Empty(t, c.TrustedProxies, "no proxy is trusted by default")
	c, err = LoadConfig(env(map[string]string{"APP_TRUSTED_PROXIES": " 10.1.2.3/8, 192.168.1.10 ,fd00::/8,"}))
	require.NoError(t, err)
	require.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.10/32"),
		netip.MustParsePrefix("fd00::/8")}, c.TrustedProxies)
	for _, bad := range []string{"10.0.0.0/33", "::ffff:10.0.0.0/104", "fe80::1%eth0", "*"} {
		_, err = LoadConfig(env(map[string]string{"APP_TRUSTED_PROXIES": bad}))
		require.ErrorContains(t, err, "APP_TRUSTED_PROXIES", bad)
	}
}

func TestLoadConfigNamesTheBadVariable(t *testing.T) {
	bad := map[string]map[string]string{
		"APP_POSTGRES_PORT":            {"APP_POSTGRES_PORT": "abc"},
		"APP_JWT_ACCESS_TOKEN_MINUTES": {"APP_JWT_ACCESS_TOKEN_MINUTES": "0"},
		"APP_JWT_REFRESH_TOKEN_DAYS":   {"APP_JWT_REFRESH_TOKEN_DAYS": "-1"},
		"APP_LOG_LEVEL":                {"APP_LOG_LEVEL": "LOUD"},
		"APP_HTTP_ADDR":                {"APP_HTTP_ADDR": "8000"},
		"APP_REDIS_URL":                {"APP_REDIS_URL": "http://x"},
		"APP_PROMETHEUS_URL":           {"APP_PROMETHEUS_URL": "ftp://x"},
		"APP_BOOTSTRAP_ADMIN_PASSWORD": {"APP_BOOTSTRAP_ADMIN_EMAIL": "a@b.c"},
		"APP_JWT_PUBLIC_KEY":           {"APP_JWT_PRIVATE_KEY": "-----BEGIN"},
		"APP_TRUSTED_PROXIES":          {"APP_TRUSTED_PROXIES": "10.0.0.0/8,proxy.internal"},
		"APP_SMTP_URL":                 {"APP_SMTP_URL": "imap://mailer:BEGIN-secret@mail.example"},
	}
	for name, vars := range bad {
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			m := &Main{Stdout: io.Discard, Stderr: &stderr, Getenv: env(vars)}
			code := m.Run(context.Background(), []string{"serve"})
			require.NotZero(t, code)
			require.Contains(t, stderr.String(), name)
			for _, v := range vars {
				if strings.Contains(v, "BEGIN") {
					require.NotContains(t, stderr.String(), v, "secret values are never printed")
				}
			}
		})
	}
}

func TestVersionAndUsage(t *testing.T) {
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb, Getenv: env(nil)}
	require.Equal(t, 0, m.Run(context.Background(), []string{"version"}))
	require.NotEmpty(t, strings.TrimSpace(out.String()))
	require.Equal(t, 2, m.Run(context.Background(), nil))
	require.Equal(t, 2, m.Run(context.Background(), []string{"frobnicate"}))
	require.Contains(t, errb.String(), "unknown command")
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeMemoryModeAndGracefulShutdown starts the real server with no configuration,
// checks /health, then cancels the context (what SIGINT/SIGTERM do) and expects a clean exit.
func TestServeMemoryModeAndGracefulShutdown(t *testing.T) {
	var logs syncBuffer
	ready := make(chan string, 1)
	m := &Main{Stdout: io.Discard, Stderr: &logs, Getenv: env(map[string]string{"APP_HTTP_ADDR": "127.0.0.1:0"}),
		Ready: func(addr string) { ready <- addr }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- m.Run(ctx, []string{"serve"}) }()
	var addr string
	select {
	case addr = <-ready:
	case code := <-done:
		t.Fatalf("serve exited early with %d: %s", code, logs.String())
	case <-time.After(10 * time.Second):
		t.Fatal("server not ready within 10 s")
	}
	resp, err := http.Get("http://" + addr + "/health")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, "%s", body)
	require.Contains(t, logs.String(), "in-memory adapters")

	cancel()
	select {
	case code := <-done:
		require.Equal(t, 0, code, logs.String())
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop within the drain period")
	}
	require.Contains(t, logs.String(), "stopped")
	_, err = http.Get("http://" + addr + "/health")
	require.Error(t, err, "no longer accepting connections")
}

// TestPeriodicSchedules: the wired app schedules every recurring duty on the job queue.
func TestPeriodicSchedules(t *testing.T) {
	app := newTestApp(t, nil)
	var names []string
	for _, p := range app.Jobs().Periodics() {
		names = append(names, p.Name)
		_, ok := app.Jobs().Handler(p.Kind)
		require.True(t, ok, "periodic %s has a handler", p.Name)
	}
	for _, want := range []string{"anomaly.scan", "billing.invoices", "billing.maintenance", "tenancy.fail_stalled",
		gdpr.JobRetention, gdpr.JobCleanupExports, gdpr.JobShredKeys} {
		require.Contains(t, names, want)
	}
}
