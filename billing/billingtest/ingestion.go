package billingtest

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
)

func testDuplicates(t *testing.T, h Harness) {
	e := setup(t, h)
	tn := e.NewTenant(t)
	ts := Now.Add(-time.Hour)
	r, err := e.svc.Ingest(e.ctx, tn, []billing.UsageEvent{
		ev("x", billing.CPU, "1", ts), ev("x", billing.CPU, "5", ts), ev("y", billing.CPU, "2", ts),
	})
	require.NoError(t, err)
	require.Equal(t, 2, r.Accepted)
	require.Equal(t, 1, r.Duplicates)
	require.Equal(t, billing.Duplicate, r.Results[1].Status)
	// A later batch reusing an id with other content is a duplicate: the id is the key.
	r, err = e.svc.Ingest(e.ctx, tn, []billing.UsageEvent{ev("y", billing.Memory, "100", ts), ev("z", billing.CPU, "4", ts)})
	require.NoError(t, err)
	require.Equal(t, []billing.IngestStatus{billing.Duplicate, billing.Accepted}, []billing.IngestStatus{r.Results[0].Status, r.Results[1].Status})
	qty, _ := totals(t, e, tn)
	requireDecEqual(t, d("7"), qty[billing.CPU])
	require.True(t, qty[billing.Memory].IsZero())
}

// batch returns n events with ids prefix-from..prefix-(from+n-1) and pseudo-random
// quantities derived from (seed, id), so an id carries the same content in every batch.
func batch(prefix string, from, n int, seed uint64) []billing.UsageEvent {
	out := make([]billing.UsageEvent, 0, n)
	for i := from; i < from+n; i++ {
		rng := rand.New(rand.NewPCG(seed, uint64(i))) // content depends on the id only
		r := billing.ResourceTypes[i%len(billing.ResourceTypes)]
		q := decimal.New(int64(rng.IntN(1_000_000)+1), -int32(rng.IntN(7)))
		ts := Now.Add(-time.Duration(i%(30*24)) * time.Hour)
		out = append(out, billing.UsageEvent{ID: fmt.Sprintf("%s-%d", prefix, i), ResourceType: r, Quantity: q, Timestamp: ts,
			Attributes: map[string]string{"node": fmt.Sprint(i % 3)}})
	}
	return out
}

func sumDistinct(events ...[]billing.UsageEvent) (map[billing.ResourceType]decimal.Decimal, decimal.Decimal) {
	seen := map[string]bool{}
	qty := map[billing.ResourceType]decimal.Decimal{}
	var amt decimal.Decimal
	prices := billing.DefaultPrices()
	for _, b := range events {
		for _, e := range b {
			if seen[e.ID] {
				continue
			}
			seen[e.ID] = true
			qty[e.ResourceType] = qty[e.ResourceType].Add(e.Quantity)
			amt = amt.Add(prices[e.ResourceType].Cost(e.Quantity))
		}
	}
	return qty, amt
}

func requireTotals(t *testing.T, e env, tn eusaas.TenantID, wantQty map[billing.ResourceType]decimal.Decimal, wantAmt decimal.Decimal) {
	t.Helper()
	qty, amt := totals(t, e, tn)
	for _, r := range billing.ResourceTypes {
		requireDecEqual(t, wantQty[r], qty[r], r)
	}
	requireDecEqual(t, wantAmt, amt, "amount")
}

func testSameBatchTenTimes(t *testing.T, h Harness) {
	e := setup(t, h)
	tn := e.NewTenant(t)
	b := batch("ev", 0, 500, 1)
	for i := 0; i < 10; i++ {
		r, err := e.svc.Ingest(e.ctx, tn, b)
		require.NoError(t, err)
		if i == 0 {
			require.Equal(t, 500, r.Accepted)
		} else {
			require.Equal(t, 500, r.Duplicates, "post %d", i)
		}
	}
	q, a := sumDistinct(b)
	requireTotals(t, e, tn, q, a)
}

func testConcurrent(t *testing.T, h Harness) {
	e := setup(t, h)
	tn := e.NewTenant(t)
	const clients = 50
	batches := make([][]billing.UsageEvent, clients)
	for i := range batches {
		// Overlapping windows: client i posts ids [i*20, i*20+100), so each id is posted by
		// up to five clients.
		batches[i] = batch("c", i*20, 100, 42)
	}
	// Same ids must carry the same content in every batch (they do: content derives from i).
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	errs := make(chan error, clients)
	for i := range batches {
		wg.Add(1)
		go func(b []billing.UsageEvent) {
			defer wg.Done()
			r, err := e.svc.Ingest(e.ctx, tn, b)
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			accepted += r.Accepted
			mu.Unlock()
		}(batches[i])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	q, a := sumDistinct(batches...)
	require.Equal(t, clients*20+80, accepted, "every distinct event accepted exactly once")
	requireTotals(t, e, tn, q, a)
}

func testRejected(t *testing.T, h Harness) {
	e := setup(t, h)
	tn := e.NewTenant(t)
	r, err := e.svc.Ingest(e.ctx, tn, []billing.UsageEvent{
		ev("ok", billing.CPU, "1", Now),
		ev("future", billing.CPU, "1", Now.Add(6*time.Minute)),
		ev("soon", billing.CPU, "1", Now.Add(4*time.Minute)),
		ev("old", billing.CPU, "1", Now.Add(-36*24*time.Hour)),
		{ID: "neg", ResourceType: billing.CPU, Quantity: d("-1"), Timestamp: Now},
		{ID: "kind", ResourceType: "GPU", Quantity: d("1"), Timestamp: Now},
		{ID: "", ResourceType: billing.CPU, Quantity: d("1"), Timestamp: Now},
	})
	require.NoError(t, err)
	require.Equal(t, 2, r.Accepted)
	require.Equal(t, 5, r.Rejected)
	for _, i := range []int{1, 3, 4, 5, 6} {
		require.Equal(t, billing.Rejected, r.Results[i].Status)
		require.NotEmpty(t, r.Results[i].Reason)
	}
	require.Contains(t, r.Results[1].Reason, "future")
	require.Contains(t, r.Results[3].Reason, "horizon")
	qty, _ := totals(t, e, tn)
	requireDecEqual(t, d("2"), qty[billing.CPU])

	// Text a store cannot hold (NUL, invalid UTF-8) rejects that event only; it must not
	// fail the batch (PostgreSQL text refuses NUL bytes).
	r, err = e.svc.Ingest(e.ctx, tn, []billing.UsageEvent{
		{ID: "nul\x00id", ResourceType: billing.CPU, Quantity: d("1"), Timestamp: Now},
		{ID: "bad-utf8\xff", ResourceType: billing.CPU, Quantity: d("1"), Timestamp: Now},
		{ID: "nul-attr", ResourceType: billing.CPU, Quantity: d("1"), Timestamp: Now, Attributes: map[string]string{"k": "a\x00b"}},
		{ID: "nul-key", ResourceType: billing.CPU, Quantity: d("1"), Timestamp: Now, Attributes: map[string]string{"k\x00": "v"}},
		ev("ok-2", billing.CPU, "3", Now),
	})
	require.NoError(t, err)
	require.Equal(t, 1, r.Accepted)
	require.Equal(t, 4, r.Rejected)
	for i := 0; i < 4; i++ {
		require.Equal(t, billing.Rejected, r.Results[i].Status, i)
	}
	qty, _ = totals(t, e, tn)
	requireDecEqual(t, d("5"), qty[billing.CPU])
	// A rejected id is not consumed: it can be sent again with a valid timestamp.
	r, err = e.svc.Ingest(e.ctx, tn, []billing.UsageEvent{ev("future", billing.CPU, "1", Now)})
	require.NoError(t, err)
	require.Equal(t, 1, r.Accepted)

	_, err = e.svc.Ingest(e.ctx, tn, make([]billing.UsageEvent, billing.MaxBatch+1))
	require.ErrorIs(t, err, billing.ErrBatchTooLarge)
}

func testFirstDayAndPurge(t *testing.T, h Harness) {
	e := setup(t, h)
	tn := e.NewTenant(t)
	_, ok, err := e.Usage.FirstDay(e.ctx, tn)
	require.NoError(t, err)
	require.False(t, ok)
	_, err = e.svc.Ingest(e.ctx, tn, []billing.UsageEvent{ev("p1", billing.CPU, "1", Now.AddDate(0, 0, -3)), ev("p2", billing.CPU, "1", Now)})
	require.NoError(t, err)
	first, ok, err := e.Usage.FirstDay(e.ctx, tn)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, first.Equal(billing.Day(Now.AddDate(0, 0, -3))), first)

	n, err := e.Usage.PurgeDedup(e.ctx, tn, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.Zero(t, n, "nothing received before the cutoff")
	r, err := e.svc.Ingest(e.ctx, tn, []billing.UsageEvent{ev("p1", billing.CPU, "1", Now)})
	require.NoError(t, err)
	require.Equal(t, 1, r.Duplicates)
	n, err = e.Usage.PurgeDedup(e.ctx, tn, time.Now().Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, 2, n)
	// Buckets survive the purge.
	qty, _ := totals(t, e, tn)
	requireDecEqual(t, d("2"), qty[billing.CPU])
}
