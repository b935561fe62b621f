package anomaly_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/anomaly/anomalytest"
)

// notifyReceiver collects accepted deliveries.
type notifyReceiver struct {
	mu  sync.Mutex
	got []anomalytest.Delivery
}

func (r *notifyReceiver) add(d anomalytest.Delivery) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, d)
}

func (r *notifyReceiver) all() []anomalytest.Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]anomalytest.Delivery(nil), r.got...)
}

func TestConformanceWebhookNotifier(t *testing.T) {
	anomalytest.RunNotifier(t, anomalytest.NotifierHarness{
		Features: anomalytest.NotifierFeatures{CanFail: true},
		New: func(t *testing.T) anomalytest.NotifierEnv {
			secret := []byte("conformance-secret")
			rec := &notifyReceiver{}
			var failing atomic.Bool
			// The receiver a customer would write: check the signature and the timestamp's
			// freshness (documented scheme), then accept.
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, err := io.ReadAll(r.Body)
				ts := r.Header.Get(anomaly.WebhookTimestampHeader)
				sec, tsErr := strconv.ParseInt(ts, 10, 64)
				if err != nil || tsErr != nil || r.Method != http.MethodPost ||
					time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute ||
					!notifyValidSignature(secret, ts, body, r.Header.Get(anomaly.WebhookSignatureHeader)) {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				if failing.Load() {
					w.WriteHeader(http.StatusInternalServerError)
					return
				}
				var p anomaly.WebhookPayload
				if json.Unmarshal(body, &p) != nil || p.Event != "anomaly.detected" {
					w.WriteHeader(http.StatusBadRequest)
					return
				}
				rec.add(anomalytest.Delivery{AnomalyID: p.ID, TenantID: p.TenantID, Day: p.Day, Service: p.Service,
					Kind: p.Kind, Severity: p.Severity, Expected: p.Expected, Actual: p.Actual, Impact: p.Impact,
					Description: p.Description})
				w.WriteHeader(http.StatusNoContent)
			}))
			t.Cleanup(srv.Close)
			return anomalytest.NotifierEnv{
				Notifier:   anomaly.NewWebhookNotifier(srv.URL, secret, srv.Client(), nil),
				Deliveries: rec.all,
				Fail:       func() { failing.Store(true) },
			}
		},
	})
}

// notifyValidSignature recomputes the documented signature, "sha256=" + hex(HMAC-SHA256(
// secret, ts + "." + body)), independently of anomaly.SignWebhook: a receiver using the
// adapter's own helper would accept whatever the adapter got wrong.
func notifyValidSignature(secret []byte, ts string, body []byte, got string) bool {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "."))
	m.Write(body)
	return hmac.Equal([]byte("sha256="+hex.EncodeToString(m.Sum(nil))), []byte(got))
}

// notifyCapture is a slog.Handler keeping each record's attributes as text.
type notifyCapture struct{ rec *notifyReceiver }

func (notifyCapture) Enabled(context.Context, slog.Level) bool { return true }
func (h notifyCapture) Handle(_ context.Context, r slog.Record) error {
	attrs := map[string]string{}
	r.Attrs(func(a slog.Attr) bool {
		attrs[a.Key] = a.Value.String()
		return true
	})
	if r.Message != "cost anomaly" {
		return nil
	}
	h.rec.add(anomalytest.Delivery{AnomalyID: attrs["anomaly_id"], TenantID: attrs["tenant_id"], Day: attrs["day"],
		Service: attrs["service"], Kind: attrs["kind"], Severity: attrs["severity"], Expected: attrs["expected"],
		Actual: attrs["actual"], Impact: attrs["impact"], Description: attrs["description"]})
	return nil
}
func (h notifyCapture) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h notifyCapture) WithGroup(string) slog.Handler      { return h }

func TestConformanceLogNotifier(t *testing.T) {
	anomalytest.RunNotifier(t, anomalytest.NotifierHarness{
		New: func(t *testing.T) anomalytest.NotifierEnv {
			rec := &notifyReceiver{}
			return anomalytest.NotifierEnv{
				Notifier:   anomaly.LogNotifier{Logger: slog.New(notifyCapture{rec})},
				Deliveries: rec.all,
			}
		},
	})
}
