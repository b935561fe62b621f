package main

import (
	"context"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/adapters/memory"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/adapters/redis"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/tenancy"
)

// wireTenancy builds the tenancy service on the app's stores: memory registry and
// provisioner in memory mode; Postgres registry, tenant schemas and the Redis cache
// otherwise. rec is the audit recorder (audit's Service), inv the owner invitation issuer
// (auth's Service); either may be nil until that module is wired. The returned service is
// the server's TenantGate and what auth's TenantResolver and gdpr's ports adapt.
func (a *App) wireTenancy(rec eusaas.Recorder, inv tenancy.InvitationIssuer) (*tenancy.Service, error) {
	opts := tenancy.Options{Recorder: rec, Tx: a.tx, Invitations: inv, Logger: a.log}
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
		return tenancy.NewService(memory.NewTenantStore(), memory.NewTenantProvisioner(latest), opts), nil
	}
	schemas, err := postgres.NewTenantSchemas(a.db, migs)
	if err != nil {
		return nil, err
	}
	opts.Cache = redis.NewTenantCache(a.rdb, redis.TenantCacheOptions{TTL: 5 * time.Minute})
	return tenancy.NewService(postgres.NewTenantStore(a.db), schemas, opts), nil
}

// registerTenancyRoutes adds the tenant endpoints to the app's server.
func (a *App) registerTenancyRoutes(svc *tenancy.Service) {
	httpapi.RegisterTenancy(a.server, svc)
}

// tenancyIssuerFunc adapts a function to tenancy.InvitationIssuer. auth resolves tenants
// through tenancy and tenancy issues owner invitations through auth, so one of them is built
// first; wire tenancy with a function that calls the auth service once it exists:
//
//	var authSvc *auth.Service
//	tsvc, _ := a.wireTenancy(rec, tenancyIssuerFunc(func(ctx context.Context, id eusaas.TenantID, email string) (string, time.Time, error) {
//		return authSvc.IssueOwnerInvitation(ctx, id, email)
//	}))
//	authSvc, _ = a.wireAuth(ctx, tenancyResolver(tsvc), rec, notice)
type tenancyIssuerFunc func(ctx context.Context, tenant eusaas.TenantID, email string) (string, time.Time, error)

// IssueOwnerInvitation calls f.
func (f tenancyIssuerFunc) IssueOwnerInvitation(ctx context.Context, tenant eusaas.TenantID, email string) (string, time.Time, error) {
	return f(ctx, tenant, email)
}

// tenancyResolver adapts the tenancy service to auth.TenantResolver (X-Tenant-ID by id or
// slug).
func tenancyResolver(svc *tenancy.Service) auth.TenantResolver {
	return authTenantResolver(func(ctx context.Context, idOrSlug string) (auth.TenantInfo, error) {
		t, err := svc.Resolve(ctx, idOrSlug)
		if err != nil {
			return auth.TenantInfo{}, err
		}
		return auth.TenantInfo{ID: t.ID, Status: string(t.Status), AllowSelfRegistration: t.Settings.AllowSelfRegistration}, nil
	})
}
