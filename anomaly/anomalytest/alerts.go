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

// SampleSubscriptions returns two valid subscriptions: an IMMEDIATE one with both
// thresholds and both channel kinds, and a DAILY one without thresholds.
func SampleSubscriptions() []anomaly.Subscription {
	amt, pct := decimal.RequireFromString("12.345"), decimal.RequireFromString("20.5")
	return []anomaly.Subscription{
		{ID: uuid.Must(uuid.NewV7()), ThresholdAmount: &amt, ThresholdPct: &pct, Combine: anomaly.CombineAnd, Frequency: anomaly.FrequencyImmediate,
			Channels: []anomaly.Channel{{Type: anomaly.ChannelWebhook, URL: "https://hooks.example.com/a?x=1", Secret: "s3cr3t-value"},
				{Type: anomaly.ChannelEmail, Address: "finops@example.com"}}},
		{ID: uuid.Must(uuid.NewV7()), Combine: anomaly.CombineOr, Frequency: anomaly.FrequencyDaily,
			Channels: []anomaly.Channel{{Type: anomaly.ChannelWebhook, URL: "http://127.0.0.1:9/digest", Secret: "other"}}},
	}
}

// RequireSameSubscriptions checks that got are want as stored (amounts exact, order kept).
func RequireSameSubscriptions(t *testing.T, want, got []anomaly.Subscription) {
	t.Helper()
	require.Len(t, got, len(want))
	for i, w := range want {
		g := got[i]
		require.Equal(t, w.ID, g.ID)
		for _, p := range []struct {
			w, g *decimal.Decimal
			what string
		}{{w.ThresholdAmount, g.ThresholdAmount, "threshold_amount"}, {w.ThresholdPct, g.ThresholdPct, "threshold_pct"}} {
			require.Equal(t, p.w == nil, p.g == nil, p.what)
			if p.w != nil {
				eqDec(t, *p.w, *p.g, p.what)
			}
		}
		require.Equal(t, w.Combine, g.Combine)
		require.Equal(t, w.Frequency, g.Frequency)
		require.Equal(t, w.Channels, g.Channels)
	}
}

func runAlerts(t *testing.T, h Harness) {
	ctx := context.Background()

	t.Run("SubscriptionsRoundTripAndReplace", func(t *testing.T) {
		t.Parallel()
		env := h.New(t)
		tn := env.NewTenant(t)
		got, err := env.Store.AlertSubscriptions(ctx, tn)
		require.NoError(t, err)
		require.Empty(t, got)
		subs := SampleSubscriptions()
		require.NoError(t, env.Store.SetAlertSubscriptions(ctx, tn, subs))
		got, err = env.Store.AlertSubscriptions(ctx, tn)
		require.NoError(t, err)
		RequireSameSubscriptions(t, subs, got)

		// Replacing is whole: the second list is all there is; another tenant sees none.
		next := SampleSubscriptions()[1:]
		require.NoError(t, env.Store.SetAlertSubscriptions(ctx, tn, next))
		got, err = env.Store.AlertSubscriptions(ctx, tn)
		require.NoError(t, err)
		RequireSameSubscriptions(t, next, got)
		other, err := env.Store.AlertSubscriptions(ctx, env.NewTenant(t))
		require.NoError(t, err)
		require.Empty(t, other)

		require.NoError(t, env.Store.SetAlertSubscriptions(ctx, tn, nil))
		got, err = env.Store.AlertSubscriptions(ctx, tn)
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("SubscriptionsRejectInvalid", func(t *testing.T) {
		t.Parallel()
		env := h.New(t)
		tn := env.NewTenant(t)
		neg := decimal.RequireFromString("-1")
		for name, mutate := range map[string]func(*anomaly.Subscription){
			"negative amount": func(s *anomaly.Subscription) { s.ThresholdAmount = &neg },
			"ftp url":         func(s *anomaly.Subscription) { s.Channels[0].URL = "ftp://x.example.com/" },
			"frequency":       func(s *anomaly.Subscription) { s.Frequency = "HOURLY" },
			"no id":           func(s *anomaly.Subscription) { s.ID = uuid.Nil },
		} {
			subs := SampleSubscriptions()
			mutate(&subs[0])
			err := env.Store.SetAlertSubscriptions(ctx, tn, subs)
			require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err), name)
		}
		got, err := env.Store.AlertSubscriptions(ctx, tn)
		require.NoError(t, err)
		require.Empty(t, got, "refused lists store nothing")
	})

	t.Run("MarkAlertedAppendsOnce", func(t *testing.T) {
		t.Parallel()
		env := h.New(t)
		tn := env.NewTenant(t)
		a := Sample(tn, "CPU", 0)
		_, _, err := env.Store.Insert(ctx, a)
		require.NoError(t, err)
		s1, s2 := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
		got, err := env.Store.MarkAlerted(ctx, tn, a.ID, nil)
		require.NoError(t, err)
		require.True(t, got.Alerted)
		require.Empty(t, got.AlertedSubscriptions)
		_, err = env.Store.MarkAlerted(ctx, tn, a.ID, []uuid.UUID{s1})
		require.NoError(t, err)
		got, err = env.Store.MarkAlerted(ctx, tn, a.ID, []uuid.UUID{s1, s2})
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{s1, s2}, got.AlertedSubscriptions)
		got, err = env.Store.Get(ctx, tn, a.ID)
		require.NoError(t, err)
		a.Alerted, a.AlertedSubscriptions = true, []uuid.UUID{s1, s2}
		RequireSame(t, a, got)
		_, err = env.Store.MarkAlerted(ctx, env.NewTenant(t), a.ID, []uuid.UUID{s1})
		require.Equal(t, eusaas.NotFound, eusaas.KindOf(err))
	})

	t.Run("ListImpactAndDayFilters", func(t *testing.T) {
		t.Parallel()
		env := h.New(t)
		tn := env.NewTenant(t)
		var ids []uuid.UUID
		for d := range 4 {
			a := Sample(tn, "CPU", d)
			a.Impact = decimal.NewFromInt(int64(10 * (d + 1))) // 10, 20, 30, 40
			_, _, err := env.Store.Insert(ctx, a)
			require.NoError(t, err)
			ids = append(ids, a.ID)
		}
		list := func(f anomaly.Filter) []uuid.UUID {
			l, err := env.Store.List(ctx, tn, f, eusaas.Page{Page: 1, Size: 10})
			require.NoError(t, err)
			require.Equal(t, len(l.Items), l.Total)
			var out []uuid.UUID
			for _, a := range l.Items {
				out = append(out, a.ID)
			}
			return out
		}
		min20 := decimal.RequireFromString("20")
		require.Equal(t, []uuid.UUID{ids[3], ids[2], ids[1]}, list(anomaly.Filter{MinImpact: &min20}), "min_impact is inclusive")
		from, to := day0.AddDate(0, 0, 1), day0.AddDate(0, 0, 2)
		require.Equal(t, []uuid.UUID{ids[2], ids[1]}, list(anomaly.Filter{From: &from, To: &to}), "days inclusive")
		min30 := decimal.RequireFromString("30.0")
		require.Equal(t, []uuid.UUID{ids[2]}, list(anomaly.Filter{From: &from, To: &to, MinImpact: &min30}))
		late := day0.AddDate(0, 0, 3).Add(5 * time.Hour) // a time within the day counts as the day
		require.Equal(t, []uuid.UUID{ids[3]}, list(anomaly.Filter{From: &late}))
	})

	t.Run("SubscriptionsTxRollback", func(t *testing.T) {
		t.Parallel()
		env := h.New(t)
		if env.Tx == nil {
			t.Skip("store has no transactions")
		}
		tn := env.NewTenant(t)
		subs := SampleSubscriptions()
		require.NoError(t, env.Store.SetAlertSubscriptions(ctx, tn, subs))
		a := Sample(tn, "CPU", 0)
		_, _, err := env.Store.Insert(ctx, a)
		require.NoError(t, err)
		boom := fmt.Errorf("boom")
		err = env.Tx.InTx(ctx, func(ctx context.Context) error {
			if err := env.Store.SetAlertSubscriptions(ctx, tn, nil); err != nil {
				return err
			}
			if _, err := env.Store.MarkAlerted(ctx, tn, a.ID, []uuid.UUID{subs[0].ID}); err != nil {
				return err
			}
			return boom
		})
		require.ErrorIs(t, err, boom)
		got, err := env.Store.AlertSubscriptions(ctx, tn)
		require.NoError(t, err)
		RequireSameSubscriptions(t, subs, got)
		stored, err := env.Store.Get(ctx, tn, a.ID)
		require.NoError(t, err)
		require.False(t, stored.Alerted)
		require.Empty(t, stored.AlertedSubscriptions)
	})
}
