package main

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/tenancy"
	"go.yaml.in/yaml/v3"
)

// deployDir is the repository's deploy/ directory, seen from this package.
const deployDir = "../../deploy"

// promqlNoise removes what is not a metric name from a PromQL expression: string literals
// (label values, regexps), label matchers and grouping lists, range and offset durations,
// and Grafana's $variables.
var promqlNoise = []*regexp.Regexp{
	regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`),
	regexp.MustCompile(`\{[^}]*\}`),
	regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`),
	regexp.MustCompile(`\[[^\]]*\]`),
	regexp.MustCompile(`\$\w+`),
}

var (
	promqlIdent    = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	promqlKeywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true,
		"group_right": true, "bool": true, "and": true, "or": true, "unless": true, "offset": true, "inf": true, "nan": true}
	// Prometheus makes these itself at scrape time.
	promSynthetic = map[string]bool{"up": true, "scrape_duration_seconds": true, "scrape_samples_scraped": true}
)

// metricNames extracts the metric names of a PromQL expression: identifiers that are not
// keywords, not functions or aggregations (followed by "("), not numbers.
func metricNames(expr string) []string {
	for _, re := range promqlNoise {
		expr = re.ReplaceAllString(expr, " ")
	}
	var names []string
	for _, loc := range promqlIdent.FindAllStringIndex(expr, -1) {
		id := expr[loc[0]:loc[1]]
		if promqlKeywords[strings.ToLower(id)] {
			continue
		}
		if loc[0] > 0 && (expr[loc[0]-1] >= '0' && expr[loc[0]-1] <= '9' || expr[loc[0]-1] == '.') {
			continue // the exponent of 1e-9
		}
		if rest := strings.TrimLeft(expr[loc[1]:], " \t\n"); strings.HasPrefix(rest, "(") {
			continue
		}
		names = append(names, id)
	}
	return names
}

func TestMetricNames(t *testing.T) {
	got := metricNames(`histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{instance=~"$instance", x="a{b}"}[5m]))) / clamp_min(sum(rate(foo_total [$__rate_interval] offset 1h)), 1e-9) > bool 1 and on(job) up`)
	require.Equal(t, []string{"http_request_duration_seconds_bucket", "foo_total", "up"}, got)
}

// dashboardExprs returns every PromQL expression of the checked-in dashboards and alert
// rules, keyed by where it was found.
func dashboardExprs(t *testing.T) map[string]string {
	t.Helper()
	exprs := map[string]string{}
	files, err := filepath.Glob(filepath.Join(deployDir, "grafana/dashboards/*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no dashboards")
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var d struct {
			UID       string `json:"uid"`
			Title     string `json:"title"`
			Templates struct {
				List []struct {
					Name  string `json:"name"`
					Type  string `json:"type"`
					Query any    `json:"query"`
				} `json:"list"`
			} `json:"templating"`
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		require.NoError(t, json.Unmarshal(raw, &d), f)
		require.NotEmpty(t, d.UID, f)
		require.NotEmpty(t, d.Panels, f)
		for _, v := range d.Templates.List {
			if q, ok := v.Query.(string); ok && v.Type == "query" {
				// label_values(metric, label): the metric is the expression.
				q = strings.TrimSuffix(strings.TrimPrefix(q, "label_values("), ")")
				if i := strings.LastIndex(q, ","); i >= 0 {
					q = q[:i]
				}
				exprs[f+" variable "+v.Name] = q
			}
		}
		for _, p := range d.Panels {
			require.NotEmpty(t, p.Targets, "%s panel %q has no query", f, p.Title)
			for i, tg := range p.Targets {
				require.NotEmpty(t, tg.Expr, "%s panel %q target %d", f, p.Title, i)
				exprs[f+" panel "+p.Title+" #"+string(rune('A'+i))] = tg.Expr
			}
		}
	}
	raw, err := os.ReadFile(filepath.Join(deployDir, "prometheus/rules.yaml"))
	require.NoError(t, err)
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert  string `yaml:"alert"`
				Record string `yaml:"record"`
				Expr   string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &rules))
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Expr, "rule %s%s", r.Alert, r.Record)
			exprs["rules.yaml "+r.Alert+r.Record] = r.Expr
		}
	}
	return exprs
}

// TestDashboardMetricsExported keeps dashboards and alerts from rotting: every metric name
// they query must be on the server's /metrics after it served a few requests.
func TestDashboardMetricsExported(t *testing.T) {
	app := newTestApp(t, nil)
	// A tenant's provisioning job runs, so the job metrics have samples.
	app.createActive(t, tenancy.CreateInput{Name: "Acme", Slug: "acme-metrics", AdminEmail: "owner@acme.eu"})
	srv := httptest.NewServer(app.server.Handler())
	t.Cleanup(srv.Close)
	for _, p := range []string{"/health", "/api/v1/tenants", "/no-such-route", "/openapi.json"} {
		resp, err := http.Get(srv.URL + p)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	resp, err := http.Get(srv.URL + "/metrics")
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	// The Postgres pool and job table exist in Postgres mode only; the Postgres walk-through
	// (endToEndPostgres) checks every dashboard metric, these included.
	requireDashboardMetrics(t, string(body), postgresOnlyMetrics)
}

// postgresOnlyMetrics are exported only in Postgres mode (metrics_postgres.go).
var postgresOnlyMetrics = map[string]bool{
	"pgxpool_connections": true, "pgxpool_max_connections": true, "pgxpool_acquires_total": true,
	"pgxpool_empty_acquires_total": true, "pgxpool_acquire_wait_seconds_total": true,
	"jobs_queued": true, "jobs_in_state": true, "jobs_oldest_available_age_seconds": true, "jobs_queue_scrape_ok": true,
	"audit_uncheckpointed_entries": true, "audit_checkpoint_lag_seconds": true, "gdpr_requests": true, "gdpr_dsr_requests": true,
}

// requireDashboardMetrics fails unless every metric a dashboard or alert rule queries is in
// the /metrics text, but for those in skip.
func requireDashboardMetrics(t *testing.T, metrics string, skip map[string]bool) {
	t.Helper()
	exported := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(metrics))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			exported[line[:i]] = true
		}
	}
	require.NoError(t, sc.Err())
	require.True(t, exported["http_requests_total"], "the exercise produced no HTTP metrics")

	var missing []string
	for where, expr := range dashboardExprs(t) {
		names := metricNames(expr)
		require.NotEmpty(t, names, "%s: no metric in %q", where, expr)
		for _, n := range names {
			if !exported[n] && !promSynthetic[n] && !skip[n] {
				missing = append(missing, where+": "+n)
			}
		}
	}
	sort.Strings(missing)
	require.Empty(t, missing, "metrics used by dashboards or alert rules but not exported")
}

// TestAlertRules runs promtool's rule unit tests (deploy/prometheus/rules_test.yaml).
func TestAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian package prometheus); alert rule unit tests not run")
	}
	dir := filepath.Join(deployDir, "prometheus")
	for _, args := range [][]string{{"check", "rules", "rules.yaml"}, {"test", "rules", "rules_test.yaml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
	}
}

// TestWorkerMetrics: `eusaas worker` serves the same registry on APP_WORKER_METRICS_ADDR, so
// Prometheus scrapes its domain metrics too.
func TestWorkerMetrics(t *testing.T) {
	app := newTestApp(t, nil)
	addr, stop, err := serveWorkerMetrics("127.0.0.1:0", app, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(stop)
	resp, err := http.Get("http://" + addr.String() + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), "gdpr_requests_overdue ")
	require.Contains(t, string(body), "eusaas_audit_forgeries_detected_total ")
	resp, err = http.Get("http://" + addr.String() + "/health/live")
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}
