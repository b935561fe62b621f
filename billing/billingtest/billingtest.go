// Package billingtest is the conformance suite of the billing ports. An adapter passes it by
// calling Run from a test with a Harness that makes fresh stores:
//
//	func TestConformanceBilling(t *testing.T) {
//		billingtest.Run(t, billingtest.Harness{New: func(t *testing.T) billingtest.Stores { ... }})
//	}
package billingtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
)

// Stores is one fresh set of stores sharing a transaction runner.
type Stores struct {
	Usage    billing.UsageStore
	Invoices billing.InvoiceStore
	Prices   billing.PriceStore
	// Tx makes the stores' calls atomic; nil when the adapter has no transactions.
	Tx eusaas.TxRunner
	// NewTenant provisions a tenant the stores can hold data for.
	NewTenant func(t *testing.T) eusaas.TenantID
}

// Features are optional behaviours of an adapter.
type Features struct {
	// Transactions: Stores.Tx rolls back every store's writes when fn fails.
	Transactions bool
}

// Harness builds fresh stores for each subtest.
type Harness struct {
	New      func(t *testing.T) Stores
	Features Features
}

// Now is the fake time the suite's services run at: the 5th of a month, so the previous
// month is closed and still inside the 35-day late-arrival horizon.
var Now = time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

type env struct {
	Stores
	svc   *billing.Service
	clock *eusaas.FakeClock
	ctx   context.Context
}

func setup(t *testing.T, h Harness) env {
	t.Helper()
	st := h.New(t)
	clock := eusaas.NewFakeClock(Now)
	tx := st.Tx
	if tx == nil {
		tx = eusaas.NoTx
	}
	svc, err := billing.NewService(billing.Deps{Usage: st.Usage, Invoices: st.Invoices, Prices: st.Prices, Tx: tx}, billing.Options{Clock: clock})
	require.NoError(t, err)
	return env{Stores: st, svc: svc, clock: clock, ctx: context.Background()}
}

func ev(id string, r billing.ResourceType, q string, ts time.Time) billing.UsageEvent {
	return billing.UsageEvent{ID: id, ResourceType: r, Quantity: d(q), Timestamp: ts}
}

// totals sums the tenant's buckets over all time the suite uses.
func totals(t *testing.T, e env, tenant eusaas.TenantID) (qty map[billing.ResourceType]decimal.Decimal, amount decimal.Decimal) {
	t.Helper()
	bs, err := e.Usage.Buckets(e.ctx, tenant, Now.AddDate(0, -3, 0), Now.AddDate(0, 1, 0))
	require.NoError(t, err)
	qty = map[billing.ResourceType]decimal.Decimal{}
	for _, b := range bs {
		qty[b.Resource] = qty[b.Resource].Add(b.Quantity)
		amount = amount.Add(b.Amount)
	}
	return qty, amount
}

func requireDecEqual(t *testing.T, want, got decimal.Decimal, msg ...any) {
	t.Helper()
	require.Truef(t, want.Equal(got), "want %s, got %s %v", want, got, msg)
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	t.Run("RecordAndBuckets", func(t *testing.T) { testRecordAndBuckets(t, h) })
	t.Run("DuplicateAcrossAndWithinBatches", func(t *testing.T) { testDuplicates(t, h) })
	t.Run("SameBatchTenTimes", func(t *testing.T) { testSameBatchTenTimes(t, h) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, h) })
	t.Run("RejectedEventsDoNotAffectOthers", func(t *testing.T) { testRejected(t, h) })
	t.Run("TieredPricesTelescope", func(t *testing.T) { testTiered(t, h) })
	t.Run("FirstDayAndPurge", func(t *testing.T) { testFirstDayAndPurge(t, h) })
	t.Run("Prices", func(t *testing.T) { testPrices(t, h) })
	t.Run("InvoiceLifecycle", func(t *testing.T) { testInvoiceLifecycle(t, h) })
	t.Run("InvoiceNumbersGapFree", func(t *testing.T) { testGapFree(t, h) })
	t.Run("InvoiceReconcilesWithBuckets", func(t *testing.T) { testReconcile(t, h) })
	t.Run("LateEventsBecomeAdjustments", func(t *testing.T) { testAdjustments(t, h) })
	t.Run("InvoiceListing", func(t *testing.T) { testListing(t, h) })
	t.Run("Pseudonymize", func(t *testing.T) { testPseudonymize(t, h) })
	t.Run("TenantIsolation", func(t *testing.T) { testIsolation(t, h) })
	t.Run("ContextCanceled", func(t *testing.T) { testCanceled(t, h) })
	if h.Features.Transactions {
		t.Run("TxRollback", func(t *testing.T) { testRollback(t, h) })
	}
}

func testRecordAndBuckets(t *testing.T, h Harness) {
	e := setup(t, h)
	tn := e.NewTenant(t)
	day1 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	day2 := day1.AddDate(0, 0, 1)
	events := []billing.UsageEvent{
		ev("a", billing.CPU, "1.5", day1),
		ev("b", billing.CPU, "2.25", day1.Add(time.Hour)),
		ev("c", billing.APICalls, "1000", day1),
		ev("d", billing.CPU, "4", day2),
	}
	ins, err := e.Usage.Record(e.ctx, tn, events, billing.PriceBook(billing.DefaultPrices()).Rate)
	require.NoError(t, err)
	require.Equal(t, []bool{true, true, true, true}, ins)
	bs, err := e.Usage.Buckets(e.ctx, tn, billing.Day(day1), billing.Day(day2))
	require.NoError(t, err)
	require.Len(t, bs, 3)
	// ordered by day then resource
	require.Equal(t, billing.APICalls, bs[0].Resource)
	require.True(t, bs[0].Day.Equal(billing.Day(day1)))
	requireDecEqual(t, d("1000"), bs[0].Quantity)
	requireDecEqual(t, d("0.1"), bs[0].Amount)
	require.Equal(t, billing.CPU, bs[1].Resource)
	requireDecEqual(t, d("3.75"), bs[1].Quantity)
	requireDecEqual(t, d("0.075"), bs[1].Amount)
	require.True(t, bs[2].Day.Equal(billing.Day(day2)))
	requireDecEqual(t, d("0.08"), bs[2].Amount)

	only2, err := e.Usage.Buckets(e.ctx, tn, billing.Day(day2), billing.Day(day2))
	require.NoError(t, err)
	require.Len(t, only2, 1)

	b, err := e.svc.Costs(e.ctx, tn, billing.Day(day1), billing.Day(day2), billing.ByResource)
	require.NoError(t, err)
	requireDecEqual(t, d("0.255"), b.Total)
	require.Len(t, b.Lines, 2)
	require.Equal(t, billing.CPU, b.Lines[0].Service)
	requireDecEqual(t, d("7.75"), b.Lines[0].Quantity)
	byDay, err := e.svc.Costs(e.ctx, tn, billing.Day(day1), billing.Day(day2), billing.ByDay)
	require.NoError(t, err)
	// One line per day and service, ordered by day then service, each with its unit and
	// quantity.
	require.Len(t, byDay.Lines, 3)
	require.Equal(t, []billing.ResourceType{billing.CPU, billing.APICalls, billing.CPU},
		[]billing.ResourceType{byDay.Lines[0].Service, byDay.Lines[1].Service, byDay.Lines[2].Service})
	require.True(t, byDay.Lines[0].Day.Equal(billing.Day(day1)) && byDay.Lines[1].Day.Equal(billing.Day(day1)))
	require.True(t, byDay.Lines[2].Day.Equal(billing.Day(day2)))
	requireDecEqual(t, d("0.175"), byDay.Lines[0].Amount.Add(byDay.Lines[1].Amount))
	requireDecEqual(t, d("3.75"), byDay.Lines[0].Quantity)
	require.Equal(t, "vCPU-hour", byDay.Lines[0].Unit)
	requireDecEqual(t, d("1000"), byDay.Lines[1].Quantity)
	requireDecEqual(t, b.Total, byDay.Total)

	dc, err := e.svc.DailyCosts(e.ctx, tn, day1, day2)
	require.NoError(t, err)
	require.Len(t, dc, 3)
	require.Equal(t, "API_CALLS", dc[0].Resource)
}

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

func testTiered(t *testing.T, h Harness) {
	e := setup(t, h)
	tn := e.NewTenant(t)
	up := func(s string) *decimal.Decimal { v := d(s); return &v }
	grad := billing.PriceModel{Kind: billing.PriceModelGraduated, Tiers: []billing.Tier{
		{UpTo: up("100"), UnitPrice: d("0.03")}, {UpTo: up("1000"), UnitPrice: d("0.02")}, {UnitPrice: d("0.01")}}}
	vol := billing.PriceModel{Kind: billing.PriceModelVolume, Tiers: []billing.Tier{
		{UpTo: up("50"), UnitPrice: d("0.01")}, {UnitPrice: d("0.002")}}}
	require.NoError(t, e.svc.SetPrice(e.ctx, tn, billing.CPU, grad))
	require.NoError(t, e.svc.SetPrice(e.ctx, tn, billing.Network, vol))
	rng := rand.New(rand.NewPCG(3, 4))
	var total, ntotal decimal.Decimal
	for b := 0; b < 8; b++ {
		var evs []billing.UsageEvent
		for i := 0; i < 20; i++ {
			q := decimal.New(int64(rng.IntN(5000)), -1)
			ts := time.Date(2026, 3, 1+rng.IntN(5), rng.IntN(12), 0, 0, 0, time.UTC)
			res := billing.CPU
			if i%2 == 1 {
				res = billing.Network
				ntotal = ntotal.Add(q)
			} else {
				total = total.Add(q)
			}
			evs = append(evs, billing.UsageEvent{ID: fmt.Sprintf("t%d-%d", b, i), ResourceType: res, Quantity: q, Timestamp: ts})
		}
		_, err := e.svc.Ingest(e.ctx, tn, evs)
		require.NoError(t, err)
	}
	br, err := e.svc.Costs(e.ctx, tn, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC), billing.ByResource)
	require.NoError(t, err)
	got := map[billing.ResourceType]decimal.Decimal{}
	for _, l := range br.Lines {
		got[l.Service] = l.Amount
	}
	requireDecEqual(t, grad.Cost(total), got[billing.CPU], "graduated month cost")
	requireDecEqual(t, vol.Cost(ntotal), got[billing.Network], "volume month cost")
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

func testPrices(t *testing.T, h Harness) {
	e := setup(t, h)
	tn := e.NewTenant(t)
	book, err := e.svc.PriceBook(e.ctx, tn)
	require.NoError(t, err)
	requireDecEqual(t, d("0.02"), book[billing.CPU].UnitPrice)
	up := d("10")
	tiered := billing.PriceModel{Kind: billing.PriceModelVolume, Tiers: []billing.Tier{{UpTo: &up, UnitPrice: d("0.5")}, {UnitPrice: d("0.25")}}}
	require.NoError(t, e.svc.SetPrice(e.ctx, tn, billing.Memory, tiered))
	require.NoError(t, e.svc.SetPrice(e.ctx, tn, billing.CPU, billing.PerUnit(d("0.03"))))
	require.NoError(t, e.svc.SetPrice(e.ctx, tn, billing.CPU, billing.PerUnit(d("0.04"))))
	over, err := e.Prices.Overrides(e.ctx, tn)
	require.NoError(t, err)
	require.Len(t, over, 2)
	requireDecEqual(t, d("0.04"), over[billing.CPU].UnitPrice)
	require.Equal(t, billing.PriceModelVolume, over[billing.Memory].Kind)
	require.Len(t, over[billing.Memory].Tiers, 2)
	requireDecEqual(t, d("10"), *over[billing.Memory].Tiers[0].UpTo)
	require.Nil(t, over[billing.Memory].Tiers[1].UpTo)
	requireDecEqual(t, d("0.25"), over[billing.Memory].Tiers[1].UnitPrice)
	require.NoError(t, e.Prices.DeleteOverride(e.ctx, tn, billing.CPU))
	require.NoError(t, e.Prices.DeleteOverride(e.ctx, tn, billing.CPU))
	over, err = e.Prices.Overrides(e.ctx, tn)
	require.NoError(t, err)
	require.Len(t, over, 1)

	rate, err := e.Prices.TaxRate(e.ctx, tn)
	require.NoError(t, err)
	require.True(t, rate.IsZero())
	require.NoError(t, e.svc.SetTaxRate(e.ctx, tn, d("0.19")))
	rate, err = e.Prices.TaxRate(e.ctx, tn)
	require.NoError(t, err)
	requireDecEqual(t, d("0.19"), rate)
	require.Error(t, e.svc.SetTaxRate(e.ctx, tn, d("-0.1")))
	bad := billing.PriceModel{Kind: billing.PriceModelGraduated, Tiers: []billing.Tier{{UnitPrice: d("1")}, {UnitPrice: d("2")}}}
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(e.svc.SetPrice(e.ctx, tn, billing.CPU, bad)))
}

var numberRE = regexp.MustCompile(`^INV-\d{4}-\d{6}$`)

func febEvents(n int, seed uint64) []billing.UsageEvent {
	rng := rand.New(rand.NewPCG(seed, 11))
	out := make([]billing.UsageEvent, n)
	for i := range out {
		out[i] = billing.UsageEvent{
			ID:           fmt.Sprintf("feb-%d-%d", seed, i),
			ResourceType: billing.ResourceTypes[rng.IntN(len(billing.ResourceTypes))],
			Quantity:     decimal.New(int64(rng.IntN(10_000_000)), -int32(rng.IntN(6))),
			Timestamp:    time.Date(2026, 2, 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), 0, 0, time.UTC),
		}
	}
	return out
}

func testInvoiceLifecycle(t *testing.T, h Harness) {
	e := setup(t, h)
	tn := e.NewTenant(t)
	_, err := e.svc.Ingest(e.ctx, tn, febEvents(50, 1))
	require.NoError(t, err)
	require.NoError(t, e.svc.SetTaxRate(e.ctx, tn, d("0.21")))

	_, err = e.svc.DraftInvoice(e.ctx, tn, Now)
	require.ErrorIs(t, err, billing.ErrPeriodNotClosed)

	feb := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	dr, err := e.svc.DraftInvoice(e.ctx, tn, feb)
	require.NoError(t, err)
	require.Equal(t, billing.StatusDraft, dr.Status)
	require.Empty(t, dr.Number)
	require.Equal(t, billing.RoundingRule, dr.RoundingRule)
	// Re-drafting a DRAFT recomputes it in place.
	dr2, err := e.svc.DraftInvoice(e.ctx, tn, feb)
	require.NoError(t, err)
	require.Equal(t, dr.ID, dr2.ID)

	got, err := e.svc.Invoice(e.ctx, tn, dr.ID)
	require.NoError(t, err)
	requireDecEqual(t, dr.Total, got.Total)
	require.Len(t, got.Lines, len(dr.Lines))
	require.True(t, got.PeriodStart.Equal(feb))
	require.True(t, got.PeriodEnd.Equal(time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)))
	requireDecEqual(t, d("0.21"), got.TaxRate)

	_, err = e.svc.MarkPaid(e.ctx, tn, dr.ID)
	require.ErrorIs(t, err, billing.ErrInvalidTransition)

	iss, err := e.svc.Issue(e.ctx, tn, dr.ID)
	require.NoError(t, err)
	require.Regexp(t, numberRE, iss.Number)
	require.Equal(t, "INV-2026-000001", iss.Number)
	require.NotNil(t, iss.IssuedAt)
	require.NotNil(t, iss.DueDate)
	_, err = e.svc.Issue(e.ctx, tn, dr.ID)
	require.ErrorIs(t, err, billing.ErrInvalidTransition)
	_, err = e.svc.DraftInvoice(e.ctx, tn, feb)
	require.ErrorIs(t, err, billing.ErrAlreadyInvoiced)

	// Issued content cannot change, even through the store.
	tampered := iss
	tampered.Total = d("1")
	tampered.Lines = nil
	tampered.Status = billing.StatusPaid
	require.NoError(t, e.Invoices.Update(e.ctx, tampered, billing.StatusIssued))
	got, err = e.svc.Invoice(e.ctx, tn, dr.ID)
	require.NoError(t, err)
	requireDecEqual(t, iss.Total, got.Total)
	require.Len(t, got.Lines, len(iss.Lines))
	require.Equal(t, iss.Number, got.Number)
	require.Equal(t, billing.StatusPaid, got.Status)
	require.ErrorIs(t, e.Invoices.Update(e.ctx, tampered, billing.StatusIssued), billing.ErrStatusConflict)

	// overdue sweep on a second invoice
	_, err = e.svc.Ingest(e.ctx, tn, []billing.UsageEvent{ev("m1", billing.CPU, "10", Now)})
	require.NoError(t, err)
	e.clock.Set(time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC))
	mar, err := e.svc.DraftInvoice(e.ctx, tn, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	mar, err = e.svc.Issue(e.ctx, tn, mar.ID)
	require.NoError(t, err)
	require.Equal(t, "INV-2026-000002", mar.Number)
	n, err := e.svc.MarkOverdue(e.ctx, tn)
	require.NoError(t, err)
	require.Zero(t, n)
	e.clock.Set(time.Date(2026, 5, 10, 0, 0, 0, 0, time.UTC))
	n, err = e.svc.MarkOverdue(e.ctx, tn)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	got, err = e.svc.Invoice(e.ctx, tn, mar.ID)
	require.NoError(t, err)
	require.Equal(t, billing.StatusOverdue, got.Status)
	v, err := e.svc.Void(e.ctx, tn, mar.ID)
	require.NoError(t, err)
	require.Equal(t, billing.StatusVoid, v.Status)
	_, err = e.svc.MarkPaid(e.ctx, tn, mar.ID)
	require.ErrorIs(t, err, billing.ErrInvalidTransition)

	_, err = e.svc.Invoice(e.ctx, tn, uuid.New())
	require.Equal(t, eusaas.NotFound, eusaas.KindOf(err))
}

func testGapFree(t *testing.T, h Harness) {
	e := setup(t, h)
	const tenants = 6
	var ids []eusaas.TenantID
	var invs []uuid.UUID
	for i := 0; i < tenants; i++ {
		tn := e.NewTenant(t)
		_, err := e.svc.Ingest(e.ctx, tn, febEvents(5, uint64(i)))
		require.NoError(t, err)
		inv, err := e.svc.DraftInvoice(e.ctx, tn, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
		require.NoError(t, err)
		ids, invs = append(ids, tn), append(invs, inv.ID)
	}
	// Each invoice is issued by three racing callers: exactly one wins per invoice.
	var wg sync.WaitGroup
	var mu sync.Mutex
	numbers := map[string]bool{}
	for i := range ids {
		for k := 0; k < 3; k++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				inv, err := e.svc.Issue(e.ctx, ids[i], invs[i])
				if err != nil {
					if !errors.Is(err, billing.ErrInvalidTransition) && !errors.Is(err, billing.ErrStatusConflict) &&
						eusaas.KindOf(err) != eusaas.Aborted {
						t.Errorf("issue: %v", err)
					}
					return
				}
				mu.Lock()
				numbers[inv.Number] = true
				mu.Unlock()
			}(i)
		}
	}
	wg.Wait()
	for i := range ids {
		inv, err := e.svc.Invoice(e.ctx, ids[i], invs[i])
		require.NoError(t, err)
		if inv.Status != billing.StatusIssued {
			// Every loser may have aborted too; issue once more serially.
			inv, err = e.svc.Issue(e.ctx, ids[i], invs[i])
			require.NoError(t, err)
			numbers[inv.Number] = true
		}
	}
	require.Len(t, numbers, tenants)
	for n := 1; n <= tenants; n++ {
		require.True(t, numbers[billing.InvoiceNumber(2026, int64(n))], "number %d missing: %v", n, numbers)
	}
}

// testReconcile is a property test: for random usage, an invoice's lines equal the rounded
// sums of the month's buckets, lines add up to the subtotal, and subtotal + tax = total.
func testReconcile(t *testing.T, h Harness) {
	for seed := uint64(1); seed <= 5; seed++ {
		e := setup(t, h)
		tn := e.NewTenant(t)
		rng := rand.New(rand.NewPCG(seed, 99))
		require.NoError(t, e.svc.SetTaxRate(e.ctx, tn, decimal.New(int64(rng.IntN(30)), -2)))
		all := febEvents(100+rng.IntN(300), seed)
		for len(all) > 0 {
			n := min(len(all), 1+rng.IntN(200))
			_, err := e.svc.Ingest(e.ctx, tn, all[:n])
			require.NoError(t, err)
			all = all[n:]
		}
		feb := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
		inv, err := e.svc.DraftInvoice(e.ctx, tn, feb)
		require.NoError(t, err)
		bs, err := e.Usage.Buckets(e.ctx, tn, feb, billing.MonthEnd(feb))
		require.NoError(t, err)
		exact := map[billing.ResourceType]decimal.Decimal{}
		for _, b := range bs {
			exact[b.Resource] = exact[b.Resource].Add(b.Amount)
		}
		var sum decimal.Decimal
		for _, l := range inv.Lines {
			requireDecEqual(t, exact[l.Resource].Round(2), l.Amount, l.Resource)
			sum = sum.Add(l.Amount)
		}
		require.Len(t, inv.Lines, len(exact))
		requireDecEqual(t, sum, inv.Subtotal, "lines sum to subtotal")
		requireDecEqual(t, inv.Subtotal.Add(inv.TaxAmount), inv.Total, "subtotal + tax = total")
		requireDecEqual(t, inv.Subtotal.Mul(inv.TaxRate).Round(2), inv.TaxAmount, "tax")
		stored, err := e.svc.Invoice(e.ctx, tn, inv.ID)
		require.NoError(t, err)
		requireDecEqual(t, inv.Total, stored.Total)
		requireDecEqual(t, inv.Subtotal, stored.Subtotal)
		for i, l := range stored.Lines {
			requireDecEqual(t, inv.Lines[i].Amount, l.Amount)
			requireDecEqual(t, inv.Lines[i].Quantity, l.Quantity)
		}
	}
}

func testAdjustments(t *testing.T, h Harness) {
	e := setup(t, h)
	tn := e.NewTenant(t)
	feb := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	_, err := e.svc.Ingest(e.ctx, tn, []billing.UsageEvent{ev("f1", billing.CPU, "100", feb.Add(time.Hour))})
	require.NoError(t, err)
	inv, err := e.svc.DraftInvoice(e.ctx, tn, feb)
	require.NoError(t, err)
	_, err = e.svc.Issue(e.ctx, tn, inv.ID)
	require.NoError(t, err)
	requireDecEqual(t, d("2"), inv.Subtotal)
	// Late February usage arrives after February was invoiced, then March usage.
	_, err = e.svc.Ingest(e.ctx, tn, []billing.UsageEvent{
		ev("late", billing.CPU, "50", time.Date(2026, 2, 27, 0, 0, 0, 0, time.UTC)),
		ev("late-api", billing.APICalls, "10000", time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)),
		ev("m1", billing.CPU, "10", Now),
	})
	require.NoError(t, err)
	e.clock.Set(time.Date(2026, 4, 1, 1, 0, 0, 0, time.UTC))
	mar, err := e.svc.DraftInvoice(e.ctx, tn, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	var adj []billing.InvoiceLine
	for _, l := range mar.Lines {
		if l.Adjustment {
			adj = append(adj, l)
			require.True(t, l.UsageMonth.Equal(feb))
		}
	}
	require.Len(t, adj, 2)
	requireDecEqual(t, d("1"), adj[0].Amount)
	requireDecEqual(t, d("50"), adj[0].Quantity)
	requireDecEqual(t, d("1"), adj[1].Amount)
	requireDecEqual(t, d("2.2"), mar.Subtotal)
	// The February invoice itself did not change.
	got, err := e.svc.Invoice(e.ctx, tn, inv.ID)
	require.NoError(t, err)
	requireDecEqual(t, d("2"), got.Subtotal)
	// Adjustments are billed once: issuing March and drafting April adds none for February.
	_, err = e.svc.Issue(e.ctx, tn, mar.ID)
	require.NoError(t, err)
	e.clock.Set(time.Date(2026, 5, 1, 1, 0, 0, 0, time.UTC))
	apr, err := e.svc.DraftInvoice(e.ctx, tn, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Empty(t, apr.Lines)
	require.True(t, apr.Total.IsZero())
}

func testListing(t *testing.T, h Harness) {
	e := setup(t, h)
	tn := e.NewTenant(t)
	var ids []uuid.UUID
	for m := 0; m < 5; m++ {
		month := time.Date(2025, time.Month(8+m), 1, 0, 0, 0, 0, time.UTC)
		inv, err := e.svc.DraftInvoice(e.ctx, tn, month)
		require.NoError(t, err)
		ids = append(ids, inv.ID)
	}
	_, err := e.svc.Issue(e.ctx, tn, ids[1])
	require.NoError(t, err)
	_, err = e.svc.Issue(e.ctx, tn, ids[3])
	require.NoError(t, err)
	l, err := e.svc.Invoices(e.ctx, tn, billing.InvoiceFilter{}, eusaas.Page{Page: 1, Size: 2})
	require.NoError(t, err)
	require.Equal(t, 5, l.Total)
	require.Len(t, l.Items, 2)
	require.Equal(t, ids[4], l.Items[0].ID, "newest period first")
	l, err = e.svc.Invoices(e.ctx, tn, billing.InvoiceFilter{}, eusaas.Page{Page: 3, Size: 2})
	require.NoError(t, err)
	require.Len(t, l.Items, 1)
	require.Equal(t, ids[0], l.Items[0].ID)
	l, err = e.svc.Invoices(e.ctx, tn, billing.InvoiceFilter{Status: billing.StatusIssued}, eusaas.Page{})
	require.NoError(t, err)
	require.Equal(t, 2, l.Total)
	require.Equal(t, ids[3], l.Items[0].ID)
	_, err = e.svc.Invoices(e.ctx, tn, billing.InvoiceFilter{Status: "NOPE"}, eusaas.Page{})
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
}

func testPseudonymize(t *testing.T, h Harness) {
	e := setup(t, h)
	tn := e.NewTenant(t)
	_, err := e.svc.Ingest(e.ctx, tn, []billing.UsageEvent{
		{ID: "u1", ResourceType: billing.CPU, Quantity: d("1"), Timestamp: Now, Attributes: map[string]string{"user": "alice", "node": "n1"}},
		{ID: "u2", ResourceType: billing.CPU, Quantity: d("1"), Timestamp: Now, Attributes: map[string]string{"user": "bob"}},
		ev("f", billing.CPU, "1", time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)),
	})
	require.NoError(t, err)
	inv, err := e.svc.DraftInvoice(e.ctx, tn, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	ctx := eusaas.WithActor(e.ctx, eusaas.Actor{Kind: eusaas.ActorUser, ID: "alice", TenantID: tn})
	_, err = e.svc.Issue(ctx, tn, inv.ID)
	require.NoError(t, err)
	got, _ := e.svc.Invoice(e.ctx, tn, inv.ID)
	require.Equal(t, "alice", got.IssuedBy)

	n, err := e.svc.PseudonymizeSubject(e.ctx, tn, "alice")
	require.NoError(t, err)
	require.Equal(t, 2, n, "one invoice and one event")
	got, err = e.svc.Invoice(e.ctx, tn, inv.ID)
	require.NoError(t, err)
	require.Equal(t, billing.Pseudonym(tn, "alice"), got.IssuedBy)
	require.Equal(t, billing.StatusIssued, got.Status, "the invoice is kept")
	n, err = e.svc.PseudonymizeSubject(e.ctx, tn, "alice")
	require.NoError(t, err)
	require.Zero(t, n, "idempotent")
}

func testIsolation(t *testing.T, h Harness) {
	e := setup(t, h)
	a, b := e.NewTenant(t), e.NewTenant(t)
	_, err := e.svc.Ingest(e.ctx, a, []billing.UsageEvent{ev("same", billing.CPU, "1", Now), ev("f", billing.CPU, "3", time.Date(2026, 2, 2, 0, 0, 0, 0, time.UTC))})
	require.NoError(t, err)
	// The same id is independent per tenant.
	r, err := e.svc.Ingest(e.ctx, b, []billing.UsageEvent{ev("same", billing.Memory, "2", Now)})
	require.NoError(t, err)
	require.Equal(t, 1, r.Accepted)
	qa, _ := totals(t, e, a)
	qb, _ := totals(t, e, b)
	requireDecEqual(t, d("4"), qa[billing.CPU])
	require.True(t, qa[billing.Memory].IsZero())
	requireDecEqual(t, d("2"), qb[billing.Memory])
	require.True(t, qb[billing.CPU].IsZero())
	_, okB, err := e.Usage.FirstDay(e.ctx, b)
	require.NoError(t, err)
	require.True(t, okB)

	require.NoError(t, e.svc.SetPrice(e.ctx, a, billing.CPU, billing.PerUnit(d("9"))))
	require.NoError(t, e.svc.SetTaxRate(e.ctx, a, d("0.2")))
	over, err := e.Prices.Overrides(e.ctx, b)
	require.NoError(t, err)
	require.Empty(t, over)
	rate, err := e.Prices.TaxRate(e.ctx, b)
	require.NoError(t, err)
	require.True(t, rate.IsZero())

	inv, err := e.svc.DraftInvoice(e.ctx, a, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	_, err = e.svc.Invoice(e.ctx, b, inv.ID)
	require.Equal(t, eusaas.NotFound, eusaas.KindOf(err))
	_, err = e.svc.Issue(e.ctx, b, inv.ID)
	require.Equal(t, eusaas.NotFound, eusaas.KindOf(err))
	other := inv
	other.TenantID = b
	require.Equal(t, eusaas.NotFound, eusaas.KindOf(e.Invoices.Update(e.ctx, other, billing.StatusDraft)))
	l, err := e.svc.Invoices(e.ctx, b, billing.InvoiceFilter{}, eusaas.Page{})
	require.NoError(t, err)
	require.Zero(t, l.Total)
	// B may draft its own February although A has one.
	_, err = e.svc.DraftInvoice(e.ctx, b, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	n, err := e.Usage.PurgeDedup(e.ctx, b, time.Now().Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	r, err = e.svc.Ingest(e.ctx, a, []billing.UsageEvent{ev("same", billing.CPU, "1", Now)})
	require.NoError(t, err)
	require.Equal(t, 1, r.Duplicates, "B's purge left A's ids alone")
}

func testCanceled(t *testing.T, h Harness) {
	e := setup(t, h)
	tn := e.NewTenant(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rate := billing.PriceBook(billing.DefaultPrices()).Rate
	_, err := e.Usage.Record(ctx, tn, []billing.UsageEvent{ev("x", billing.CPU, "1", Now)}, rate)
	require.Error(t, err)
	_, err = e.Usage.Buckets(ctx, tn, Now, Now)
	require.Error(t, err)
	_, _, err = e.Usage.FirstDay(ctx, tn)
	require.Error(t, err)
	_, err = e.Usage.PurgeDedup(ctx, tn, Now)
	require.Error(t, err)
	_, err = e.Invoices.Get(ctx, tn, uuid.New())
	require.Error(t, err)
	_, err = e.Invoices.List(ctx, tn, billing.InvoiceFilter{}, eusaas.Page{})
	require.Error(t, err)
	_, err = e.Invoices.NextNumber(ctx, 2026)
	require.Error(t, err)
	_, err = e.Prices.Overrides(ctx, tn)
	require.Error(t, err)
	require.Error(t, e.Prices.SetTaxRate(ctx, tn, d("0.1")))
	// Nothing was recorded by the canceled call.
	qty, _ := totals(t, e, tn)
	require.True(t, qty[billing.CPU].IsZero())
}

func testRollback(t *testing.T, h Harness) {
	e := setup(t, h)
	tn := e.NewTenant(t)
	boom := errors.New("boom")
	rate := billing.PriceBook(billing.DefaultPrices()).Rate
	err := e.Tx.InTx(e.ctx, func(ctx context.Context) error {
		if _, err := e.Usage.Record(ctx, tn, []billing.UsageEvent{ev("r1", billing.CPU, "5", Now)}, rate); err != nil {
			return err
		}
		if _, err := e.Invoices.NextNumber(ctx, 2026); err != nil {
			return err
		}
		if err := e.Prices.SetTaxRate(ctx, tn, d("0.5")); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	qty, _ := totals(t, e, tn)
	require.True(t, qty[billing.CPU].IsZero(), "bucket rolled back")
	ins, err := e.Usage.Record(e.ctx, tn, []billing.UsageEvent{ev("r1", billing.CPU, "5", Now)}, rate)
	require.NoError(t, err)
	require.Equal(t, []bool{true}, ins, "dedup row rolled back")
	n, err := e.Invoices.NextNumber(e.ctx, 2026)
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "counter rolled back: no gap")
	rate2, err := e.Prices.TaxRate(e.ctx, tn)
	require.NoError(t, err)
	require.True(t, rate2.IsZero())
}
