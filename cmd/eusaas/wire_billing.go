package main

import (
	"context"
	"sync"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/adapters/memory"
	"github.com/eusaas/eusaas/adapters/metering"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/billing"
)

// billingDeps is what the billing wiring takes from other modules; nil fields are simply not
// used (no audit of invoice transitions, no budget signal, no storage metering/maintenance).
type billingDeps struct {
	Recorder   eusaas.Recorder         // the audit service
	Thresholds billing.ThresholdSource // tenancy settings' cost_alert_threshold, adapted
	Tenants    metering.TenantLister   // ids of the ACTIVE tenants (tenancy ListActive)
}

// Intervals of the billing background loops.
const (
	billingAPIFlushEvery = time.Minute
	billingStorageEvery  = time.Hour
	billingMaintainEvery = 6 * time.Hour
)

// wireBilling builds the billing service on the mode's stores, registers its routes on
// a.server (which must exist), counts API calls through the server's OnTenantRequest hook
// and starts the meters: API-call flush every minute; in Postgres mode the daily storage
// meter; when APP_PROMETHEUS_URL is set the hourly Prometheus collector; and a maintenance
// loop (dedup purge after the retention, overdue sweep).
// The loops stop, after a final API call flush, when the App closes.
func (a *App) wireBilling(ctx context.Context, deps billingDeps) (*billing.Service, error) {
	opts := billing.Options{Tx: a.tx, Recorder: deps.Recorder, Thresholds: deps.Thresholds}
	var svc *billing.Service
	var sizer metering.SchemaSizer
	if a.db != nil {
		usage := postgres.NewBillingUsageStore(a.db)
		sizer = usage
		svc = billing.NewService(usage, postgres.NewBillingInvoiceStore(a.db), postgres.NewBillingPriceStore(a.db), opts)
	} else {
		usage, invoices, prices := memory.NewBillingUsageStore(), memory.NewBillingInvoiceStore(), memory.NewBillingPriceStore()
		a.memSources = append(a.memSources, usage, invoices, prices)
		svc = billing.NewService(usage, invoices, prices, opts)
	}
	httpapi.RegisterBilling(a.server, svc)

	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	run := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	a.closers = append(a.closers, func() { cancel(); wg.Wait() })

	counter := metering.NewAPICounter(svc, nil, a.log)
	a.server.OnTenantRequest(counter.Hook)
	run(func() { counter.Run(bg, billingAPIFlushEvery) })

	if deps.Tenants != nil {
		if sizer != nil {
			m := metering.NewStorageMeter(svc, sizer, deps.Tenants, nil, a.log)
			run(func() { m.Run(bg, billingStorageEvery) })
		}
		run(func() { billingMaintain(bg, a, svc, deps.Tenants) })
	}
	if a.cfg.PrometheusURL != "" {
		pc, err := metering.NewPrometheusCollector(a.cfg.PrometheusURL, svc, metering.PrometheusOptions{Logger: a.log})
		if err != nil {
			return nil, &ConfigError{"APP_PROMETHEUS_URL", "must be an http(s) URL"}
		}
		run(func() { pc.Run(bg) })
		a.log.Info("billing: collecting CPU, MEMORY and NETWORK usage from Prometheus")
	}
	return svc, nil
}

// billingMaintain purges expired dedup rows and marks overdue invoices, for every tenant,
// at start and then periodically. (Monthly drafting and issuing is the app's
// billing.invoices job.)
func billingMaintain(ctx context.Context, a *App, svc *billing.Service, tenants metering.TenantLister) {
	tick := time.NewTicker(billingMaintainEvery)
	defer tick.Stop()
	for {
		ids, err := tenants(ctx)
		if err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "billing maintenance: listing tenants failed", "error", err.Error())
		}
		for _, t := range ids {
			if _, err := svc.PurgeDedup(ctx, t); err != nil && ctx.Err() == nil {
				a.log.WarnContext(ctx, "billing maintenance: dedup purge failed", "tenant", t.String(), "error", err.Error())
			}
			if _, err := svc.MarkOverdue(ctx, t); err != nil && ctx.Err() == nil {
				a.log.WarnContext(ctx, "billing maintenance: overdue sweep failed", "tenant", t.String(), "error", err.Error())
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
