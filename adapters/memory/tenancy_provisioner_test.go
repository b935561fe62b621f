package memory_test

import (
	"context"
	"testing"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/memory"
	"github.com/eusaas/eusaas/tenancy/tenancytest"
)

func TestConformanceTenantProvisioner(t *testing.T) {
	const latest = 7
	tenancytest.RunProvisioner(t, tenancytest.ProvisionerHarness{
		New: func(t *testing.T) tenancytest.ProvisionerEnv {
			p := memory.NewTenantProvisioner(latest)
			// The memory provisioner is its own storage: asking it is observing the schema.
			return tenancytest.ProvisionerEnv{
				Provisioner: p,
				Exists: func(_ context.Context, id eusaas.TenantID) (bool, error) {
					_, ok := p.SchemaVersion(id)
					return ok, nil
				},
				Version: func(_ context.Context, id eusaas.TenantID) (int, bool, error) {
					v, ok := p.SchemaVersion(id)
					return v, ok, nil
				},
				Latest: latest,
			}
		},
	})
}
