package anomalytest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/eusaas/eusaas/anomaly"
)

// WebhookReceiver is a local webhook endpoint for tests of alerting: it accepts a delivery
// only when its signature verifies with the secret (anomaly.VerifyWebhook), records the
// accepted ones (path and body) and counts the refused ones.
type WebhookReceiver struct {
	URL    string // the server's base URL; any path under it is accepted
	secret []byte
	mu     sync.Mutex
	paths  []string
	bodies [][]byte
	bad    int
}

// NewWebhookReceiver starts a receiver on a loopback port, closed when t ends.
func NewWebhookReceiver(t testing.TB, secret string) *WebhookReceiver {
	h := &WebhookReceiver{secret: []byte(secret)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if !anomaly.VerifyWebhook(h.secret, r.Header.Get(anomaly.WebhookTimestampHeader), body, r.Header.Get(anomaly.WebhookSignatureHeader)) {
			h.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		h.paths = append(h.paths, r.URL.Path)
		h.bodies = append(h.bodies, body)
	}))
	t.Cleanup(srv.Close)
	h.URL = srv.URL
	return h
}

// Channels is one webhook channel to path under the receiver, signed with secret.
func (h *WebhookReceiver) Channels(path, secret string) []anomaly.Channel {
	return []anomaly.Channel{{Type: anomaly.ChannelWebhook, URL: h.URL + path, Secret: secret}}
}

// Paths are the paths of the accepted deliveries, in arrival order.
func (h *WebhookReceiver) Paths() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.paths...)
}

// Bodies are the bodies of the accepted deliveries, in arrival order.
func (h *WebhookReceiver) Bodies() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.bodies...)
}

// Refused is how many deliveries failed the signature check.
func (h *WebhookReceiver) Refused() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.bad
}
