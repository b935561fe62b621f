package postgres_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/platform"
)

// BenchmarkAnomalyScanPostgres: the anomaly scan on Postgres, ANOMALY_BENCH_TENANTS tenants
// (200; each its own schema) x 5 resources x 90 days of daily buckets, read through billing's
// DailyCosts as the platform wires it, anomalies in the Postgres store. Rows:
//
//   - baseline-one-query: per tenant, the one query that reads the days the scan reads (the
//     scan's window, SELECT day, resource, amount from the tenant's buckets), rows scanned
//     into Go values;
//
//   - scan-daily: the production daily scan, yesterday's detector states kept (ReplayCache,
//     copied untimed for each iteration); one tenant at a time;
//
//   - scan-full-replay: the same scan without the cache (every series replayed).
//
//     go test ./adapters/postgres/ -run '^$' -bench AnomalyScanPostgres -benchtime=3x
func BenchmarkAnomalyScanPostgres(b *testing.B) {
	ctx := context.Background()
	db := billingDB(b)
	tenants := 200
	if v, err := strconv.Atoi(os.Getenv("ANOMALY_BENCH_TENANTS")); err == nil && v > 0 {
		tenants = v
	}
	now := time.Date(2026, 4, 1, 6, 0, 0, 0, time.UTC)
	first := anomaly.DayOf(now).AddDate(0, 0, -90)
	var tcs []anomaly.TenantConfig
	for i := range tenants {
		tn := billingTenant(b, db)
		tcs = append(tcs, anomaly.TenantConfig{ID: tn})
		// 90 days x 5 resources: a base per resource, weekends at 60%, a deterministic
		// wobble, and a spike on the scored day for one tenant in 50.
		require.NoError(b, db.InTenantTx(ctx, tn, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `
INSERT INTO billing_usage_buckets (day, resource_type, quantity, amount)
SELECT d::date, r.name, 1,
       round((r.base * CASE WHEN extract(isodow FROM d) >= 6 THEN 0.6 ELSE 1 END
              * (1 + 0.05 * sin(extract(doy FROM d) * 7 + r.k * 3 + $3))
              * CASE WHEN d::date = $2::date AND $3 % 50 = 0 THEN 3 ELSE 1 END)::numeric, 2)
FROM generate_series($1::date, $2::date, '1 day') AS d,
     (VALUES ('CPU', 40, 1), ('MEMORY', 25, 2), ('STORAGE', 12, 3), ('NETWORK', 8, 4), ('API_CALLS', 3, 5)) AS r(name, base, k)`,
				first, first.AddDate(0, 0, 89), i)
			return err
		}))
	}
	svc, err := billing.NewService(billing.Deps{Usage: postgres.NewBillingUsageStore(db), Invoices: postgres.NewBillingInvoiceStore(db), Prices: postgres.NewBillingPriceStore(db), Tx: db}, billing.Options{})
	require.NoError(b, err)
	series := platform.DailyCosts{Billing: svc}
	lister := anomaly.TenantListerFunc(func(context.Context) ([]anomaly.TenantConfig, error) { return tcs, nil })
	opts := anomaly.ScannerOptions{Clock: eusaas.NewFakeClock(now), Concurrency: 1}
	newScanner := func(c *anomaly.ReplayCache) *anomaly.Scanner {
		o := opts
		o.Replay = c
		return anomaly.NewScanner(series, lister, postgres.NewAnomalyStore(db), nil, o)
	}
	perTenant := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tenants), "ns/tenant")
	}

	b.Run("baseline-one-query", func(b *testing.B) {
		sc := newScanner(nil)
		rows := 0
		for b.Loop() {
			for _, tc := range tcs {
				from, last := sc.Window(tc.ID, now)
				require.NoError(b, db.InTenantTx(ctx, tc.ID, func(ctx context.Context, tx pgx.Tx) error {
					r, err := tx.Query(ctx, `SELECT day, resource_type, amount::text FROM billing_usage_buckets WHERE day BETWEEN $1 AND $2 ORDER BY day, resource_type`, from, last)
					if err != nil {
						return err
					}
					var day time.Time
					var res, amount string
					_, err = pgx.ForEachRow(r, []any{&day, &res, &amount}, func() error { rows++; return nil })
					return err
				}))
			}
		}
		b.ReportMetric(float64(rows)/float64(b.N*tenants*5), "days/series")
		perTenant(b)
	})
	scan := func(b *testing.B, warm *anomaly.ReplayCache) {
		found := 0
		for b.Loop() {
			var c *anomaly.ReplayCache
			if warm != nil {
				b.StopTimer()
				c = warm.Clone()
				b.StartTimer()
			}
			rep, err := newScanner(c).ScanAllAt(ctx, now)
			require.NoError(b, err)
			require.Empty(b, rep.Failed)
			require.Equal(b, tenants, rep.Tenants)
			found = rep.Found
		}
		b.ReportMetric(float64(found), "anomalies")
		perTenant(b)
	}
	b.Run("scan-daily", func(b *testing.B) {
		warm := anomaly.NewReplayCache()
		_, err := newScanner(warm).ScanAllAt(ctx, now.AddDate(0, 0, -1)) // yesterday's scan
		require.NoError(b, err)
		scan(b, warm)
	})
	b.Run("scan-full-replay", func(b *testing.B) { scan(b, nil) })
}
