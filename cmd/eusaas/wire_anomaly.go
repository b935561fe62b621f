package main

import (
	"context"
	"log/slog"
	"strings"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/anomaly/memanomaly"
	"github.com/eusaas/eusaas/tenancy"
)

// AnomalyPorts is what the anomaly module takes from the others; cmd adapts them:
//
//	Series:    billing.Service.DailyCosts, each billing.DailyCost{Day, Resource, Amount}
//	           copied into an anomaly.DailyCost (anomaly.SeriesSourceFunc)
//	Tenants:   anomalyTenants{tenancySvc} (ACTIVE tenants, their anomaly_min_impact and
//	           cost_alert_threshold)
//	Projector: billing.Service.Projection(ctx, tenant, now) -> its projected_total
//	           (anomaly.ProjectorFunc); nil disables budget alerts
//	Notifier:  anomalyNotifier(m.Getenv, log)
//	Recorder:  audit's Service (nil: no audit events)
type AnomalyPorts struct {
	Series    anomaly.SeriesSource
	Tenants   anomaly.TenantLister
	Projector anomaly.Projector
	Notifier  anomaly.Notifier
	Recorder  eusaas.Recorder
}

// anomalyModule is the wired anomaly module: the service behind the HTTP routes and the
// scanner the worker runs daily and `eusaas anomaly scan` runs once.
type anomalyModule struct {
	Service *anomaly.Service
	Scanner *anomaly.Scanner
}

// wireAnomaly builds the anomaly store for the app's mode (memory or the tenant schemas'
// anomalies table), the service and the scanner; wire registers its HTTP routes.
func (a *App) wireAnomaly(p AnomalyPorts) (*anomalyModule, error) {
	var store anomaly.Store
	if a.Memory() {
		s := memanomaly.NewStore()
		a.memSources = append(a.memSources, s)
		a.memRetainers = append(a.memRetainers, gdprDefaultRetainer{s})
		store = s
	} else {
		store = postgres.NewAnomalyStore(a.db)
	}
	svc, err := anomaly.NewService(anomaly.Deps{Store: store, Recorder: p.Recorder}, anomaly.Options{})
	if err != nil {
		return nil, err
	}
	sc := anomaly.NewScanner(p.Series, p.Tenants, store, p.Notifier, anomaly.ScannerOptions{Projector: p.Projector, Logger: a.log})
	return &anomalyModule{Service: svc, Scanner: sc}, nil
}

// anomalyTenants adapts tenancy's ListActive to anomaly.TenantLister: each tenant's
// settings give its minimum impact (anomaly_min_impact) and budget (cost_alert_threshold).
type anomalyTenants struct{ svc *tenancy.Service }

// ActiveTenants implements anomaly.TenantLister.
func (t anomalyTenants) ActiveTenants(ctx context.Context) ([]anomaly.TenantConfig, error) {
	ts, err := t.svc.ListActive(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]anomaly.TenantConfig, 0, len(ts))
	for _, tn := range ts {
		if tn.Status != tenancy.StatusActive { // the port's contract, checked again
			continue
		}
		out = append(out, anomaly.TenantConfig{ID: tn.ID, MinImpact: tn.Settings.AnomalyMinImpact, CostAlertThreshold: tn.Settings.CostAlertThreshold})
	}
	return out, nil
}

// anomalyNotifier builds the notifier from the environment: every anomaly is logged, and
// also POSTed to APP_ANOMALY_WEBHOOK_URL, signed with APP_ANOMALY_WEBHOOK_SECRET (required
// with the URL, at least 16 characters), when that is set.
func anomalyNotifier(getenv func(string) string, log *slog.Logger) (anomaly.Notifier, error) {
	logN := anomaly.LogNotifier{Logger: log}
	url := strings.TrimSpace(getenv("APP_ANOMALY_WEBHOOK_URL"))
	if url == "" {
		return logN, nil
	}
	if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
		return nil, &ConfigError{"APP_ANOMALY_WEBHOOK_URL", "must be an http:// or https:// URL"}
	}
	secret := getenv("APP_ANOMALY_WEBHOOK_SECRET")
	if len(secret) < 16 {
		return nil, &ConfigError{"APP_ANOMALY_WEBHOOK_SECRET", "is required with APP_ANOMALY_WEBHOOK_URL and must be at least 16 characters"}
	}
	hook := anomaly.NewWebhookNotifier(url, []byte(secret), nil, nil)
	return anomaly.NotifierFunc(func(ctx context.Context, a anomaly.Anomaly) error {
		_ = logN.Notify(ctx, a)
		return hook.Notify(ctx, a)
	}), nil
}
