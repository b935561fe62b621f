package postgres_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/billing/billingtest"
	"github.com/eusaas/eusaas/internal/pgtest"
)

func billingDB(t testing.TB) *postgres.DB {
	t.Helper()
	db := postgres.New(pgtest.Pool(t))
	require.NoError(t, db.MigratePlatform(context.Background()))
	return db
}

func billingTenant(t testing.TB, db *postgres.DB) eusaas.TenantID {
	t.Helper()
	id := eusaas.NewTenantID()
	require.NoError(t, db.CreateTenantSchema(context.Background(), id))
	return id
}

func TestConformanceBilling(t *testing.T) {
	billingtest.Run(t, billingtest.Harness{
		Features: billingtest.Features{Transactions: true},
		New: func(t *testing.T) billingtest.Stores {
			db := billingDB(t)
			return billingtest.Stores{
				Usage:     postgres.NewBillingUsageStore(db),
				Invoices:  postgres.NewBillingInvoiceStore(db),
				Prices:    postgres.NewBillingPriceStore(db),
				Tx:        db,
				NewTenant: func(t *testing.T) eusaas.TenantID { return billingTenant(t, db) },
			}
		},
	})
}
