package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/billing"
)

// A tenant schema holding attribute aggregates in 0160's shape (one row per day, resource,
// key and value) keeps them through 0162, which groups the resources of a (day, key,
// value) into one row: AttributeUsage answers the same rows before and after, and new
// usage adds to them.
func TestBillingAttributesUpgradeTo0162(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := billingDB(t)
	migs, err := postgres.TenantMigrations()
	require.NoError(t, err)
	var before []postgres.TenantMigration
	for _, m := range migs {
		if m.Version < 162 {
			before = append(before, m)
		}
	}
	old, err := postgres.NewTenantSchemas(db, before)
	require.NoError(t, err)
	tenant := eusaas.NewTenantID()
	require.NoError(t, old.Create(ctx, tenant))
	t.Cleanup(func() { _ = db.DropTenantSchema(context.Background(), tenant) })
	day := billing.Day(time.Now().UTC())
	require.NoError(t, db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO billing_usage_attributes (day, resource_type, attr_key, attr_value, quantity) VALUES
			($1, 'CPU', 'region', 'eu-west', 1.5), ($1, 'MEMORY', 'region', 'eu-west', 2.250), ($1, 'CPU', 'region', 'eu-north', 4)`, day)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO billing_usage_attribute_values VALUES ('region', 'eu-west'), ('region', 'eu-north')`)
		return err
	}))
	all, err := postgres.EmbeddedTenantSchemas(db)
	require.NoError(t, err)
	require.NoError(t, all.Migrate(ctx, tenant))

	store := postgres.NewBillingUsageStore(db)
	got := attributeMap(t, store, tenant, day)
	require.Equal(t, map[string]string{"CPU/eu-west": "1.5", "MEMORY/eu-west": "2.25", "CPU/eu-north": "4"}, got)

	// New usage of a kept value adds to the migrated row, per resource.
	_, err = store.Record(ctx, tenant, []billing.UsageEvent{{ID: "u1", ResourceType: billing.CPU, Quantity: decimal.RequireFromString("0.5"),
		Timestamp: day.Add(time.Hour), Attributes: map[string]string{"region": "eu-west"}}}, func(billing.ResourceType, decimal.Decimal, decimal.Decimal) decimal.Decimal { return decimal.Zero })
	require.NoError(t, err)
	got = attributeMap(t, store, tenant, day)
	require.Equal(t, map[string]string{"CPU/eu-west": "2", "MEMORY/eu-west": "2.25", "CPU/eu-north": "4"}, got)
}

func attributeMap(t *testing.T, store *postgres.BillingUsageStore, tenant eusaas.TenantID, day time.Time) map[string]string {
	t.Helper()
	rows, err := store.AttributeUsage(context.Background(), tenant, day, day)
	require.NoError(t, err)
	out := map[string]string{}
	for _, r := range rows {
		require.Equal(t, "region", r.Key)
		out[string(r.Resource)+"/"+r.Value] = r.Quantity.String()
	}
	return out
}
