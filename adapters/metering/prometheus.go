package metering

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
)

// DefaultPromQueries turn per-tenant container metrics (labelled tenant_id) into one hour
// of usage in billing units, evaluated at the end of the hour: CPU seconds / 3600 =
// vCPU-hours; the hour's average working set in GB = GB-hours; bytes received and sent / 10^9
// = GB. Override them to match your metric and label names.
var DefaultPromQueries = map[billing.ResourceType]string{
	billing.CPU:    `sum by (tenant_id) (increase(container_cpu_usage_seconds_total{tenant_id!=""}[1h])) / 3600`,
	billing.Memory: `sum by (tenant_id) (avg_over_time(container_memory_working_set_bytes{tenant_id!=""}[1h])) / 1e9`,
	billing.Network: `(sum by (tenant_id) (increase(container_network_receive_bytes_total{tenant_id!=""}[1h])) + ` +
		`sum by (tenant_id) (increase(container_network_transmit_bytes_total{tenant_id!=""}[1h]))) / 1e9`,
}

// PrometheusCollector reads CPU (vCPU-hours), MEMORY (GB-hours) and NETWORK (GB) per tenant
// for one closed hour from a Prometheus server's HTTP query API (GET /api/v1/query, instant
// queries evaluated at the end of the hour) and ingests them. Event ids are
// "prom:<RESOURCE>:<hour end, unix seconds>", so collecting the same hour twice (a retry,
// two replicas) is a duplicate.
//
// Prometheus samples are float64 inside Prometheus; the collector parses the sample's
// decimal text without converting it to a float and rounds it to 12 fractional digits.
type PrometheusCollector struct {
	base    *url.URL
	client  *http.Client
	ing     Ingester
	queries map[billing.ResourceType]string
	label   string
	clock   eusaas.Clock
	log     *slog.Logger
}

// PrometheusOptions configure a collector; zero values take defaults.
type PrometheusOptions struct {
	Client  *http.Client                    // default: 10 s timeout
	Queries map[billing.ResourceType]string // default DefaultPromQueries
	Label   string                          // tenant label, default "tenant_id"
	Clock   eusaas.Clock
	Logger  *slog.Logger
}

// NewPrometheusCollector returns a collector for the Prometheus server at baseURL
// (APP_PROMETHEUS_URL, e.g. http://prometheus:9090).
func NewPrometheusCollector(baseURL string, ing Ingester, o PrometheusOptions) (*PrometheusCollector, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, eusaas.E(eusaas.InvalidArgument, "prometheus url must be an http(s) URL")
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Queries == nil {
		o.Queries = DefaultPromQueries
	}
	if o.Label == "" {
		o.Label = "tenant_id"
	}
	if o.Clock == nil {
		o.Clock = eusaas.SystemClock
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &PrometheusCollector{base: u, client: o.Client, ing: ing, queries: o.Queries, label: o.Label, clock: o.Clock, log: o.Logger}, nil
}

// promResponse is the query API's envelope.
type promResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  []json.RawMessage `json:"value"` // [unix time (number), "value" (string)]
		} `json:"result"`
	} `json:"data"`
}

// Query runs one instant query at t and returns the tenant label -> exact sample value.
// Samples that are NaN, infinite, negative or unparsable are skipped.
func (c *PrometheusCollector) Query(ctx context.Context, query string, t time.Time) (map[string]decimal.Decimal, error) {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/api/v1/query"
	q := url.Values{}
	q.Set("query", query)
	q.Set("time", strconv.FormatInt(t.Unix(), 10))
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, eusaas.E(eusaas.Unavailable, "prometheus unreachable").Wrap(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, eusaas.E(eusaas.Unavailable, "prometheus response unreadable").Wrap(err)
	}
	var pr promResponse
	if err := json.Unmarshal(body, &pr); err != nil {
		return nil, eusaas.Errorf(eusaas.Unavailable, "prometheus answered %d with a non-API body", resp.StatusCode)
	}
	if pr.Status != "success" {
		return nil, eusaas.Errorf(eusaas.Unavailable, "prometheus query failed: %s: %s", pr.ErrorType, pr.Error)
	}
	if pr.Data.ResultType != "vector" {
		return nil, eusaas.Errorf(eusaas.Unavailable, "prometheus query returned %q, want vector", pr.Data.ResultType)
	}
	out := map[string]decimal.Decimal{}
	for _, s := range pr.Data.Result {
		tenant := s.Metric[c.label]
		if tenant == "" || len(s.Value) != 2 {
			continue
		}
		var text string
		if err := json.Unmarshal(s.Value[1], &text); err != nil {
			continue
		}
		v, err := decimal.NewFromString(text) // "NaN", "+Inf" fail here and are skipped
		if err != nil || v.IsNegative() {
			continue
		}
		out[tenant] = out[tenant].Add(v.Round(12))
	}
	return out, nil
}

// Collect ingests the usage of the hour ending at hourEnd (truncated to the hour) and
// reports how many events were ingested (accepted or duplicate). Samples whose label is not
// a tenant id are ignored.
func (c *PrometheusCollector) Collect(ctx context.Context, hourEnd time.Time) (int, error) {
	hourEnd = hourEnd.UTC().Truncate(time.Hour)
	byTenant := map[eusaas.TenantID][]billing.UsageEvent{}
	for _, r := range billing.ResourceTypes {
		q, ok := c.queries[r]
		if !ok {
			continue
		}
		vals, err := c.Query(ctx, q, hourEnd)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", r, err)
		}
		for label, v := range vals {
			t, err := eusaas.ParseTenantID(label)
			if err != nil || v.IsZero() {
				continue
			}
			byTenant[t] = append(byTenant[t], billing.UsageEvent{
				ID:           fmt.Sprintf("prom:%s:%d", r, hourEnd.Unix()),
				ResourceType: r, Quantity: v, Timestamp: hourEnd.Add(-time.Nanosecond),
				Attributes: map[string]string{"source": "prometheus", "window": "1h"},
			})
		}
	}
	n := 0
	var first error
	for t, evs := range byTenant {
		res, err := c.ing.Ingest(ctx, t, evs)
		if err != nil {
			c.log.WarnContext(ctx, "prometheus usage ingest failed", "tenant", t.String(), "error", err.Error())
			if first == nil {
				first = err
			}
			continue
		}
		n += res.Accepted + res.Duplicates
	}
	return n, first
}

// Run collects the last closed hour at start and at every hour boundary until ctx ends. A
// failed hour is retried at the next run together with the current one (its ids are
// deterministic), for up to 24 hours back.
func (c *PrometheusCollector) Run(ctx context.Context) {
	var failed []time.Time
	for {
		hour := c.clock.Now().UTC().Truncate(time.Hour)
		var still []time.Time
		for _, h := range append(failed, hour) {
			if hour.Sub(h) > 24*time.Hour {
				continue
			}
			if _, err := c.Collect(ctx, h); err != nil && ctx.Err() == nil {
				c.log.WarnContext(ctx, "prometheus collection failed; will retry", "hour", h.Format(time.RFC3339), "error", err.Error())
				still = append(still, h)
			}
		}
		failed = still
		wait := time.Until(hour.Add(time.Hour + time.Minute)) // a minute of slack for late scrapes
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
