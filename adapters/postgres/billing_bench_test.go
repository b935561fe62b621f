package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/billing"
)

const billingBenchBatch = 1000

func billingBenchEvents(prefix string, n int, now time.Time) []billing.UsageEvent {
	evs := make([]billing.UsageEvent, n)
	for i := range evs {
		evs[i] = billing.UsageEvent{
			ID:           fmt.Sprintf("%s-%07d", prefix, i),
			ResourceType: billing.ResourceTypes[i%len(billing.ResourceTypes)],
			Quantity:     decimal.New(int64(i%9973+1), -3),
			Timestamp:    now.Add(-time.Duration(i%(20*24)) * time.Hour),
			Attributes:   map[string]string{"node": fmt.Sprint("n", i%7)},
		}
	}
	return evs
}

// BenchmarkBillingIngestVsCopy measures, in the same run and on the same rows (batches of
// 1000, unique ids), events/s through the full Postgres ingestion path (Service.Ingest:
// validation, price book, dedup insert + month upsert + bucket upsert in one transaction)
// against a raw COPY of the same rows into an equivalent table (same columns, primary key
// and index, no dedup check, no buckets). ratio = ingest/copy.
//
//	go test ./adapters/postgres/ -run '^$' -bench BillingIngestVsCopy -benchtime=30x
func BenchmarkBillingIngestVsCopy(b *testing.B) { benchIngestVsCopy(b, false) }

// BenchmarkBillingIngestCustomVsCopy is the same with the rows spread over custom metrics as
// well: a SUM metric (GPU_HOURS) and the non-additive MAX and UNIQUE_COUNT (month state
// locked and updated in the batch's transaction) beside the built-ins.
//
//	go test ./adapters/postgres/ -run '^$' -bench BillingIngestCustomVsCopy -benchtime=30x
func BenchmarkBillingIngestCustomVsCopy(b *testing.B) { benchIngestVsCopy(b, true) }

func benchIngestVsCopy(b *testing.B, custom bool) {
	ctx := context.Background()
	db := billingDB(b)
	tn := billingTenant(b, db)
	now := time.Now().UTC()
	// With the metric catalogue, as the reference server runs (the catalogue is cached by
	// the service, so a batch costs no extra query while it is fresh).
	svc, err := billing.NewService(billing.Deps{Usage: postgres.NewBillingUsageStore(db), Invoices: postgres.NewBillingInvoiceStore(db), Prices: postgres.NewBillingPriceStore(db),
		Metrics: postgres.NewBillingMetricStore(db), Tx: db}, billing.Options{})
	require.NoError(b, err)
	require.NoError(b, db.InTenantTx(ctx, tn, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `CREATE TABLE bench_copy_events (LIKE billing_usage_events INCLUDING ALL)`)
		return err
	}))
	codes := []billing.ResourceType{"GPU_HOURS", "PEAK_NODES", "ACTIVE_NODES"}
	if custom {
		for _, m := range []billing.Metric{
			{Code: codes[0], Name: "GPU", Unit: "GPU-hour", Aggregation: billing.AggSum},
			{Code: codes[1], Name: "Peak nodes", Unit: "node", Aggregation: billing.AggMax},
			{Code: codes[2], Name: "Active nodes", Unit: "node", Aggregation: billing.AggUniqueCount, Field: "node"},
		} {
			_, err := svc.CreateMetric(ctx, m)
			require.NoError(b, err)
		}
	}
	var copyDur, ingestDur time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		evs := billingBenchEvents(fmt.Sprint("b", i), billingBenchBatch, now)
		if custom {
			for j := range evs {
				if j%2 == 0 { // half the rows on the custom metrics
					evs[j].ResourceType = codes[(j/2)%len(codes)]
				}
			}
		}
		rows := make([][]any, len(evs))
		for j, e := range evs {
			rows[j] = []any{e.ID, string(e.ResourceType), e.Quantity.String(), e.Timestamp, `{"node":"` + e.Attributes["node"] + `"}`, now}
		}
		t0 := time.Now()
		require.NoError(b, db.InTenantTx(ctx, tn, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"bench_copy_events"},
				[]string{"event_id", "resource_type", "quantity", "occurred_at", "attributes", "received_at"}, pgx.CopyFromRows(rows))
			return err
		}))
		t1 := time.Now()
		r, err := svc.Ingest(ctx, tn, evs)
		require.NoError(b, err)
		ingestDur += time.Since(t1)
		copyDur += t1.Sub(t0)
		require.Equal(b, billingBenchBatch, r.Accepted)
	}
	b.StopTimer()
	n := float64(b.N * billingBenchBatch)
	b.ReportMetric(n/copyDur.Seconds(), "copy_events/s")
	b.ReportMetric(n/ingestDur.Seconds(), "ingest_events/s")
	b.ReportMetric(copyDur.Seconds()/ingestDur.Seconds(), "ratio")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkBillingBreakdownMonth measures the latency of a month's cost breakdown (by
// resource and by day). Reads touch only buckets, so a month's read cost does not depend on
// how many events made it: the "10M" case loads directly the 155 buckets (31 days x 5
// resources) that 10,000,000 events of one unit each spread evenly over the month produce;
// the "ingested" case reads buckets built by 100,000 events really ingested through the path.
// baseline is a one-row round trip (SELECT 1) in the same run; ratio = breakdown/round trip.
//
//	go test ./adapters/postgres/ -run '^$' -bench BillingBreakdownMonth -benchtime=2000x
func BenchmarkBillingBreakdownMonth(b *testing.B) {
	ctx := context.Background()
	db := billingDB(b)
	month := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	svc := func(clock eusaas.Clock) *billing.Service {
		s, err := billing.NewService(billing.Deps{Usage: postgres.NewBillingUsageStore(db), Invoices: postgres.NewBillingInvoiceStore(db), Prices: postgres.NewBillingPriceStore(db), Tx: db}, billing.Options{Clock: clock})
		require.NoError(b, err)
		return s
	}
	tenMillion := billingTenant(b, db)
	require.NoError(b, db.InTenantTx(ctx, tenMillion, func(ctx context.Context, tx pgx.Tx) error {
		// 10,000,000 events: 2,000,000 per resource, spread over 31 days (64516 per day and
		// resource, the remainder on the 1st), each of quantity 1.
		_, err := tx.Exec(ctx, `
INSERT INTO billing_usage_buckets (day, resource_type, quantity, amount)
SELECT d::date, r.name, q, q * r.price
FROM generate_series($1::date, $1::date + 30, '1 day') AS d,
     (VALUES ('CPU', 0.02), ('MEMORY', 0.005), ('STORAGE', 0.01), ('NETWORK', 0.001), ('API_CALLS', 0.0001)) AS r(name, price),
     LATERAL (SELECT CASE WHEN d::date = $1::date THEN 2000000 - 64516 * 30 ELSE 64516 END AS q) AS qq`, month)
		return err
	}))
	ingested := billingTenant(b, db)
	clock := eusaas.NewFakeClock(month.AddDate(0, 0, 31))
	s := svc(clock)
	// BILLING_BENCH_EVENTS raises the number of events ingested through the real path (for
	// example to 10000000, about 3-6 minutes here); the default keeps a run short.
	realEvents := 100_000
	if v, err := strconv.Atoi(os.Getenv("BILLING_BENCH_EVENTS")); err == nil && v > 0 {
		realEvents = v - v%billingBenchBatch
	}
	for i := 0; i < realEvents; i += billingBenchBatch {
		evs := billingBenchEvents(fmt.Sprint("m", i), billingBenchBatch, month.AddDate(0, 0, 30))
		for j := range evs {
			evs[j].ID = fmt.Sprintf("m-%07d", i+j)
			evs[j].Timestamp = month.Add(time.Duration((i+j)%(31*24)) * time.Hour)
		}
		_, err := s.Ingest(ctx, ingested, evs)
		require.NoError(b, err)
	}
	total, err := s.Costs(ctx, tenMillion, month, billing.MonthEnd(month), billing.ByResource)
	require.NoError(b, err)
	var q decimal.Decimal
	for _, l := range total.Lines {
		q = q.Add(l.Quantity)
	}
	require.Equal(b, "10000000", q.String())

	for _, tc := range []struct {
		name   string
		tenant eusaas.TenantID
	}{{"10M_events_buckets", tenMillion}, {"events_ingested", ingested}} {
		b.Run(tc.name, func(b *testing.B) {
			var rt, br time.Duration
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				var one int
				require.NoError(b, db.Pool.QueryRow(ctx, "SELECT 1").Scan(&one))
				t1 := time.Now()
				by := billing.ByResource
				if i%2 == 1 {
					by = billing.ByDay
				}
				_, err := s.Costs(ctx, tc.tenant, month, billing.MonthEnd(month), by)
				require.NoError(b, err)
				br += time.Since(t1)
				rt += t1.Sub(t0)
			}
			b.ReportMetric(float64(br.Microseconds())/float64(b.N), "breakdown_us")
			b.ReportMetric(float64(rt.Microseconds())/float64(b.N), "select1_us")
			b.ReportMetric(br.Seconds()/rt.Seconds(), "ratio")
		})
	}
}
