package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/adapters/metering"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/membilling"
	"github.com/eusaas/eusaas/jobs"
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
	billingMaintainEvery = 6 * time.Hour
)

// wireBilling builds the billing service on the mode's stores, registers its routes on
// a.server (which must exist), counts API calls through the server's OnTenantRequest hook
// and starts the meters: API-call flush every minute; in Postgres mode the daily storage
// meter; when APP_PROMETHEUS_URL is set the hourly Prometheus collector; and a maintenance
// loop (dedup purge after the retention, overdue sweep).
// The loops stop, after a final API call flush, when the App closes.
func (a *App) wireBilling(ctx context.Context, deps billingDeps) (*billing.Service, error) {
	bd := billing.Deps{Tx: a.tx, Recorder: deps.Recorder, Thresholds: deps.Thresholds}
	var sizer metering.SchemaSizer
	if a.db != nil {
		usage := postgres.NewBillingUsageStore(a.db)
		sizer = usage
		bd.Usage, bd.Invoices, bd.Prices = usage, postgres.NewBillingInvoiceStore(a.db), postgres.NewBillingPriceStore(a.db)
	} else {
		usage, invoices, prices := membilling.NewUsageStore(), membilling.NewInvoiceStore(), membilling.NewPriceStore()
		a.memSources = append(a.memSources, usage, invoices, prices)
		bd.Usage, bd.Invoices, bd.Prices = usage, invoices, prices
	}
	svc, err := billing.NewService(bd, billing.Options{})
	if err != nil {
		return nil, err
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

	// Storage metering and the maintenance sweep are periodic jobs on the queue (River in
	// Postgres mode, so one replica runs each occurrence, retried on failure).
	if deps.Tenants != nil {
		if sizer != nil {
			m := metering.NewStorageMeter(svc, sizer, deps.Tenants, nil, a.log)
			a.jobs.Registry.Handle("billing.storage", func(ctx context.Context, _ jobs.Job) error {
				_, err := m.Measure(ctx)
				return err
			})
			a.jobs.Registry.Every(jobs.Periodic{Name: "billing.storage", Kind: "billing.storage", Schedule: jobs.Daily{Hour: 0}})
		}
		a.jobs.Registry.Handle("billing.maintenance", func(ctx context.Context, _ jobs.Job) error {
			return billingMaintain(ctx, svc, deps.Tenants)
		})
		a.jobs.Registry.Every(jobs.Periodic{Name: "billing.maintenance", Kind: "billing.maintenance", Schedule: jobs.Interval(billingMaintainEvery)})
	}
	// The Prometheus collector polls an outside server continuously; it runs beside the job
	// workers (serve with in-process jobs, or worker).
	if a.cfg.PrometheusURL != "" {
		pc, err := metering.NewPrometheusCollector(a.cfg.PrometheusURL, svc, metering.PrometheusOptions{Logger: a.log})
		if err != nil {
			return nil, &ConfigError{"APP_PROMETHEUS_URL", "must be an http(s) URL"}
		}
		a.background = append(a.background, pc.Run)
		a.log.Info("billing: collecting CPU, MEMORY and NETWORK usage from Prometheus")
	}
	return svc, nil
}

// billingMaintain purges expired dedup rows and marks overdue invoices, for every tenant.
// A failing tenant does not stop the others; the job fails (and is retried) if any did.
func billingMaintain(ctx context.Context, svc *billing.Service, tenants metering.TenantLister) error {
	ids, err := tenants(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range ids {
		if _, err := svc.PurgeDedup(ctx, t); err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: dedup purge: %w", t, err))
		}
		if _, err := svc.MarkOverdue(ctx, t); err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: overdue sweep: %w", t, err))
		}
	}
	return errors.Join(errs...)
}
