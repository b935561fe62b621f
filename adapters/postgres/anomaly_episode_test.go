package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/anomaly/anomalytest"
	"github.com/eusaas/eusaas/anomaly/memanomaly"
	"github.com/eusaas/eusaas/internal/pgtest"
)

// The scanner (z-score detector, for exact numbers) on the Postgres store: a three-day surge is one episode (total impact the
// sum), a threshold_pct-only IMMEDIATE subscription fires once for it, the DAILY digest is
// sent once, EXPECTED feedback mutes the next surge of the series, and the episode closes
// after three normal days.
func TestAnomalyScannerEpisodesOnPostgres(t *testing.T) {
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(t))
	tn := eusaas.NewTenantID()
	require.NoError(t, db.CreateTenantSchema(ctx, tn))
	store := postgres.NewAnomalyStore(db)

	hook := anomalytest.NewWebhookReceiver(t, "k")
	pct := decimal.RequireFromString("50")
	svc, err := anomaly.NewService(anomaly.Deps{Store: store}, anomaly.Options{})
	require.NoError(t, err)
	_, err = svc.SetAlertSubscriptions(ctx, tn, []anomaly.Subscription{
		{ThresholdPct: &pct, Frequency: anomaly.FrequencyImmediate, Channels: hook.Channels("/now", "k")},
		{Frequency: anomaly.FrequencyDaily, Channels: hook.Channels("/daily", "k")},
	})
	require.NoError(t, err)

	series := memanomaly.NewSeries()
	day0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := range 60 {
		amt := "40"
		if i >= 40 && i < 43 { // the surge: 140, 240, 340
			amt = decimal.NewFromInt(int64(140 + 100*(i-40))).String()
		}
		series.Add(tn, anomaly.DailyCost{Day: day0.AddDate(0, 0, i), Resource: "CPU", Amount: decimal.RequireFromString(amt)},
			anomaly.DailyCost{Day: day0.AddDate(0, 0, i), Resource: "MEMORY", Amount: decimal.RequireFromString("40")})
	}
	notified := 0
	sc := anomaly.NewScanner(series, anomaly.TenantListerFunc(func(context.Context) ([]anomaly.TenantConfig, error) {
		return []anomaly.TenantConfig{{ID: tn}}, nil
	}), store, anomaly.NotifierFunc(func(context.Context, anomaly.Anomaly) error { notified++; return nil }), anomaly.ScannerOptions{Detector: anomaly.NewZScore()})
	scan := func(i int) { // scores day i
		_, err := sc.ScanAllAt(ctx, day0.AddDate(0, 0, i+1))
		require.NoError(t, err)
	}
	for i := 40; i <= 43; i++ {
		scan(i)
		scan(i) // re-scans change nothing
	}
	l, err := store.List(ctx, tn, anomaly.Filter{}, eusaas.Page{Page: 1, Size: 10})
	require.NoError(t, err)
	require.Equal(t, 1, l.Total, "one episode")
	ep := l.Items[0]
	require.Equal(t, "CPU", ep.Service)
	require.True(t, ep.Day.Equal(day0.AddDate(0, 0, 40)))
	require.True(t, ep.LastDay.Equal(day0.AddDate(0, 0, 42)), "%s %s %s", ep.LastDay, ep.Status, ep.TotalImpact)
	// 100 + 185.71 + 257.14: the z-score's expectation (the mean of the history) includes
	// the earlier surge days.
	require.Equal(t, "542.85", ep.TotalImpact.String())
	require.Equal(t, anomaly.SeverityCritical, ep.Severity, "542.85 EUR >= 30 x 5 EUR")
	require.Equal(t, anomaly.StatusOpen, ep.Status)
	require.Equal(t, 1, notified)
	require.Len(t, ep.AlertedSubscriptions, 1)

	_, err = sc.SendDigests(ctx, anomaly.FrequencyDaily, day0.AddDate(0, 0, 44))
	require.NoError(t, err)
	_, err = sc.SendDigests(ctx, anomaly.FrequencyDaily, day0.AddDate(0, 0, 44))
	require.NoError(t, err)
	require.Equal(t, []string{"/now", "/daily"}, hook.Paths())

	for i := 44; i <= 45; i++ {
		scan(i)
	}
	got, err := store.Get(ctx, tn, ep.ID)
	require.NoError(t, err)
	require.Equal(t, anomaly.StatusClosed, got.Status, "three normal days: 43, 44, 45")
	require.True(t, got.EndDate.Equal(day0.AddDate(0, 0, 42)))

	_, err = svc.GiveFeedback(ctx, tn, ep.ID, anomaly.VerdictExpected, "", "user-1")
	require.NoError(t, err)
	counts, err := svc.FeedbackCounts(ctx, tn)
	require.NoError(t, err)
	require.Equal(t, 1, counts[anomaly.VerdictExpected])
	series.Add(tn, anomaly.DailyCost{Day: day0.AddDate(0, 0, 61), Resource: "CPU", Amount: decimal.RequireFromString("500")},
		anomaly.DailyCost{Day: day0.AddDate(0, 0, 61), Resource: "MEMORY", Amount: decimal.RequireFromString("40")})
	_, err = sc.ScanAllAt(ctx, day0.AddDate(0, 0, 62))
	require.NoError(t, err)
	l, err = store.List(ctx, tn, anomaly.Filter{}, eusaas.Page{Page: 1, Size: 10})
	require.NoError(t, err)
	require.Equal(t, 2, l.Total, "the new surge is stored")
	require.True(t, l.Items[0].Day.Equal(day0.AddDate(0, 0, 61)))
	require.False(t, l.Items[0].Alerted, "muted by the EXPECTED verdict")
	require.Equal(t, 1, notified)
	require.Len(t, hook.Paths(), 2)
}
