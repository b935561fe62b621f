package platform_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/anomaly/anomalytest"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/membilling"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/memtx"
	"github.com/eusaas/eusaas/platform"
	"github.com/eusaas/eusaas/tenancy"
)

// Issue 17's end-to-end walk on the wired platform with the default detector: 60 days of
// CPU usage with region and usage_type attributes, reported and scanned day by day as the
// daily job would; a surge of three days in one region is one anomaly episode whose first
// root cause is that region, with the episode's total impact exactly the surge's extra
// cost; a subscription with only threshold_pct fires for it (a signed webhook), the DAILY
// digest is sent once; EXPECTED feedback on it suppresses the alert of the series' next
// surge two weeks later, which is still stored.
func TestRootCausesFromAttributes(t *testing.T) {
	ctx := eusaas.WithActor(context.Background(), eusaas.Actor{Kind: eusaas.ActorOperator, ID: "op-test"})
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := eusaas.NewFakeClock(start)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	keys, err := auth.NewKeySet(key, clock)
	require.NoError(t, err)
	_, signer, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	stores, runner := platform.Memory(clock)
	p, err := platform.New(ctx, stores, platform.Config{Clock: clock, AuthKeys: keys,
		Audit: audit.Options{Signer: signer}, GDPR: gdpr.Options{SigningKey: signer}})
	require.NoError(t, err)
	t.Cleanup(p.Close)
	res, err := p.Tenancy.Create(ctx, tenancy.CreateInput{Name: "Acme", Slug: "acme-rc", AdminEmail: "owner@acme.example"})
	require.NoError(t, err)
	runner.WorkAvailable(ctx)
	tn := res.Tenant.ID

	hook := anomalytest.NewWebhookReceiver(t, "hook-secret")
	pct := decimal.NewFromInt(50)
	_, err = p.Anomaly.SetAlertSubscriptions(ctx, tn, []anomaly.Subscription{
		{ThresholdPct: &pct, Frequency: anomaly.FrequencyImmediate, Channels: hook.Channels("/pct", "hook-secret")},
		{Frequency: anomaly.FrequencyDaily, Channels: hook.Channels("/daily", "hook-secret")},
	})
	require.NoError(t, err)

	// Per day: eu-west 300 and eu-north 200 vCPU-hours of "vm" (10 EUR at 0.02), plus 100 of
	// "batch" in eu-west (2 EUR), with a weekday swing so the series is not flat. Days 50-52:
	// eu-west's vm usage quadruples (+900 vCPU-hours, +18 EUR a day).
	const surgeFrom, surgeDays, repeatFrom = 50, 3, 64
	report := func(d int) {
		day := start.AddDate(0, 0, d)
		clock.Set(day.Add(23 * time.Hour))
		swing := int64(day.Weekday()) * 5
		west := 300 + swing
		if d >= surgeFrom && d < surgeFrom+surgeDays {
			west += 900
		}
		if d >= repeatFrom && d < repeatFrom+surgeDays {
			// The repeat is twice the size: a surge as large as one already seen is no
			// longer news to the calibrated tails (they learnt the first), a larger one is.
			west += 1800
		}
		evs := []billing.UsageEvent{
			{ID: fmt.Sprintf("w-%d", d), ResourceType: billing.CPU, Quantity: decimal.NewFromInt(west), Timestamp: day.Add(12 * time.Hour),
				Attributes: map[string]string{"region": "eu-west", "usage_type": "vm"}},
			{ID: fmt.Sprintf("n-%d", d), ResourceType: billing.CPU, Quantity: decimal.NewFromInt(200 + swing), Timestamp: day.Add(12 * time.Hour),
				Attributes: map[string]string{"region": "eu-north", "usage_type": "vm"}},
			{ID: fmt.Sprintf("b-%d", d), ResourceType: billing.CPU, Quantity: decimal.NewFromInt(100), Timestamp: day.Add(13 * time.Hour),
				Attributes: map[string]string{"region": "eu-west", "usage_type": "batch"}},
		}
		r, err := p.Billing.Ingest(ctx, tn, evs)
		require.NoError(t, err)
		require.Equal(t, len(evs), r.Accepted, "%+v", r.Results)
		// The next morning's daily scan.
		clock.Set(day.AddDate(0, 0, 1).Add(2 * time.Hour))
		rep, err := p.Scanner.ScanTenant(ctx, anomaly.TenantConfig{ID: tn})
		require.NoError(t, err)
		if rep.Found > 0 {
			t.Logf("scan of day %d found %d", d, rep.Found)
		}
	}
	for d := range 60 {
		report(d)
		if d == surgeFrom+surgeDays {
			// The next morning's DAILY digests, run twice: sent once.
			for range 2 {
				_, err := p.Scanner.SendDigests(ctx, anomaly.FrequencyDaily, clock.Now())
				require.NoError(t, err)
			}
		}
	}

	l, err := p.Anomaly.List(ctx, tn, anomaly.Filter{}, eusaas.Page{Page: 1, Size: 100})
	require.NoError(t, err)
	var cpu []anomaly.Anomaly
	for _, a := range l.Items {
		if a.Service == string(billing.CPU) && a.Kind != anomaly.KindNewSpend { // day 0's first spend
			cpu = append(cpu, a)
		}
	}
	require.Len(t, cpu, 1, "the surge is one episode: %+v", cpu)
	ep := cpu[0]
	require.Equal(t, anomaly.KindSpike, ep.Kind)
	surge := start.AddDate(0, 0, surgeFrom)
	require.True(t, ep.Day.Equal(surge), "the episode starts on the surge's first day, got %s", ep.Day)
	require.True(t, ep.LastDay.Equal(surge.AddDate(0, 0, surgeDays-1)), "and ends on its last day, got %s", ep.LastDay)
	require.Equal(t, anomaly.StatusClosed, ep.Status, "closed after three normal days")
	days := int(ep.LastDay.Sub(ep.Day).Hours()/24) + 1
	require.Equal(t, surgeDays, days, "every day of the surge is in the episode")
	require.NotEmpty(t, ep.RootCauses)
	first := ep.RootCauses[0]
	require.Equal(t, "region", first.Dimension)
	require.Equal(t, "eu-west", first.Value, "the surging region explains the episode first: %+v", ep.RootCauses)
	t.Logf("episode %s..%s total impact %s EUR, root causes %+v", ep.Day.Format(time.DateOnly), ep.LastDay.Format(time.DateOnly), ep.TotalImpact, ep.RootCauses)
	// The surge added 900 vCPU-hours x 0.02 EUR = 18 EUR on each of its days: the episode's
	// total impact and eu-west's contribution are that per day of the episode (within the
	// weekday swing the expectation smooths).
	want := 18.0 * float64(days)
	require.InDelta(t, want, ep.TotalImpact.InexactFloat64(), 1.0*float64(days), "total impact")
	require.InDelta(t, want, first.ContributionAmount.InexactFloat64(), 1.0*float64(days), "eu-west's contribution is the surge")
	sum := decimal.Zero
	for _, r := range ep.RootCauses {
		require.True(t, r.ContributionAmount.IsPositive(), "an upward episode lists upward causes: %+v", r)
		sum = sum.Add(r.SharePct)
	}
	require.True(t, sum.LessThanOrEqual(decimal.NewFromInt(100)), "shares sum to at most 100 %%, got %s", sum)
	require.True(t, first.SharePct.GreaterThan(decimal.NewFromInt(90)), "eu-west explains the deviation: %s", first.SharePct)
	for _, r := range ep.RootCauses[1:] {
		// usage_type=vm re-describes eu-west's surge (most VMs are there) and the steady
		// region only differs by its weekday swing: neither gets a share of what eu-west
		// already explains.
		require.True(t, r.SharePct.LessThan(decimal.NewFromInt(5)), "%s=%s share %s after eu-west: %+v", r.Dimension, r.Value, r.SharePct, ep.RootCauses)
	}

	// Alerts: the episode deviates by 150% (18 EUR a day on 12), so the subscription with
	// only threshold_pct (50%) fired, once for the episode (the tenant's first spend on day
	// 0, a deviation without bound from nothing, fired it too); the DAILY digest was sent
	// once however often it ran.
	require.True(t, ep.Alerted)
	require.Len(t, ep.AlertedSubscriptions, 2, "the threshold_pct subscription and the digest's")
	require.True(t, ep.MaxDeviationPct.GreaterThan(pct))
	require.Equal(t, []string{"/pct", "/pct", "/daily"}, hook.Paths(), "day 0's first spend, the episode, one digest")

	// EXPECTED feedback: the series' next surge, two weeks later, is stored, not alerted.
	_, err = p.Anomaly.GiveFeedback(ctx, tn, ep.ID, anomaly.VerdictExpected, "planned load test", "user-1")
	require.NoError(t, err)
	for d := 60; d < repeatFrom+surgeDays+1; d++ {
		report(d)
	}
	l, err = p.Anomaly.List(ctx, tn, anomaly.Filter{}, eusaas.Page{Page: 1, Size: 100})
	require.NoError(t, err)
	var repeat *anomaly.Anomaly
	for i, a := range l.Items {
		if a.Service == string(billing.CPU) && a.Day.Equal(start.AddDate(0, 0, repeatFrom)) {
			repeat = &l.Items[i]
		}
	}
	require.NotNil(t, repeat, "the repeat surge is stored: %+v", l.Items)
	require.False(t, repeat.Alerted, "muted by the EXPECTED verdict")
	require.Equal(t, []string{"/pct", "/pct", "/daily"}, hook.Paths(), "no webhook for the repeat")
}

// A restricted data subject's usage (an attribute value naming them) is left out of the
// scanner's attribution input; other values stay.
func TestAttributeCostsSkipRestrictedSubjects(t *testing.T) {
	ctx := context.Background()
	clock := eusaas.NewFakeClock(time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC))
	svc, err := billing.NewService(billing.Deps{Usage: membilling.NewUsageStore(), Invoices: membilling.NewInvoiceStore(),
		Prices: membilling.NewPriceStore(), Tx: memtx.NewTxRunner()}, billing.Options{Clock: clock})
	require.NoError(t, err)
	tn := eusaas.NewTenantID()
	day := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	_, err = svc.Ingest(ctx, tn, []billing.UsageEvent{
		{ID: "a", ResourceType: billing.CPU, Quantity: decimal.NewFromInt(10), Timestamp: day, Attributes: map[string]string{"user": "user-restricted", "region": "eu"}},
		{ID: "b", ResourceType: billing.CPU, Quantity: decimal.NewFromInt(5), Timestamp: day, Attributes: map[string]string{"user": "user-free"}},
	})
	require.NoError(t, err)
	src := platform.AttributeCosts{Billing: svc, Restricted: func(context.Context, eusaas.TenantID) ([]string, error) {
		return []string{"user-restricted"}, nil
	}}
	costs, err := src.AttributeCosts(ctx, tn, day, day)
	require.NoError(t, err)
	var values []string
	for _, c := range costs {
		values = append(values, c.Key+"="+c.Value)
	}
	require.ElementsMatch(t, []string{"user=user-free", "region=eu"}, values)
}
