package anomalytest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly"
)

func runFeedback(t *testing.T, h Harness) {
	ctx := context.Background()
	at := time.Date(2026, 3, 5, 10, 11, 12, 345678000, time.UTC)

	t.Run("FeedbackReplacesAndCounts", func(t *testing.T) {
		t.Parallel()
		env := h.New(t)
		tn := env.NewTenant(t)
		a, b := Sample(tn, "CPU", 0), Sample(tn, "MEMORY", 0)
		for _, x := range []anomaly.Anomaly{a, b} {
			_, _, err := env.Store.Insert(ctx, x)
			require.NoError(t, err)
		}
		counts, err := env.Store.FeedbackCounts(ctx, tn)
		require.NoError(t, err)
		require.Zero(t, counts[anomaly.VerdictExpected]+counts[anomaly.VerdictFalsePositive]+counts[anomaly.VerdictConfirmed])

		fb := anomaly.Feedback{Verdict: anomaly.VerdictExpected, Note: "the monthly batch job — planned", By: "user-1", At: at}
		got, err := env.Store.SetFeedback(ctx, tn, a.ID, fb)
		require.NoError(t, err)
		a.Feedback = &fb
		RequireSame(t, a, got)
		got, err = env.Store.Get(ctx, tn, a.ID)
		require.NoError(t, err)
		RequireSame(t, a, got)

		// A new verdict replaces the old one; an empty note round-trips as empty.
		fb2 := anomaly.Feedback{Verdict: anomaly.VerdictConfirmed, By: "user-2", At: at.Add(time.Hour)}
		got, err = env.Store.SetFeedback(ctx, tn, a.ID, fb2)
		require.NoError(t, err)
		a.Feedback = &fb2
		RequireSame(t, a, got)
		_, err = env.Store.SetFeedback(ctx, tn, b.ID, anomaly.Feedback{Verdict: anomaly.VerdictFalsePositive, By: "user-1", At: at})
		require.NoError(t, err)
		counts, err = env.Store.FeedbackCounts(ctx, tn)
		require.NoError(t, err)
		require.Equal(t, 0, counts[anomaly.VerdictExpected])
		require.Equal(t, 1, counts[anomaly.VerdictConfirmed])
		require.Equal(t, 1, counts[anomaly.VerdictFalsePositive])
		other, err := env.Store.FeedbackCounts(ctx, env.NewTenant(t))
		require.NoError(t, err)
		require.Zero(t, other[anomaly.VerdictFalsePositive], "counts are per tenant")

		_, err = env.Store.SetFeedback(ctx, env.NewTenant(t), a.ID, fb)
		require.Equal(t, eusaas.NotFound, eusaas.KindOf(err))
		_, err = env.Store.SetFeedback(ctx, tn, uuid.Must(uuid.NewV7()), fb)
		require.Equal(t, eusaas.NotFound, eusaas.KindOf(err))
		_, err = env.Store.SetFeedback(ctx, tn, a.ID, anomaly.Feedback{Verdict: "MAYBE", By: "u", At: at})
		require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	})

	t.Run("MutingBySeriesVerdictAndTime", func(t *testing.T) {
		t.Parallel()
		env := h.New(t)
		tn := env.NewTenant(t)
		set := func(service string, d int, v anomaly.Verdict, when time.Time) uuid.UUID {
			x := Sample(tn, service, d)
			_, _, err := env.Store.Insert(ctx, x)
			require.NoError(t, err)
			_, err = env.Store.SetFeedback(ctx, tn, x.ID, anomaly.Feedback{Verdict: v, By: "u", At: when})
			require.NoError(t, err)
			return x.ID
		}
		exp := set("CPU", 0, anomaly.VerdictExpected, at)
		fp := set("CPU", 1, anomaly.VerdictFalsePositive, at.Add(48*time.Hour))
		set("CPU", 2, anomaly.VerdictConfirmed, at.Add(72*time.Hour)) // confirms: mutes nothing
		set("MEMORY", 0, anomaly.VerdictExpected, at)                 // another series
		ids := func(since time.Time) []uuid.UUID {
			got, err := env.Store.Muting(ctx, tn, "CPU", since)
			require.NoError(t, err)
			var out []uuid.UUID
			for _, a := range got {
				out = append(out, a.ID)
			}
			return out
		}
		require.ElementsMatch(t, []uuid.UUID{exp, fp}, ids(at), "since is inclusive")
		require.ElementsMatch(t, []uuid.UUID{fp}, ids(at.Add(time.Microsecond)))
		require.Empty(t, ids(at.Add(49*time.Hour)))
		got, err := env.Store.Muting(ctx, env.NewTenant(t), "CPU", at)
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("FeedbackTxRollback", func(t *testing.T) {
		t.Parallel()
		env := h.New(t)
		if env.Tx == nil {
			t.Skip("store has no transactions")
		}
		tn := env.NewTenant(t)
		a := Sample(tn, "CPU", 0)
		_, _, err := env.Store.Insert(ctx, a)
		require.NoError(t, err)
		boom := fmt.Errorf("boom")
		err = env.Tx.InTx(ctx, func(ctx context.Context) error {
			if _, err := env.Store.SetFeedback(ctx, tn, a.ID, anomaly.Feedback{Verdict: anomaly.VerdictExpected, By: "u", At: at}); err != nil {
				return err
			}
			return boom
		})
		require.ErrorIs(t, err, boom)
		got, err := env.Store.Get(ctx, tn, a.ID)
		require.NoError(t, err)
		require.Nil(t, got.Feedback)
	})
}

func runEpisodes(t *testing.T, h Harness) {
	ctx := context.Background()

	t.Run("EpisodeDefaultsUpdateAndList", func(t *testing.T) {
		t.Parallel()
		env := h.New(t)
		tn := env.NewTenant(t)
		// An anomaly built without episode fields is a one-day closed episode.
		old := Sample(tn, "MEMORY", 0)
		got, _, err := env.Store.Insert(ctx, old)
		require.NoError(t, err)
		require.Equal(t, anomaly.StatusClosed, got.Status)
		require.True(t, got.LastDay.Equal(old.Day))
		require.NotNil(t, got.EndDate)
		require.True(t, got.EndDate.Equal(old.Day))
		eqDec(t, old.Impact, got.TotalImpact, "total_impact")
		eqDec(t, *old.DeviationPct, *got.MaxDeviationPct, "max_deviation_pct")

		a := Sample(tn, "CPU", 1)
		a.Status, a.LastDay, a.TotalImpact, a.MaxDeviationPct = anomaly.StatusOpen, a.Day, a.Impact, a.DeviationPct
		got, _, err = env.Store.Insert(ctx, a)
		require.NoError(t, err)
		require.Equal(t, anomaly.StatusOpen, got.Status)
		require.Nil(t, got.EndDate)

		eps, err := env.Store.Episodes(ctx, tn, day0.AddDate(0, 0, 5))
		require.NoError(t, err)
		require.Len(t, eps, 1, "open episodes whatever since")
		require.Equal(t, a.ID, eps[0].ID)
		eps, err = env.Store.Episodes(ctx, tn, day0)
		require.NoError(t, err)
		require.Len(t, eps, 2, "and those whose last day is on or after since")

		got.LastDay = a.Day.AddDate(0, 0, 2)
		got.TotalImpact = decimal.RequireFromString("300.123")
		m := decimal.RequireFromString("-75.5")
		got.MaxDeviationPct, got.Severity, got.Description = &m, anomaly.SeverityCritical, "3 days"
		got.RootCauses = []anomaly.RootCause{{Dimension: "region", Value: "eu-north-1", ExpectedAmount: decimal.RequireFromString("1"),
			ActualAmount: decimal.RequireFromString("301.123"), ContributionAmount: decimal.RequireFromString("300.123"), SharePct: decimal.RequireFromString("100")}}
		up, err := env.Store.UpdateEpisode(ctx, got)
		require.NoError(t, err)
		require.Len(t, up.RootCauses, 1, "the episode's root causes are replaced")
		require.Equal(t, "eu-north-1", up.RootCauses[0].Value)
		eqDec(t, decimal.RequireFromString("300.123"), up.RootCauses[0].ContributionAmount, "root cause contribution")
		require.True(t, up.LastDay.Equal(a.Day.AddDate(0, 0, 2)))
		eqDec(t, got.TotalImpact, up.TotalImpact, "total_impact")
		eqDec(t, m, *up.MaxDeviationPct, "max_deviation_pct")
		require.Equal(t, anomaly.SeverityCritical, up.Severity)
		require.Equal(t, "3 days", up.Description)
		eqDec(t, a.Impact, up.Impact, "the first day's impact stays")

		end := up.LastDay
		up.Status, up.EndDate = anomaly.StatusClosed, &end
		up, err = env.Store.UpdateEpisode(ctx, up)
		require.NoError(t, err)
		require.Equal(t, anomaly.StatusClosed, up.Status)
		require.True(t, up.EndDate.Equal(end))

		bad := up
		bad.Status = anomaly.StatusOpen // open with an end date
		_, err = env.Store.UpdateEpisode(ctx, bad)
		require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
		_, err = env.Store.UpdateEpisode(ctx, Sample(tn, "X", 0))
		require.Equal(t, eusaas.NotFound, eusaas.KindOf(err))

		open, closed := anomaly.StatusOpen, anomaly.StatusClosed
		l, err := env.Store.List(ctx, tn, anomaly.Filter{Status: &open}, eusaas.Page{})
		require.NoError(t, err)
		require.Zero(t, l.Total)
		l, err = env.Store.List(ctx, tn, anomaly.Filter{Status: &closed}, eusaas.Page{})
		require.NoError(t, err)
		require.Equal(t, 2, l.Total)
	})
}
