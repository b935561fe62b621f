package main

import (
	"context"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/adapters/redis"
	"github.com/eusaas/eusaas/jobs"
	"github.com/eusaas/eusaas/tenancy"
	"github.com/eusaas/eusaas/tenancy/memtenancy"
)

// wireTenancy builds the tenancy service on the app's stores: memory registry and
// provisioner in memory mode; Postgres registry, tenant schemas and the Redis cache
// otherwise. rec is the audit recorder (audit's Service), inv the owner invitation issuer
// (auth's Service); either may be nil until that module is wired. The returned service is
// the server's TenantGate and what auth's TenantResolver and gdpr's ports adapt.
func (a *App) wireTenancy(rec eusaas.Recorder, inv tenancy.InvitationIssuer) (*tenancy.Service, error) {
	deps := tenancy.Deps{Recorder: rec, Tx: a.tx, Invitations: inv}
	opts := tenancy.Options{Logger: a.log}
	migs, err := postgres.TenantMigrations()
	if err != nil {
		return nil, err
	}
	if a.Memory() {
		// No cache in memory mode: the store is already in process.
		latest := 0
		if len(migs) > 0 {
			latest = migs[len(migs)-1].Version
		}
		deps.Store, deps.Provisioner = memtenancy.NewStore(), memtenancy.NewProvisioner(latest)
		return tenancy.NewService(deps, opts)
	}
	schemas, err := postgres.NewTenantSchemas(a.db, migs)
	if err != nil {
		return nil, err
	}
	deps.Store, deps.Provisioner = postgres.NewTenantStore(a.db), schemas
	deps.Cache = redis.NewTenantCache(a.rdb, redis.TenantCacheOptions{Prefix: a.cfg.RedisKeyPrefix, TTL: 5 * time.Minute})
	return tenancy.NewService(deps, opts)
}

// registerTenancyRoutes adds the tenant endpoints to the app's server.
func (a *App) registerTenancyRoutes(svc *tenancy.Service) {
	httpapi.RegisterTenancy(a.server, svc)
}

// tenancyStalledAfter is how long a tenant may stay PENDING or PROVISIONING before the
// periodic job decides its provisioning died with its process; far above any real
// provisioning (milliseconds to seconds).
const tenancyStalledAfter = 30 * time.Minute

// registerTenancyJobs adds the hourly job that ends tenants stranded mid-provisioning by a
// crash (Service.FailStalled): schema dropped, DELETED with the reason, slug free again.
func (a *App) registerTenancyJobs() {
	a.jobs.Registry.Handle("tenancy.fail_stalled", func(ctx context.Context, _ jobs.Job) error {
		n, err := a.tenancy.FailStalled(ctx, tenancyStalledAfter)
		if n > 0 {
			a.log.WarnContext(ctx, "ended tenants whose provisioning was interrupted", "count", n)
		}
		return err
	})
	a.jobs.Registry.Every(jobs.Periodic{Name: "tenancy.fail_stalled", Kind: "tenancy.fail_stalled", Schedule: jobs.Interval(time.Hour)})
}
