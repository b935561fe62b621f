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
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
)

// The suite is one file per area, as River's riverdrivertest is: ingestion.go (usage
// ingestion, deduplication, purge), buckets.go (the daily buckets usage rolls up into), prices.go
// and invoices.go; this file holds the harness, the shared helpers and the checks that span
// every store (pseudonymisation, tenant isolation, cancellation, rollback).

// Stores is one fresh set of stores sharing a transaction runner.
type Stores struct {
	Usage    billing.UsageStore
	Invoices billing.InvoiceStore
	Prices   billing.PriceStore
	// Profiles and CreditNotes are the invoicing stores; nil when the adapter has none
	// (their tests are then skipped).
	Profiles    billing.ProfileStore
	CreditNotes billing.CreditNoteStore
	// Metrics is the custom-metric catalogue; nil: its tests are skipped. Usage stores that
	// implement billing.AggregatingStore are also tested with MAX, LATEST and UNIQUE_COUNT.
	Metrics billing.MetricStore
	// Plans keeps plans and plan histories; nil: the plan tests are skipped.
	Plans billing.PlanStore
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
	t.Run("EraseAttributes", func(t *testing.T) { testEraseAttributes(t, h) })
	t.Run("Prices", func(t *testing.T) { testPrices(t, h) })
	t.Run("InvoiceLifecycle", func(t *testing.T) { testInvoiceLifecycle(t, h) })
	t.Run("InvoiceNumbersGapFree", func(t *testing.T) { testGapFree(t, h) })
	t.Run("InvoiceReconcilesWithBuckets", func(t *testing.T) { testReconcile(t, h) })
	t.Run("LateEventsBecomeAdjustments", func(t *testing.T) { testAdjustments(t, h) })
	t.Run("InvoiceListing", func(t *testing.T) { testListing(t, h) })
	t.Run("Pseudonymize", func(t *testing.T) { testPseudonymize(t, h) })
	t.Run("AttributeAggregates", func(t *testing.T) { testAttributes(t, h) })
	t.Run("TenantIsolation", func(t *testing.T) { testIsolation(t, h) })
	t.Run("ContextCanceled", func(t *testing.T) { testCanceled(t, h) })
	if h.Features.Transactions {
		t.Run("TxRollback", func(t *testing.T) { testRollback(t, h) })
	}
	t.Run("Profiles", func(t *testing.T) { testProfiles(t, h) })
	t.Run("CreditNotes", func(t *testing.T) { testCreditNotes(t, h) })
	t.Run("Metrics", func(t *testing.T) { testMetrics(t, h) })
	t.Run("MetricAggregations", func(t *testing.T) { testMetricAggregations(t, h) })
	t.Run("PlanFeeProrationOverage", func(t *testing.T) { testPlanInvoice(t, h) })
	t.Run("PlanStore", func(t *testing.T) { testPlanStore(t, h) })
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
