package memory_test

import (
	"testing"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/memory"
	"github.com/eusaas/eusaas/billing/billingtest"
	"github.com/eusaas/eusaas/memtx"
)

func TestConformanceBilling(t *testing.T) {
	billingtest.Run(t, billingtest.Harness{
		Features: billingtest.Features{Transactions: true},
		New: func(t *testing.T) billingtest.Stores {
			return billingtest.Stores{
				Usage:     memory.NewBillingUsageStore(),
				Invoices:  memory.NewBillingInvoiceStore(),
				Prices:    memory.NewBillingPriceStore(),
				Tx:        memtx.NewTxRunner(),
				NewTenant: func(*testing.T) eusaas.TenantID { return eusaas.NewTenantID() },
			}
		},
	})
}
