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
	a.background = append(a.background, func(ctx context.Context) {
		tick := time.NewTicker(schemaPoolCheckEvery)
		defer tick.Stop()
		for {
			made, err := schemas.FillPool(ctx, size)
			if err != nil && ctx.Err() == nil {
				a.log.Warn("tenant schema pool: creating spare schemas", "error", err.Error(), "made", made)
			} else if made > 0 {
				a.log.Info("tenant schema pool: spare schemas created", "made", made, "size", size)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
	return nil
}
