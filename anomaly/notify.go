package anomaly

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/eusaas/eusaas"
)

// LogNotifier writes each anomaly as one structured log record (WARN; ERROR for HIGH and
// CRITICAL).
type LogNotifier struct{ Logger *slog.Logger }

// Notify implements Notifier. A canceled ctx is reported and nothing is logged, as with
// every other notifier (the caller gave up; anomalytest.RunNotifier checks it).
func (n LogNotifier) Notify(ctx context.Context, a Anomaly) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	level := slog.LevelWarn
	if a.Severity == SeverityHigh || a.Severity == SeverityCritical {
		level = slog.LevelError
	}
	n.Logger.Log(ctx, level, "cost anomaly",
		"tenant_id", a.TenantID.String(), "anomaly_id", a.ID.String(), "day", a.Day.Format(time.DateOnly),
		"service", a.Service, "kind", string(a.Kind), "severity", string(a.Severity),
		"expected", a.Expected.String(), "actual", a.Actual.String(), "impact", a.Impact.String(),
		"description", a.Description)
	return nil
}

// Webhook signature headers. The signature is hex(HMAC-SHA256(secret, timestamp + "." +
// body)) sent as "sha256=<hex>"; receivers recompute it and reject stale timestamps, which
// stops both forgery and replay.
const (
	WebhookSignatureHeader = "X-Eusaas-Signature"
	WebhookTimestampHeader = "X-Eusaas-Timestamp"
)

// WebhookNotifier POSTs each anomaly as JSON to a URL, signed with a shared secret.
type WebhookNotifier struct {
	URL    string
	secret []byte
	client *http.Client
	clock  eusaas.Clock
}

// NewWebhookNotifier returns a notifier posting to url. client nil uses a client with a 10 s
// timeout.
func NewWebhookNotifier(url string, secret []byte, client *http.Client, clock eusaas.Clock) *WebhookNotifier {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	if clock == nil {
		clock = eusaas.SystemClock
	}
	return &WebhookNotifier{URL: url, secret: secret, client: client, clock: clock}
}

// WebhookPayload is the JSON body of a webhook call: the anomaly in the API's shape.
type WebhookPayload struct {
	Event         string                `json:"event"` // "anomaly.detected"
	ID            string                `json:"id"`
	TenantID      string                `json:"tenant_id"`
	Day           string                `json:"day"`
	DetectedAt    time.Time             `json:"detected_at"`
	Severity      string                `json:"severity"`
	Kind          string                `json:"kind"`
	Service       string                `json:"service"`
	Expected      string                `json:"expected_amount"`
	Actual        string                `json:"actual_amount"`
	Impact        string                `json:"impact_amount"`
	DeviationPct  *string               `json:"deviation_pct"`
	Description   string                `json:"description"`
	Contributions []WebhookContribution `json:"contributions,omitempty"`
	// The episode so far (see Anomaly): an episode that grows can alert later on its
	// cumulative impact.
	Status      string `json:"status,omitempty"`
	LastDay     string `json:"last_day,omitempty"`
	TotalImpact string `json:"total_impact,omitempty"`
}

// WebhookContribution is one resource's contribution in a payload.
type WebhookContribution struct {
	Resource string  `json:"resource"`
	Expected string  `json:"expected_amount"`
	Actual   string  `json:"actual_amount"`
	Delta    string  `json:"delta_amount"`
	SharePct *string `json:"share_pct"`
}

// Payload builds the webhook body of a.
func Payload(a Anomaly) WebhookPayload {
	p := WebhookPayload{
		Event: "anomaly.detected", ID: a.ID.String(), TenantID: a.TenantID.String(), Day: a.Day.Format(time.DateOnly),
		DetectedAt: a.DetectedAt.UTC(), Severity: string(a.Severity), Kind: string(a.Kind), Service: a.Service,
		Expected: a.Expected.String(), Actual: a.Actual.String(), Impact: a.Impact.String(), Description: a.Description,
	}
	if a.DeviationPct != nil {
		s := a.DeviationPct.String()
		p.DeviationPct = &s
	}
	if a.Status != "" {
		p.Status, p.LastDay, p.TotalImpact = string(a.Status), a.LastDay.Format(time.DateOnly), a.TotalImpact.String()
	}
	for _, c := range a.Contributions {
		wc := WebhookContribution{Resource: c.Resource, Expected: c.Expected.String(), Actual: c.Actual.String(), Delta: c.Delta.String()}
		if c.SharePct != nil {
			s := c.SharePct.String()
			wc.SharePct = &s
		}
		p.Contributions = append(p.Contributions, wc)
	}
	return p
}

// SignWebhook returns the signature header value for body sent at timestamp ts (Unix seconds).
func SignWebhook(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifyWebhook checks a signature in constant time (for receivers and tests).
func VerifyWebhook(secret []byte, ts string, body []byte, signature string) bool {
	return hmac.Equal([]byte(SignWebhook(secret, ts, body)), []byte(signature))
}

// Notify implements Notifier: any non-2xx answer is an Unavailable error.
func (n *WebhookNotifier) Notify(ctx context.Context, a Anomaly) error {
	body, err := json.Marshal(Payload(a))
	if err != nil {
		return err
	}
	return n.post(ctx, body)
}

// post sends body signed; any non-2xx answer is an Unavailable error.
func (n *WebhookNotifier) post(ctx context.Context, body []byte) error {
	ts := strconv.FormatInt(n.clock.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.URL, bytes.NewReader(body))
	if err != nil {
		return eusaas.E(eusaas.InvalidArgument, "invalid webhook URL").Wrap(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(WebhookTimestampHeader, ts)
	req.Header.Set(WebhookSignatureHeader, SignWebhook(n.secret, ts, body))
	resp, err := n.client.Do(req)
	if err != nil {
		return eusaas.E(eusaas.Unavailable, "webhook unreachable").Wrap(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return eusaas.E(eusaas.Unavailable, fmt.Sprintf("webhook answered %d", resp.StatusCode))
	}
	return nil
}
