package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/billing"
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
				Usage:       postgres.NewBillingUsageStore(db),
				Invoices:    postgres.NewBillingInvoiceStore(db),
				Prices:      postgres.NewBillingPriceStore(db),
				Profiles:    postgres.NewBillingProfileStore(db),
				CreditNotes: postgres.NewBillingCreditNoteStore(db),
				Metrics:     postgres.NewBillingMetricStore(db),
				Plans:       postgres.NewBillingPlanStore(db),
				Tx:          db,
				NewTenant:   func(t *testing.T) eusaas.TenantID { return billingTenant(t, db) },
			}
		},
	})
}

// TestBillingIssuedInvoiceImmutableInSQL: even a statement that bypasses the store cannot
// change an issued invoice's content or lines (trigger), while status moves still work.
func TestBillingIssuedInvoiceImmutableInSQL(t *testing.T) {
	ctx := context.Background()
	db := billingDB(t)
	tn := billingTenant(t, db)
	clock := eusaas.NewFakeClock(time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC))
	svc, err := billing.NewService(billing.Deps{Usage: postgres.NewBillingUsageStore(db), Invoices: postgres.NewBillingInvoiceStore(db), Prices: postgres.NewBillingPriceStore(db), Tx: db}, billing.Options{Clock: clock})
	require.NoError(t, err)
	_, err = svc.Ingest(ctx, tn, []billing.UsageEvent{{ID: "a", ResourceType: billing.CPU, Quantity: billing.MustQuantity("10"),
		Timestamp: time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC)}})
	require.NoError(t, err)
	inv, err := svc.DraftInvoice(ctx, tn, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	_, err = svc.Issue(ctx, tn, inv.ID)
	require.NoError(t, err)
	for _, stmt := range []string{
		`UPDATE billing_invoices SET total_amount = 0 WHERE id = $1`,
		`UPDATE billing_invoices SET number = 'INV-2026-999999' WHERE id = $1`,
		`UPDATE billing_invoice_lines SET amount = 0 WHERE invoice_id = $1`,
		`DELETE FROM billing_invoice_lines WHERE invoice_id = $1`,
		`INSERT INTO billing_invoice_lines (invoice_id, line_no, resource_type, description, unit, quantity, amount, usage_month, adjustment)
		 VALUES ($1, 99, 'CPU', 'x', 'x', 1, 1, '2026-02-01', false)`,
	} {
		err := db.InTenantTx(ctx, tn, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, stmt, inv.ID)
			return postgres.Translate(err)
		})
		require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err), stmt)
	}
	paid, err := svc.MarkPaid(ctx, tn, inv.ID)
	require.NoError(t, err)
	require.Equal(t, billing.StatusPaid, paid.Status)
	got, err := svc.Invoice(ctx, tn, inv.ID)
	require.NoError(t, err)
	require.Equal(t, "0.20", got.Total.StringFixed(2))
	require.Len(t, got.Lines, 1)
}
