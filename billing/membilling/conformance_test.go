package membilling_test

import (
	"testing"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing/billingtest"
	"github.com/eusaas/eusaas/billing/membilling"
	"github.com/eusaas/eusaas/memtx"
)

func TestConformance(t *testing.T) {
	billingtest.Run(t, billingtest.Harness{
		Features: billingtest.Features{Transactions: true},
		New: func(t *testing.T) billingtest.Stores {
			return billingtest.Stores{
				Usage:       membilling.NewUsageStore(),
				Invoices:    membilling.NewInvoiceStore(),
				Prices:      membilling.NewPriceStore(),
				Profiles:    membilling.NewProfileStore(),
				CreditNotes: membilling.NewCreditNoteStore(),
				Metrics:     membilling.NewMetricStore(),
				Plans:       membilling.NewPlanStore(),
				Tx:          memtx.NewTxRunner(),
				NewTenant:   func(*testing.T) eusaas.TenantID { return eusaas.NewTenantID() },
			}
		},
	})
}
