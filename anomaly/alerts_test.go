package anomaly_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/anomaly/anomalytest"
)

func TestSubscriptionMatches(t *testing.T) {
	a := anomaly.Anomaly{Impact: d("4"), DeviationPct: ptrDec("-40")}
	ns := anomaly.Anomaly{Impact: d("4")} // new spend: no percentage
	for _, c := range []struct {
		amt, pct string
		combine  anomaly.Combine
		want     bool
		wantNS   bool
	}{
		{"", "", anomaly.CombineOr, true, true},
		{"4", "", anomaly.CombineOr, true, true},
		{"4.01", "", anomaly.CombineAnd, false, false},
		{"", "40", anomaly.CombineAnd, true, true},
		{"", "40.01", anomaly.CombineAnd, false, true},
		{"100", "30", anomaly.CombineOr, true, true},
		{"100", "30", anomaly.CombineAnd, false, false},
		{"1", "30", anomaly.CombineAnd, true, true},
	} {
		s := anomaly.Subscription{Combine: c.combine}
		if c.amt != "" {
			s.ThresholdAmount = ptrDec(c.amt)
		}
		if c.pct != "" {
			s.ThresholdPct = ptrDec(c.pct)
		}
		require.Equal(t, c.want, s.Matches(a), "%+v", c)
		require.Equal(t, c.wantNS, s.Matches(ns), "new spend %+v", c)
	}
}

func ptrDec(s string) *decimal.Decimal { v := d(s); return &v }

// violationsText joins the locations of err's field violations.
func violationsText(err error) string {
	var e *eusaas.Error
	if !errors.As(err, &e) {
		return ""
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Location)
	}
	return strings.Join(out, " ")
}

// IMMEDIATE subscriptions fire at detection, whatever the tenant's minimum impact: MEMORY's
// +2 EUR (+20 %) is stored but under the 5 EUR minimum, so the platform's notifier is not
// told; a threshold_pct-only subscription fires on it, an amount-only one does not, and an
// e-mail-only one is logged as not deliverable (no mailer) and never fires.
func TestScannerImmediateSubscriptions(t *testing.T) {
	ctx := context.Background()
	hook := anomalytest.NewWebhookReceiver(t, "whsec-1")
	f := newFixture()
	tn := newTenant()
	f.tenants = []anomaly.TenantConfig{{ID: tn}}
	// Five weeks of history: past the cold start's conservative tails (MinN z's).
	f.put(tn, "CPU", scanned, append(rep("40", 35), "140")...)
	f.put(tn, "MEMORY", scanned, append(rep("10", 35), "12")...)
	web := []anomaly.Channel{{Type: anomaly.ChannelWebhook, URL: hook.URL + "/hook", Secret: "whsec-1"}}
	subs := []anomaly.Subscription{
		{ID: uuid.Must(uuid.NewV7()), ThresholdPct: ptrDec("15"), Combine: anomaly.CombineAnd, Frequency: anomaly.FrequencyImmediate, Channels: web},
		{ID: uuid.Must(uuid.NewV7()), ThresholdAmount: ptrDec("50"), Combine: anomaly.CombineAnd, Frequency: anomaly.FrequencyImmediate, Channels: web},
		{ID: uuid.Must(uuid.NewV7()), Combine: anomaly.CombineOr, Frequency: anomaly.FrequencyImmediate,
			Channels: []anomaly.Channel{{Type: anomaly.ChannelEmail, Address: "finops@example.com"}}},
		{ID: uuid.Must(uuid.NewV7()), Combine: anomaly.CombineOr, Frequency: anomaly.FrequencyDaily, Channels: web},
	}
	require.NoError(t, f.store.SetAlertSubscriptions(ctx, tn, subs))
	var logs bytes.Buffer
	r, err := f.scanner(anomaly.ScannerOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))}).ScanAll(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, r.Created)
	require.Equal(t, 1, f.notifier.count(), "the platform notifier: CPU only")

	as := f.all(t, tn)
	require.Len(t, as, 2)
	cpu, mem := as[0], as[1]
	require.Equal(t, "CPU", cpu.Service)
	require.True(t, cpu.Alerted)
	require.Equal(t, []uuid.UUID{subs[0].ID, subs[1].ID}, cpu.AlertedSubscriptions, "250 % and 100 EUR")
	require.True(t, mem.Alerted)
	require.Equal(t, []uuid.UUID{subs[0].ID}, mem.AlertedSubscriptions, "20 % meets 15 %; 2 EUR is under 50")

	got := hook.Bodies()
	require.Len(t, got, 3, "CPU twice, MEMORY once")
	require.Zero(t, hook.Refused())
	var p anomaly.WebhookPayload
	require.NoError(t, json.Unmarshal(got[len(got)-1], &p))
	require.Equal(t, "anomaly.detected", p.Event)
	require.Equal(t, "MEMORY", p.Service)
	require.Contains(t, logs.String(), "not deliverable")
	require.Contains(t, logs.String(), subs[2].ID.String())
	require.NotContains(t, logs.String(), "finops@example.com", "no recipient in logs")
	require.NotContains(t, logs.String(), "whsec-1")

	// DAILY digest the next morning: both anomalies in one signed call; a second run sends
	// nothing (they are marked as sent to that subscription).
	dr, err := f.scanner(anomaly.ScannerOptions{}).SendDigests(ctx, anomaly.FrequencyDaily, f.clock.Now())
	require.NoError(t, err)
	require.Equal(t, 1, dr.Notified)
	got = hook.Bodies()
	require.Len(t, got, 4)
	var dg anomaly.DigestPayload
	require.NoError(t, json.Unmarshal(got[3], &dg))
	require.Equal(t, "anomaly.digest", dg.Event)
	require.Equal(t, subs[3].ID.String(), dg.SubscriptionID)
	require.Len(t, dg.Anomalies, 2)
	for _, a := range f.all(t, tn) {
		require.Contains(t, a.AlertedSubscriptions, subs[3].ID)
	}
	dr, err = f.scanner(anomaly.ScannerOptions{}).SendDigests(ctx, anomaly.FrequencyDaily, f.clock.Now())
	require.NoError(t, err)
	require.Zero(t, dr.Notified)
	require.Len(t, hook.Bodies(), 4, "nothing is sent twice")
	dr, err = f.scanner(anomaly.ScannerOptions{}).SendDigests(ctx, anomaly.FrequencyWeekly, f.clock.Now())
	require.NoError(t, err)
	require.Zero(t, dr.Notified, "no WEEKLY subscription")
}

// A webhook that refuses is counted as a notification error; the subscription does not fire.
func TestScannerSubscriptionWebhookFailure(t *testing.T) {
	ctx := context.Background()
	hook := anomalytest.NewWebhookReceiver(t, "other secret") // rejects our signature
	f := newFixture()
	tn := newTenant()
	f.tenants = []anomaly.TenantConfig{{ID: tn, MinImpact: d("1000")}}
	f.put(tn, "CPU", scanned, append(rep("40", 28), "140")...)
	require.NoError(t, f.store.SetAlertSubscriptions(ctx, tn, []anomaly.Subscription{{ID: uuid.Must(uuid.NewV7()),
		Combine: anomaly.CombineOr, Frequency: anomaly.FrequencyImmediate,
		Channels: []anomaly.Channel{{Type: anomaly.ChannelWebhook, URL: hook.URL, Secret: "mine"}}}}))
	r, err := f.scanner(anomaly.ScannerOptions{}).ScanAll(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, r.Created, "one resource: no TOTAL of it")
	require.Equal(t, 1, r.NotifyErrors)
	require.Zero(t, f.notifier.count(), "under the tenant's minimum impact")
	for _, a := range f.all(t, tn) {
		require.False(t, a.Alerted, a.Service)
		require.Empty(t, a.AlertedSubscriptions)
	}
	require.Equal(t, 1, hook.Refused())
}

func TestValidateSubscriptions(t *testing.T) {
	ok := anomaly.Subscription{Combine: anomaly.CombineAnd, Frequency: anomaly.FrequencyWeekly,
		Channels: []anomaly.Channel{{Type: anomaly.ChannelWebhook, URL: "https://x.example.com/h", Secret: "s"}}}
	require.NoError(t, anomaly.ValidateSubscriptions([]anomaly.Subscription{ok}))
	for field, mutate := range map[string]func(*anomaly.Subscription){
		"threshold_amount": func(s *anomaly.Subscription) { s.ThresholdAmount = ptrDec("-0.01") },
		"threshold_pct":    func(s *anomaly.Subscription) { s.ThresholdPct = ptrDec("-1") },
		"combine":          func(s *anomaly.Subscription) { s.Combine = "XOR" },
		"frequency":        func(s *anomaly.Subscription) { s.Frequency = "MONTHLY" },
		".url":             func(s *anomaly.Subscription) { s.Channels[0].URL = "javascript:alert(1)" },
		".secret":          func(s *anomaly.Subscription) { s.Channels[0].Secret = "" },
		".address": func(s *anomaly.Subscription) {
			s.Channels = []anomaly.Channel{{Type: anomaly.ChannelEmail, Address: "nobody"}}
		},
		".type":    func(s *anomaly.Subscription) { s.Channels[0].Type = "sms" },
		"channels": func(s *anomaly.Subscription) { s.Channels = nil },
	} {
		s := anomaly.CloneSubscriptions([]anomaly.Subscription{ok})[0]
		mutate(&s)
		err := anomaly.ValidateSubscriptions([]anomaly.Subscription{s})
		require.Error(t, err, field)
		require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
		require.Contains(t, violationsText(err), field)
	}
}

// EXPECTED feedback mutes the series: the next CPU spike is stored but nobody is told (the
// platform notifier, subscriptions), other series still alert, and after FeedbackMuteDays
// the series speaks again. Verdicts are counted per tenant.
func TestFeedbackMutesSeries(t *testing.T) {
	ctx := context.Background()
	f := newFixture()
	tn := newTenant()
	f.tenants = []anomaly.TenantConfig{{ID: tn}}
	f.put(tn, "CPU", scanned, append(rep("40", 28), "140")...)
	f.put(tn, "MEMORY", scanned, rep("40", 29)...)
	s := f.scanner(anomaly.ScannerOptions{FeedbackMuteDays: 2, CloseAfterDays: 1})
	_, err := s.ScanAll(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, f.notifier.count())
	first := f.all(t, tn)[0]

	svc, err := anomaly.NewService(anomaly.Deps{Store: f.store}, anomaly.Options{Clock: f.clock})
	require.NoError(t, err)
	got, err := svc.GiveFeedback(ctx, tn, first.ID, anomaly.VerdictExpected, "  planned migration ", "user-1")
	require.NoError(t, err)
	require.Equal(t, "planned migration", got.Feedback.Note)
	_, err = svc.GiveFeedback(ctx, tn, first.ID, "MAYBE", "", "user-1")
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	counts, err := svc.FeedbackCounts(ctx, tn)
	require.NoError(t, err)
	require.Equal(t, map[anomaly.Verdict]int{anomaly.VerdictExpected: 1, anomaly.VerdictFalsePositive: 0, anomaly.VerdictConfirmed: 0}, counts)

	next := scanned.AddDate(0, 0, 1)
	f.series.Add(tn, anomaly.DailyCost{Day: next, Resource: "CPU", Amount: d("400")}, anomaly.DailyCost{Day: next, Resource: "MEMORY", Amount: d("400")})
	f.clock.Set(next.AddDate(0, 0, 1).Add(6 * time.Hour))
	r, err := s.ScanAll(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, r.Created, "MEMORY; CPU's episode grows")
	require.Equal(t, 1, r.Muted, "CPU")
	require.Equal(t, 2, f.notifier.count(), "MEMORY alerted, CPU muted")
	for _, a := range f.all(t, tn) {
		if a.Service == "MEMORY" {
			require.True(t, a.Alerted)
		}
	}

	// A normal day closes CPU's episode (CloseAfterDays 1); three days after the feedback
	// the 2-day mute is over and the new episode alerts.
	later := next.AddDate(0, 0, 2)
	f.series.Add(tn, anomaly.DailyCost{Day: next.AddDate(0, 0, 1), Resource: "CPU", Amount: d("40")},
		anomaly.DailyCost{Day: later, Resource: "CPU", Amount: d("2000")},
		anomaly.DailyCost{Day: next.AddDate(0, 0, 1), Resource: "MEMORY", Amount: d("40")},
		anomaly.DailyCost{Day: later, Resource: "MEMORY", Amount: d("40")})
	f.clock.Set(later.AddDate(0, 0, 1).Add(6 * time.Hour))
	r, err = s.ScanAll(ctx)
	require.NoError(t, err)
	require.Zero(t, r.Muted)
	require.Equal(t, 3, f.notifier.count(), "CPU speaks again")
	require.Equal(t, "CPU", f.notifier.got[2].Service)
}
