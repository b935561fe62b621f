// Package anomalytest is the conformance suite of anomaly.Store. An adapter proves itself
// with
//
//	func TestConformance(t *testing.T) { anomalytest.Run(t, harness) }
package anomalytest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly"
)

// Env is one fresh store.
type Env struct {
	Store anomaly.Store
	// NewTenant returns a tenant the store can hold data for (the Postgres harness creates
	// its schema).
	NewTenant func(t *testing.T) eusaas.TenantID
	// Tx runs a transaction the store takes part in; nil when unsupported.
	Tx eusaas.TxRunner
	// SoftDeleteBefore runs the adapter's GDPR retention on tenant so that its anomalies
	// detected before cutoff are soft-deleted (not yet hard-deleted); nil skips
	// SoftDeletedInvisible.
	SoftDeleteBefore func(t *testing.T, tenant eusaas.TenantID, cutoff time.Time)
}

// Harness makes a fresh Env per subtest.
type Harness struct {
	New func(t *testing.T) Env
}

var day0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// Sample returns a valid anomaly of tenant on service and day d (days after 2026-03-01).
func Sample(tenant eusaas.TenantID, service string, d int) anomaly.Anomaly {
	pct := decimal.RequireFromString("212.35")
	share := decimal.RequireFromString("97.50")
	return anomaly.Anomaly{
		ID: uuid.Must(uuid.NewV7()), TenantID: tenant, Day: day0.AddDate(0, 0, d),
		DetectedAt: time.Date(2026, 3, 2, 3, 4, 5, 123456000, time.UTC),
		Service:    service, Kind: anomaly.KindSpike, Rule: "seasonal", Severity: anomaly.SeverityHigh, Score: 7.25,
		Expected:     decimal.RequireFromString("40.015"),
		Actual:       decimal.RequireFromString("125.00000001"),
		Impact:       decimal.RequireFromString("84.98500001"),
		DeviationPct: &pct,
		Description:  "CPU spike",
		Contributions: []anomaly.Contribution{
			{Resource: service, Expected: decimal.RequireFromString("40.015"), Actual: decimal.RequireFromString("125.00000001"), Delta: decimal.RequireFromString("84.98500001"), SharePct: &share},
			{Resource: "ZZZ", Expected: decimal.RequireFromString("1"), Actual: decimal.RequireFromString("3.2"), Delta: decimal.RequireFromString("2.2")},
		},
		RootCauses: []anomaly.RootCause{
			{Dimension: "region", Value: "eu-west-1", ExpectedAmount: decimal.RequireFromString("10.5"), ActualAmount: decimal.RequireFromString("80.25"),
				ContributionAmount: decimal.RequireFromString("69.75"), SharePct: decimal.RequireFromString("82.07")},
			{Dimension: "usage_type", Value: "gpu.large \"quoted\"", ExpectedAmount: decimal.Zero, ActualAmount: decimal.RequireFromString("9"),
				ContributionAmount: decimal.RequireFromString("9"), SharePct: decimal.RequireFromString("10.59")},
		},
	}
}

func eqDec(t *testing.T, want, got decimal.Decimal, what string) {
	t.Helper()
	require.Truef(t, want.Equal(got), "%s: want %s, got %s", what, want, got)
}

// RequireSame checks that got is want as stored (amounts exact, times to the microsecond).
func RequireSame(t *testing.T, want, got anomaly.Anomaly) {
	t.Helper()
	require.Equal(t, want.ID, got.ID)
	require.Equal(t, want.TenantID, got.TenantID)
	require.True(t, want.Day.Equal(got.Day), "day")
	require.WithinDuration(t, want.DetectedAt, got.DetectedAt, time.Microsecond)
	require.Equal(t, want.Service, got.Service)
	require.Equal(t, want.Kind, got.Kind)
	require.Equal(t, want.Rule, got.Rule)
	require.Equal(t, want.Severity, got.Severity)
	require.InDelta(t, want.Score, got.Score, 1e-9)
	eqDec(t, want.Expected, got.Expected, "expected")
	eqDec(t, want.Actual, got.Actual, "actual")
	eqDec(t, want.Impact, got.Impact, "impact")
	require.Len(t, got.RootCauses, len(want.RootCauses), "root causes")
	for i, w := range want.RootCauses {
		g := got.RootCauses[i]
		require.Equal(t, w.Dimension, g.Dimension)
		require.Equal(t, w.Value, g.Value)
		eqDec(t, w.ExpectedAmount, g.ExpectedAmount, "root cause expected")
		eqDec(t, w.ActualAmount, g.ActualAmount, "root cause actual")
		eqDec(t, w.ContributionAmount, g.ContributionAmount, "root cause contribution")
		eqDec(t, w.SharePct, g.SharePct, "root cause share")
	}
	require.Equal(t, want.DeviationPct == nil, got.DeviationPct == nil, "deviation_pct nil-ness")
	if want.DeviationPct != nil {
		eqDec(t, *want.DeviationPct, *got.DeviationPct, "deviation_pct")
	}
	require.Equal(t, want.Description, got.Description)
	require.Len(t, got.Contributions, len(want.Contributions))
	for i, c := range want.Contributions {
		g := got.Contributions[i]
		require.Equal(t, c.Resource, g.Resource)
		eqDec(t, c.Expected, g.Expected, "contribution expected")
		eqDec(t, c.Actual, g.Actual, "contribution actual")
		eqDec(t, c.Delta, g.Delta, "contribution delta")
		require.Equal(t, c.SharePct == nil, g.SharePct == nil)
		if c.SharePct != nil {
			eqDec(t, *c.SharePct, *g.SharePct, "share")
		}
	}
	require.Equal(t, want.Acknowledged, got.Acknowledged)
	require.Equal(t, want.AcknowledgedBy, got.AcknowledgedBy)
	require.Equal(t, want.AcknowledgedAt == nil, got.AcknowledgedAt == nil)
	if want.AcknowledgedAt != nil {
		require.WithinDuration(t, *want.AcknowledgedAt, *got.AcknowledgedAt, time.Microsecond)
	}
	require.Equal(t, want.SuppressedBy, got.SuppressedBy)
	require.Equal(t, want.Alerted, got.Alerted)
	require.Equal(t, len(want.AlertedSubscriptions), len(got.AlertedSubscriptions))
	for i := range want.AlertedSubscriptions {
		require.Equal(t, want.AlertedSubscriptions[i], got.AlertedSubscriptions[i])
	}
	require.Equal(t, want.Feedback == nil, got.Feedback == nil, "feedback nil-ness")
	if want.Feedback != nil {
		require.Equal(t, want.Feedback.Verdict, got.Feedback.Verdict)
		require.Equal(t, want.Feedback.Note, got.Feedback.Note)
		require.Equal(t, want.Feedback.By, got.Feedback.By)
		require.WithinDuration(t, want.Feedback.At, got.Feedback.At, time.Microsecond)
	}
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	ctx := context.Background()
	runAlerts(t, h)
	runFeedback(t, h)
	runEpisodes(t, h)

	t.Run("InsertGetRoundTrip", func(t *testing.T) {
		t.Parallel()
		env := h.New(t)
		tn := env.NewTenant(t)
		a := Sample(tn, "CPU", 0)
		got, created, err := env.Store.Insert(ctx, a)
		require.NoError(t, err)
		require.True(t, created)
		RequireSame(t, a, got)
		got, err = env.Store.Get(ctx, tn, a.ID)
		require.NoError(t, err)
		RequireSame(t, a, got)

		// New spend: no deviation; suppressed anomalies keep their link.
		b := Sample(tn, "NETWORK", 0)
		b.Kind, b.Expected, b.DeviationPct, b.Contributions = anomaly.KindNewSpend, decimal.Zero, nil, nil
		at := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
		b.Acknowledged, b.AcknowledgedBy, b.AcknowledgedAt, b.SuppressedBy = true, "user-1", &at, &a.ID
		_, created, err = env.Store.Insert(ctx, b)
		require.NoError(t, err)
		require.True(t, created)
		got, err = env.Store.Get(ctx, tn, b.ID)
		require.NoError(t, err)
		RequireSame(t, b, got)
	})

	t.Run("InsertIdempotentPerServiceAndDay", func(t *testing.T) {
		t.Parallel()
		env := h.New(t)
		tn := env.NewTenant(t)
		a := Sample(tn, "CPU", 3)
		_, created, err := env.Store.Insert(ctx, a)
		require.NoError(t, err)
		require.True(t, created)
		again := Sample(tn, "CPU", 3) // new id, same key
		again.Actual = decimal.RequireFromString("999")
		got, created, err := env.Store.Insert(ctx, again)
		require.NoError(t, err)
		require.False(t, created)
		RequireSame(t, a, got)
		_, err = env.Store.Get(ctx, tn, again.ID)
		require.ErrorIs(t, err, anomaly.ErrNotFound)
		// Another service or day is another anomaly.
		_, created, err = env.Store.Insert(ctx, Sample(tn, "MEMORY", 3))
		require.NoError(t, err)
		require.True(t, created)
		_, created, err = env.Store.Insert(ctx, Sample(tn, "CPU", 4))
		require.NoError(t, err)
		require.True(t, created)
	})

	t.Run("InsertRejectsInvalid", func(t *testing.T) {
		t.Parallel()
		env := h.New(t)
		tn := env.NewTenant(t)
		a := Sample(tn, "CPU", 0)
		a.Severity = "SEVERE"
		_, _, err := env.Store.Insert(ctx, a)
		require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
		a = Sample(tn, "CPU", 0)
		a.Day = a.Day.Add(time.Hour)
		_, _, err = env.Store.Insert(ctx, a)
		require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	})

	t.Run("GetUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		env := h.New(t)
		tn := env.NewTenant(t)
		_, err := env.Store.Get(ctx, tn, uuid.New())
		require.ErrorIs(t, err, anomaly.ErrNotFound)
		require.Equal(t, eusaas.NotFound, eusaas.KindOf(err))
		_, err = env.Store.Acknowledge(ctx, tn, uuid.New(), "u", time.Now())
		require.Equal(t, eusaas.NotFound, eusaas.KindOf(err))
	})

	t.Run("ListOrderFiltersAndPages", func(t *testing.T) {
		t.Parallel()
		env := h.New(t)
		tn := env.NewTenant(t)
		sev := []anomaly.Severity{anomaly.SeverityLow, anomaly.SeverityHigh, anomaly.SeverityCritical}
		var ids []uuid.UUID
		for d := 0; d < 5; d++ {
			for i, svc := range []string{"MEMORY", "CPU"} {
				a := Sample(tn, svc, d)
				a.Severity = sev[(d+i)%3]
				_, _, err := env.Store.Insert(ctx, a)
				require.NoError(t, err)
				ids = append(ids, a.ID)
			}
		}
		_, err := env.Store.Acknowledge(ctx, tn, ids[0], "u1", day0) // day 0 MEMORY
		require.NoError(t, err)

		all, err := env.Store.List(ctx, tn, anomaly.Filter{}, eusaas.Page{Page: 1, Size: 100})
		require.NoError(t, err)
		require.Equal(t, 10, all.Total)
		require.Len(t, all.Items, 10)
		for i := 1; i < len(all.Items); i++ {
			p, c := all.Items[i-1], all.Items[i]
			require.True(t, p.Day.After(c.Day) || (p.Day.Equal(c.Day) && p.Service < c.Service), "newest day first, then service")
		}
		require.Equal(t, "CPU", all.Items[0].Service)
		require.True(t, all.Items[0].Day.Equal(day0.AddDate(0, 0, 4)))

		p2, err := env.Store.List(ctx, tn, anomaly.Filter{}, eusaas.Page{Page: 2, Size: 3})
		require.NoError(t, err)
		require.Equal(t, 10, p2.Total)
		require.Len(t, p2.Items, 3)
		require.Equal(t, all.Items[3].ID, p2.Items[0].ID)
		p4, err := env.Store.List(ctx, tn, anomaly.Filter{}, eusaas.Page{Page: 4, Size: 3})
		require.NoError(t, err)
		require.Len(t, p4.Items, 1)
		p9, err := env.Store.List(ctx, tn, anomaly.Filter{}, eusaas.Page{Page: 9, Size: 3})
		require.NoError(t, err)
		require.Empty(t, p9.Items)
		require.Equal(t, 10, p9.Total)

		high := anomaly.SeverityHigh
		hs, err := env.Store.List(ctx, tn, anomaly.Filter{Severity: &high}, eusaas.Page{Page: 1, Size: 100})
		require.NoError(t, err)
		require.NotZero(t, hs.Total)
		for _, a := range hs.Items {
			require.Equal(t, anomaly.SeverityHigh, a.Severity)
		}
		yes, no := true, false
		ack, err := env.Store.List(ctx, tn, anomaly.Filter{Acknowledged: &yes}, eusaas.Page{Page: 1, Size: 100})
		require.NoError(t, err)
		require.Equal(t, 1, ack.Total)
		require.Equal(t, ids[0], ack.Items[0].ID)
		unack, err := env.Store.List(ctx, tn, anomaly.Filter{Acknowledged: &no}, eusaas.Page{Page: 1, Size: 100})
		require.NoError(t, err)
		require.Equal(t, 9, unack.Total)
		low := anomaly.SeverityLow
		both, err := env.Store.List(ctx, tn, anomaly.Filter{Acknowledged: &yes, Severity: &low}, eusaas.Page{Page: 1, Size: 100})
		require.NoError(t, err)
		require.Equal(t, 1, both.Total, "day 0 MEMORY is LOW and acknowledged")
	})

	t.Run("AcknowledgeFirstWins", func(t *testing.T) {
		t.Parallel()
		env := h.New(t)
		tn := env.NewTenant(t)
		a := Sample(tn, "CPU", 0)
		_, _, err := env.Store.Insert(ctx, a)
		require.NoError(t, err)
		at := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
		got, err := env.Store.Acknowledge(ctx, tn, a.ID, "alice", at)
		require.NoError(t, err)
		require.True(t, got.Acknowledged)
		require.Equal(t, "alice", got.AcknowledgedBy)
		require.WithinDuration(t, at, *got.AcknowledgedAt, time.Microsecond)
		again, err := env.Store.Acknowledge(ctx, tn, a.ID, "bob", at.Add(time.Hour))
		require.NoError(t, err)
		require.Equal(t, "alice", again.AcknowledgedBy)
		require.WithinDuration(t, at, *again.AcknowledgedAt, time.Microsecond)
		stored, err := env.Store.Get(ctx, tn, a.ID)
		require.NoError(t, err)
		require.Equal(t, "alice", stored.AcknowledgedBy)
	})

	t.Run("AcknowledgedRange", func(t *testing.T) {
		t.Parallel()
		env := h.New(t)
		tn := env.NewTenant(t)
		var cpu []uuid.UUID
		for d := 0; d < 6; d++ {
			a := Sample(tn, "CPU", d)
			_, _, err := env.Store.Insert(ctx, a)
			require.NoError(t, err)
			cpu = append(cpu, a.ID)
			m := Sample(tn, "MEMORY", d)
			_, _, err = env.Store.Insert(ctx, m)
			require.NoError(t, err)
			_, err = env.Store.Acknowledge(ctx, tn, m.ID, "u", day0)
			require.NoError(t, err)
		}
		for _, d := range []int{1, 2, 4} {
			_, err := env.Store.Acknowledge(ctx, tn, cpu[d], "u", day0)
			require.NoError(t, err)
		}
		got, err := env.Store.Acknowledged(ctx, tn, "CPU", day0.AddDate(0, 0, 2), day0.AddDate(0, 0, 5))
		require.NoError(t, err)
		var days []int
		for _, a := range got {
			require.Equal(t, "CPU", a.Service)
			require.True(t, a.Acknowledged)
			days = append(days, int(a.Day.Sub(day0).Hours()/24))
		}
		require.ElementsMatch(t, []int{2, 4}, days, "inclusive range, acknowledged only, this service only")
	})

	t.Run("TenantIsolation", func(t *testing.T) {
		t.Parallel()
		env := h.New(t)
		ta, tb := env.NewTenant(t), env.NewTenant(t)
		a := Sample(ta, "CPU", 0)
		_, _, err := env.Store.Insert(ctx, a)
		require.NoError(t, err)
		_, err = env.Store.Get(ctx, tb, a.ID)
		require.Equal(t, eusaas.NotFound, eusaas.KindOf(err))
		_, err = env.Store.Acknowledge(ctx, tb, a.ID, "mallory", day0)
		require.Equal(t, eusaas.NotFound, eusaas.KindOf(err))
		l, err := env.Store.List(ctx, tb, anomaly.Filter{}, eusaas.Page{Page: 1, Size: 10})
		require.NoError(t, err)
		require.Zero(t, l.Total)
		// Same key in B is B's own anomaly.
		b := Sample(tb, "CPU", 0)
		_, created, err := env.Store.Insert(ctx, b)
		require.NoError(t, err)
		require.True(t, created)
		got, err := env.Store.Get(ctx, ta, a.ID)
		require.NoError(t, err)
		require.False(t, got.Acknowledged)
		acked, err := env.Store.Acknowledged(ctx, tb, "CPU", day0, day0)
		require.NoError(t, err)
		require.Empty(t, acked)
	})

	t.Run("SoftDeletedInvisible", func(t *testing.T) {
		t.Parallel()
		env := h.New(t)
		if env.SoftDeleteBefore == nil {
			t.Skip("the harness cannot soft-delete")
		}
		ta, tb := env.NewTenant(t), env.NewTenant(t)
		old := Sample(ta, "CPU", 0) // detected 2026-03-02 03:04:05
		young := Sample(ta, "CPU", 1)
		young.DetectedAt = old.DetectedAt.AddDate(0, 0, 3)
		otherTenant := Sample(tb, "CPU", 0)
		for _, a := range []anomaly.Anomaly{old, young, otherTenant} {
			_, created, err := env.Store.Insert(ctx, a)
			require.NoError(t, err)
			require.True(t, created)
		}
		for _, a := range []anomaly.Anomaly{old, young} {
			_, err := env.Store.Acknowledge(ctx, ta, a.ID, "alice", day0)
			require.NoError(t, err)
		}
		env.SoftDeleteBefore(t, ta, old.DetectedAt.AddDate(0, 0, 1))

		_, err := env.Store.Get(ctx, ta, old.ID)
		require.ErrorIs(t, err, anomaly.ErrNotFound)
		_, err = env.Store.Acknowledge(ctx, ta, old.ID, "bob", day0)
		require.ErrorIs(t, err, anomaly.ErrNotFound)
		l, err := env.Store.List(ctx, ta, anomaly.Filter{}, eusaas.Page{Page: 1, Size: 10})
		require.NoError(t, err)
		require.Equal(t, 1, l.Total)
		require.Len(t, l.Items, 1)
		require.Equal(t, young.ID, l.Items[0].ID)
		acked, err := env.Store.Acknowledged(ctx, ta, "CPU", day0, day0.AddDate(0, 0, 1))
		require.NoError(t, err)
		require.Len(t, acked, 1)
		require.Equal(t, young.ID, acked[0].ID)

		// Re-detection of the removed finding neither stores nor resurrects it.
		again := Sample(ta, "CPU", 0)
		got, created, err := env.Store.Insert(ctx, again)
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, anomaly.Anomaly{}, got)
		_, err = env.Store.Get(ctx, ta, again.ID)
		require.ErrorIs(t, err, anomaly.ErrNotFound)
		l, err = env.Store.List(ctx, ta, anomaly.Filter{}, eusaas.Page{Page: 1, Size: 10})
		require.NoError(t, err)
		require.Equal(t, 1, l.Total)

		// Another tenant's anomaly of the same age is untouched.
		_, err = env.Store.Get(ctx, tb, otherTenant.ID)
		require.NoError(t, err)
	})

	t.Run("ContextCanceled", func(t *testing.T) {
		t.Parallel()
		env := h.New(t)
		tn := env.NewTenant(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, _, err := env.Store.Insert(cctx, Sample(tn, "CPU", 0))
		require.Error(t, err)
		_, err = env.Store.List(cctx, tn, anomaly.Filter{}, eusaas.Page{Page: 1, Size: 10})
		require.Error(t, err)
		_, err = env.Store.Get(cctx, tn, uuid.New())
		require.Error(t, err)
		_, err = env.Store.Acknowledged(cctx, tn, "CPU", day0, day0)
		require.Error(t, err)
		l, err := env.Store.List(ctx, tn, anomaly.Filter{}, eusaas.Page{Page: 1, Size: 10})
		require.NoError(t, err)
		require.Zero(t, l.Total, "a canceled insert stores nothing")
	})

	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()
		env := h.New(t)
		tn := env.NewTenant(t)
		const n = 8
		var wg sync.WaitGroup
		created := make([]bool, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				_, created[i], errs[i] = env.Store.Insert(ctx, Sample(tn, "CPU", 0))
				_, _, err := env.Store.Insert(ctx, Sample(tn, fmt.Sprintf("R%d", i), 0))
				if errs[i] == nil {
					errs[i] = err
				}
			})
		}
		wg.Wait()
		count := 0
		for i := range n {
			require.NoError(t, errs[i])
			if created[i] {
				count++
			}
		}
		require.Equal(t, 1, count, "exactly one concurrent insert of the same key creates")
		l, err := env.Store.List(ctx, tn, anomaly.Filter{}, eusaas.Page{Page: 1, Size: 100})
		require.NoError(t, err)
		require.Equal(t, n+1, l.Total)
	})

	t.Run("TxRollback", func(t *testing.T) {
		t.Parallel()
		env := h.New(t)
		if env.Tx == nil {
			t.Skip("store has no transactions")
		}
		tn := env.NewTenant(t)
		kept := Sample(tn, "CPU", 0)
		_, _, err := env.Store.Insert(ctx, kept)
		require.NoError(t, err)
		a := Sample(tn, "MEMORY", 0)
		boom := fmt.Errorf("boom")
		err = env.Tx.InTx(ctx, func(ctx context.Context) error {
			if _, _, err := env.Store.Insert(ctx, a); err != nil {
				return err
			}
			if _, err := env.Store.Acknowledge(ctx, tn, kept.ID, "u", day0); err != nil {
				return err
			}
			return boom
		})
		require.ErrorIs(t, err, boom)
		_, err = env.Store.Get(ctx, tn, a.ID)
		require.Equal(t, eusaas.NotFound, eusaas.KindOf(err))
		got, err := env.Store.Get(ctx, tn, kept.ID)
		require.NoError(t, err)
		require.False(t, got.Acknowledged, "acknowledgement rolled back")
	})
}
