package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// schemaPoolCheckEvery is how often the filler looks at the pool of spare tenant schemas.
const schemaPoolCheckEvery = 10 * time.Second

// setupSchemaPool keeps APP_TENANT_SCHEMA_POOL spare tenant schemas ready (Postgres mode,
// issue 19): a new tenant's provisioning job then renames one instead of running every tenant
// migration while requests wait for the same CPU. The filler runs with the job workers (in
// `serve` or `eusaas worker`), one schema at a time; replicas share the pool and never grow it
// past the size (postgres.TenantSchemas.FillPool). The gauge tells operators whether the pool
// is large enough for their bursts of sign-ups.
func (a *App) setupSchemaPool(ctx context.Context) error {
	schemas := a.stores.schemas
	if schemas == nil || a.cfg.TenantSchemaPool <= 0 {
		return nil
	}
	if err := a.registry.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tenant_schema_pool_spares",
		Help: "Spare, fully migrated tenant schemas ready for new tenants (APP_TENANT_SCHEMA_POOL).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		n, err := schemas.PoolSize(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	})); err != nil {
		return err
	}
	size := a.cfg.TenantSchemaPool
	a.background = append(a.background, func(ctx context.Context) { a.fillSchemaPool(ctx, size) })
	return nil
}

// schemaPoolDuty is the share of wall time the filler spends making spares while tenants
// are being created (a spare was taken within schemaPoolBusy) and the pool still holds at
// least schemaPoolLow of its size: after a spare that took d it waits d*(1-duty)/duty. A
// spare is dozens of DDL statements and their WAL; made back to back during a burst of
// sign-ups they keep a core and the disk busy for as long as the refill lasts, and every
// request's tail pays for it. Paced, the refill takes longer and the requests keep most of
// the machine. When no tenant was created for a while (the first fill at start included) and
// when the pool is about to run out (an empty pool puts the whole DDL back on the
// provisioning path) the filler works at full speed.
const (
	schemaPoolDuty = 0.25
	schemaPoolLow  = 0.25
	schemaPoolBusy = time.Minute
)

// fillSchemaPool keeps the pool at size until ctx ends.
func (a *App) fillSchemaPool(ctx context.Context, size int) {
	schemas := a.stores.schemas
	tick := time.NewTicker(schemaPoolCheckEvery)
	defer tick.Stop()
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	var lastTaken time.Time
	prev := -1
	for {
		made := 0
		for ctx.Err() == nil {
			spares, err := schemas.PoolSize(ctx)
			if err != nil {
				if ctx.Err() == nil {
					a.log.Warn("tenant schema pool: counting spare schemas", "error", err.Error())
				}
				break
			}
			if prev >= 0 && spares < prev {
				lastTaken = time.Now() // a provisioning took a spare since the last look
			}
			start := time.Now()
			ok, err := schemas.AddSpare(ctx, size)
			if err != nil {
				if ctx.Err() == nil {
					a.log.Warn("tenant schema pool: creating a spare schema", "error", err.Error(), "made", made)
				}
				break
			}
			if !ok {
				prev = spares
				break
			}
			made++
			prev = spares + 1
			busy := !lastTaken.IsZero() && time.Since(lastTaken) < schemaPoolBusy
			if busy && float64(spares) >= schemaPoolLow*float64(size) {
				took := time.Since(start)
				if !wait(time.Duration(float64(took) * (1 - schemaPoolDuty) / schemaPoolDuty)) {
					return
				}
			}
		}
		if made > 0 {
			a.log.Info("tenant schema pool: spare schemas created", "made", made, "size", size)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
