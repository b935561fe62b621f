package anomaly_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly"
)

func TestWebhookNotifierSignsBody(t *testing.T) {
	secret := []byte("s3cret-key")
	type call struct {
		body      []byte
		sig, ts   string
		ctype     string
		userAgent string
	}
	calls := make(chan call, 2)
	status := http.StatusNoContent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		calls <- call{b, r.Header.Get(anomaly.WebhookSignatureHeader), r.Header.Get(anomaly.WebhookTimestampHeader), r.Header.Get("Content-Type"), r.UserAgent()}
		w.WriteHeader(status)
	}))
	defer srv.Close()

	clock := eusaas.NewFakeClock(time.Unix(1774000000, 0))
	n := anomaly.NewWebhookNotifier(srv.URL, secret, srv.Client(), clock)
	tn := newTenant()
	a, _ := anomaly.BudgetAlert(tn, scanned, d("1234.5"), d("1000"))
	require.NoError(t, n.Notify(context.Background(), a))
	c := <-calls
	require.Equal(t, "application/json", c.ctype)
	require.Equal(t, "1774000000", c.ts)
	// Independent computation of the signature: HMAC-SHA256 over "<ts>.<body>".
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("1774000000." + string(c.body)))
	require.Equal(t, "sha256="+hex.EncodeToString(m.Sum(nil)), c.sig)
	require.True(t, anomaly.VerifyWebhook(secret, c.ts, c.body, c.sig))
	require.False(t, anomaly.VerifyWebhook([]byte("other"), c.ts, c.body, c.sig))
	require.False(t, anomaly.VerifyWebhook(secret, "1774000001", c.body, c.sig), "timestamp is signed")
	require.False(t, anomaly.VerifyWebhook(secret, c.ts, bytes.Replace(c.body, []byte("1234.5"), []byte("1.5"), 1), c.sig))

	var p map[string]any
	require.NoError(t, json.Unmarshal(c.body, &p))
	require.Equal(t, "anomaly.detected", p["event"])
	require.Equal(t, tn.String(), p["tenant_id"])
	require.Equal(t, "1234.5", p["actual_amount"], "money as decimal strings")
	require.Equal(t, "BUDGET", p["service"])
	require.NotContains(t, string(c.body), "s3cret", "the secret never travels")

	status = http.StatusInternalServerError
	err := n.Notify(context.Background(), a)
	require.Error(t, err)
	require.Equal(t, eusaas.Unavailable, eusaas.KindOf(err))
	<-calls

	srv.Close()
	err = n.Notify(context.Background(), a)
	require.Equal(t, eusaas.Unavailable, eusaas.KindOf(err))
}

func TestLogNotifier(t *testing.T) {
	var buf bytes.Buffer
	n := anomaly.LogNotifier{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}
	a, _ := anomaly.BudgetAlert(newTenant(), scanned, d("2000"), d("1000"))
	require.NoError(t, n.Notify(context.Background(), a))
	var rec map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &rec))
	require.Equal(t, "cost anomaly", rec["msg"])
	require.Equal(t, "ERROR", rec["level"], "CRITICAL logs at ERROR")
	require.Equal(t, "2000", rec["actual"])
	require.Equal(t, a.ID.String(), rec["anomaly_id"])
}
