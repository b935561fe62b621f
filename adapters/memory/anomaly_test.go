package memory_test

import (
	"testing"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/memory"
	"github.com/eusaas/eusaas/anomaly/anomalytest"
)

func TestConformanceAnomalyStore(t *testing.T) {
	anomalytest.Run(t, anomalytest.Harness{New: func(t *testing.T) anomalytest.Env {
		return anomalytest.Env{
			Store:     memory.NewAnomalyStore(),
			NewTenant: func(*testing.T) eusaas.TenantID { return eusaas.NewTenantID() },
			Tx:        memory.NewTxRunner(),
		}
	}})
}
