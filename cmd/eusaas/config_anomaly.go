package main

import (
	"context"
	"log/slog"
	"strings"

	"github.com/eusaas/eusaas/anomaly"
)

// anomalyWebhook is where new anomalies are POSTed (APP_ANOMALY_WEBHOOK_URL), signed with
// APP_ANOMALY_WEBHOOK_SECRET (required with the URL, at least 16 characters).
type anomalyWebhook struct {
	URL    string
	Secret string
}

func loadAnomalyWebhook(getenv func(string) string) (anomalyWebhook, error) {
	w := anomalyWebhook{URL: strings.TrimSpace(getenv("APP_ANOMALY_WEBHOOK_URL"))}
	if w.URL == "" {
		return w, nil
	}
	if !strings.HasPrefix(w.URL, "https://") && !strings.HasPrefix(w.URL, "http://") {
		return w, &ConfigError{"APP_ANOMALY_WEBHOOK_URL", "must be an http:// or https:// URL"}
	}
	w.Secret = getenv("APP_ANOMALY_WEBHOOK_SECRET")
	if len(w.Secret) < 16 {
		return w, &ConfigError{"APP_ANOMALY_WEBHOOK_SECRET", "is required with APP_ANOMALY_WEBHOOK_URL and must be at least 16 characters"}
	}
	return w, nil
}

// notifier logs every anomaly and, when the webhook is configured, also POSTs it.
func (w anomalyWebhook) notifier(log *slog.Logger) anomaly.Notifier {
	logN := anomaly.LogNotifier{Logger: log}
	if w.URL == "" {
		return logN
	}
	hook := anomaly.NewWebhookNotifier(w.URL, []byte(w.Secret), nil, nil)
	return anomaly.NotifierFunc(func(ctx context.Context, a anomaly.Anomaly) error {
		_ = logN.Notify(ctx, a)
		return hook.Notify(ctx, a)
	})
}

// anomalyNotifier reads the webhook settings and builds the notifier.
func anomalyNotifier(getenv func(string) string, log *slog.Logger) (anomaly.Notifier, error) {
	w, err := loadAnomalyWebhook(getenv)
	if err != nil {
		return nil, err
	}
	return w.notifier(log), nil
}
