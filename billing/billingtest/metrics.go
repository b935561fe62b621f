package billingtest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
)

func metricEnv(t *testing.T, h Harness) env {
	t.Helper()
	st := h.New(t)
	if st.Metrics == nil {
		t.Skip("the adapter has no metric store")
	}
	clock := eusaas.NewFakeClock(Now)
	tx := st.Tx
	if tx == nil {
		tx = eusaas.NoTx
	}
	svc, err := billing.NewService(billing.Deps{Usage: st.Usage, Invoices: st.Invoices, Prices: st.Prices, Tx: tx, Metrics: st.Metrics}, billing.Options{Clock: clock})
	require.NoError(t, err)
	return env{Stores: st, svc: svc, clock: clock, ctx: context.Background()}
}

// testMetrics: the catalogue keeps what was created, refuses a second metric with a code, and
// lists the built-ins first.
func testMetrics(t *testing.T, h Harness) {
	e := metricEnv(t, h)
	price := billing.PerUnit(d("2.5"))
	gpu, err := e.svc.CreateMetric(e.ctx, billing.Metric{Code: "GPU_HOURS", Name: "GPU time", Unit: "GPU-hour", Aggregation: billing.AggSum, Price: &price})
	require.NoError(t, err)
	_, err = e.svc.CreateMetric(e.ctx, billing.Metric{Code: "GPU_HOURS", Name: "again", Unit: "h", Aggregation: billing.AggSum})
	require.ErrorIs(t, err, billing.ErrMetricExists)
	tiered := billing.PriceModel{Kind: billing.PriceModelGraduated, Tiers: []billing.Tier{{UpTo: ptr(d("10")), UnitPrice: d("1")}, {UnitPrice: d("0.5")}}}
	_, err = e.svc.CreateMetric(e.ctx, billing.Metric{Code: "SEATS", Name: "Seats", Unit: "seat", Aggregation: billing.AggMax, Field: "seats", Price: &tiered})
	if _, ok := e.Usage.(billing.AggregatingStore); !ok {
		require.ErrorIs(t, err, billing.ErrNotAggregating)
		return
	}
	require.NoError(t, err)
	ms, err := e.svc.Metrics(e.ctx)
	require.NoError(t, err)
	require.Len(t, ms, len(billing.ResourceTypes)+2)
	for i, r := range billing.ResourceTypes {
		require.Equal(t, r, ms[i].Code)
		require.True(t, ms[i].BuiltIn)
	}
	got := ms[len(billing.ResourceTypes)]
	require.Equal(t, gpu.Code, got.Code)
	require.Equal(t, "GPU-hour", got.Unit)
	require.Equal(t, "2.5", got.Price.UnitPrice.String())
	seats := ms[len(billing.ResourceTypes)+1]
	require.Equal(t, billing.AggMax, seats.Aggregation)
	require.Equal(t, "seats", seats.Field)
	require.Len(t, seats.Price.Tiers, 2)
	require.Equal(t, "10", seats.Price.Tiers[0].UpTo.String())
	require.Nil(t, seats.Price.Tiers[1].UpTo)
}

func ptr[T any](v T) *T { return &v }

// testMetricAggregations: each aggregation's month quantity (the sum of its day buckets),
// events arriving out of order over two batches and a repeated batch; then the same under 8
// concurrent batches, where the month's aggregate must still come out exact.
func testMetricAggregations(t *testing.T, h Harness) {
	e := metricEnv(t, h)
	if _, ok := e.Usage.(billing.AggregatingStore); !ok {
		t.Skip("the usage store records additive metrics only")
	}
	tn := e.NewTenant(t)
	one := billing.PerUnit(d("1"))
	for _, m := range []billing.Metric{
		{Code: "GPU_HOURS", Name: "GPU", Unit: "GPU-hour", Aggregation: billing.AggSum, Field: "hours", Price: &one},
		{Code: "JOBS", Name: "Jobs", Unit: "job", Aggregation: billing.AggCount, Price: &one},
		{Code: "PEAK_SEATS", Name: "Seats", Unit: "seat", Aggregation: billing.AggMax, Price: &one},
		{Code: "GAUGE", Name: "Gauge", Unit: "unit", Aggregation: billing.AggLatest, Price: &one},
		{Code: "ACTIVE_USERS", Name: "Active users", Unit: "user", Aggregation: billing.AggUniqueCount, Field: "user", Price: &one},
	} {
		_, err := e.svc.CreateMetric(e.ctx, m)
		require.NoError(t, err)
	}
	feb := func(day, hour int) time.Time { return time.Date(2026, 2, day, hour, 0, 0, 0, time.UTC) }
	ev := func(id, code, qty string, ts time.Time, attrs map[string]string) billing.UsageEvent {
		return billing.UsageEvent{ID: id, ResourceType: billing.ResourceType(code), Quantity: d(qty), Timestamp: ts, Attributes: attrs}
	}
	b1 := []billing.UsageEvent{
		ev("g1", "GPU_HOURS", "0", feb(1, 1), map[string]string{"hours": "1.5"}),
		ev("g2", "GPU_HOURS", "99", feb(2, 1), map[string]string{"hours": "2"}),
		ev("j1", "JOBS", "7", feb(1, 1), nil), ev("j2", "JOBS", "7", feb(3, 1), nil),
		ev("p1", "PEAK_SEATS", "5", feb(1, 1), nil), ev("p2", "PEAK_SEATS", "3", feb(2, 1), nil), ev("p3", "PEAK_SEATS", "8", feb(3, 1), nil),
		ev("l1", "GAUGE", "4", feb(10, 1), nil), ev("l2", "GAUGE", "9", feb(5, 1), nil), // older: does not count
		ev("u1", "ACTIVE_USERS", "1", feb(1, 1), map[string]string{"user": "alice"}),
		ev("u2", "ACTIVE_USERS", "1", feb(2, 1), map[string]string{"user": "bob"}),
		ev("u3", "ACTIVE_USERS", "1", feb(2, 2), map[string]string{"user": "alice"}),
		ev("c1", "CPU", "10", feb(1, 1), nil),
	}
	b2 := []billing.UsageEvent{
		ev("p4", "PEAK_SEATS", "6", feb(4, 1), nil),                                  // below the max: nothing
		ev("l3", "GAUGE", "2", feb(12, 1), nil),                                      // the latest now
		ev("u4", "ACTIVE_USERS", "1", feb(5, 1), map[string]string{"user": "carol"}), // new
		ev("u5", "ACTIVE_USERS", "1", feb(6, 1), map[string]string{"user": "bob"}),   // seen
		ev("x1", "ACTIVE_USERS", "1", feb(6, 1), map[string]string{"other": "x"}),    // rejected: no user
		ev("x2", "GPU_HOURS", "1", feb(6, 1), map[string]string{"hours": "-1"}),      // rejected: negative
		ev("x3", "NO_SUCH_METRIC", "1", feb(6, 1), nil),                              // rejected: unknown
		ev("g1", "GPU_HOURS", "0", feb(1, 1), map[string]string{"hours": "100"}),     // duplicate id
	}
	r1, err := e.svc.Ingest(e.ctx, tn, b1)
	require.NoError(t, err)
	require.Equal(t, len(b1), r1.Accepted)
	r2, err := e.svc.Ingest(e.ctx, tn, b2)
	require.NoError(t, err)
	require.Equal(t, 4, r2.Accepted)
	require.Equal(t, 3, r2.Rejected)
	require.Equal(t, 1, r2.Duplicates)
	again, err := e.svc.Ingest(e.ctx, tn, b1)
	require.NoError(t, err)
	require.Equal(t, len(b1), again.Duplicates)

	c, err := e.svc.Costs(e.ctx, tn, feb(1, 0), feb(28, 0), billing.ByResource)
	require.NoError(t, err)
	got := map[billing.ResourceType]string{}
	units := map[billing.ResourceType]string{}
	var order []billing.ResourceType
	for _, l := range c.Lines {
		got[l.Service], units[l.Service] = l.Quantity.String(), l.Unit
		order = append(order, l.Service)
	}
	require.Equal(t, map[billing.ResourceType]string{"CPU": "10", "GPU_HOURS": "3.5", "JOBS": "2", "PEAK_SEATS": "8", "GAUGE": "2", "ACTIVE_USERS": "3"}, got)
	require.Equal(t, []billing.ResourceType{"CPU", "ACTIVE_USERS", "GAUGE", "GPU_HOURS", "JOBS", "PEAK_SEATS"}, order)
	require.Equal(t, "GPU-hour", units["GPU_HOURS"])
	// Priced at 1 EUR per unit each, CPU at the default 0.02: amounts follow the aggregates.
	require.Equal(t, "18.7", c.Total.String())

	// Concurrency: 8 batches at once, each with a seat peak, a gauge reading and users; the
	// month's aggregates must be exact whatever the interleaving.
	tn2 := e.NewTenant(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.svc.Ingest(e.ctx, tn2, []billing.UsageEvent{
				ev(fmt.Sprint("p", i), "PEAK_SEATS", fmt.Sprint(10+i), feb(1+i, 1), nil),
				ev(fmt.Sprint("l", i), "GAUGE", fmt.Sprint(100+i), feb(1+i, 1), nil),
				ev(fmt.Sprint("u", i), "ACTIVE_USERS", "1", feb(1, 1), map[string]string{"user": fmt.Sprint("user", i%3)}),
			})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	c, err = e.svc.Costs(e.ctx, tn2, feb(1, 0), feb(28, 0), billing.ByResource)
	require.NoError(t, err)
	got = map[billing.ResourceType]string{}
	for _, l := range c.Lines {
		got[l.Service] = l.Quantity.String()
	}
	require.Equal(t, map[billing.ResourceType]string{"PEAK_SEATS": "17", "GAUGE": "107", "ACTIVE_USERS": "3"}, got)
}
