package tenancy

import (
	"context"

	"github.com/eusaas/eusaas"
)

// PurgeCache removes every cached value about the tenant (the GDPR erasure pipeline's cache
// step). Without a cache it does nothing. Idempotent.
func (s *Service) PurgeCache(ctx context.Context, id eusaas.TenantID) error {
	if s.cache == nil {
		return nil
	}
	return s.cache.Invalidate(ctx, id)
}

// DropSchema drops the tenant's data schema through the Provisioner (the erasure pipeline's
// drop step). Idempotent, as Provisioner.Drop is.
func (s *Service) DropSchema(ctx context.Context, id eusaas.TenantID) error {
	return s.prov.Drop(ctx, id)
}
