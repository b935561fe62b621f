package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/membilling"
)

// TestDefaultPricesOfSpec pins every default EUR unit price and unit of SPEC.md.
func TestDefaultPricesOfSpec(t *testing.T) {
	want := map[billing.ResourceType][2]string{
		billing.CPU: {"0.02", "vCPU-hour"}, billing.Memory: {"0.005", "GB-hour"}, billing.Storage: {"0.01", "GB-day"},
		billing.Network: {"0.001", "GB"}, billing.APICalls: {"0.0001", "call"},
	}
	prices := billing.DefaultPrices()
	require.Len(t, prices, len(want))
	for r, w := range want {
		require.True(t, q(w[0]).Equal(prices[r].Cost(q("1"))), "%s costs %s", r, prices[r].Cost(q("1")))
		require.Equal(t, w[1], r.Unit())
	}
}

// TestLateWindowIsConfigurable: the late-arrival horizon follows Options.LateWindow and the
// reason names it.
func TestLateWindowIsConfigurable(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	svc, err := billing.NewService(billing.Deps{Usage: membilling.NewUsageStore(), Invoices: membilling.NewInvoiceStore(),
		Prices: membilling.NewPriceStore()}, billing.Options{Clock: eusaas.NewFakeClock(now), LateWindow: 2 * 24 * time.Hour})
	require.NoError(t, err)
	r, err := svc.Ingest(context.Background(), eusaas.NewTenantID(), []billing.UsageEvent{
		{ID: "in", ResourceType: billing.CPU, Quantity: q("1"), Timestamp: now.Add(-47 * time.Hour)},
		{ID: "out", ResourceType: billing.CPU, Quantity: q("1"), Timestamp: now.Add(-49 * time.Hour)},
	})
	require.NoError(t, err)
	require.Equal(t, billing.Accepted, r.Results[0].Status)
	require.Equal(t, billing.Rejected, r.Results[1].Status)
	require.Contains(t, r.Results[1].Reason, "(2 days)")
}

// cutoffSpy records the cutoff the service passes to PurgeDedup.
type cutoffSpy struct {
	billing.UsageStore
	cutoff time.Time
}

func (c *cutoffSpy) PurgeDedup(_ context.Context, _ eusaas.TenantID, cutoff time.Time) (int, error) {
	c.cutoff = cutoff
	return 0, nil
}

// TestDedupRetentionAtLeast35Days: whatever the options say, the service never asks a store
// to forget ids younger than 35 days, nor younger than the late window plus a day (an id
// must stay known while an event carrying it could still be accepted).
func TestDedupRetentionAtLeast35Days(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	for _, tc := range []struct {
		name      string
		o         billing.Options
		retention time.Duration
	}{
		{"defaults", billing.Options{}, 36 * day},
		{"short options", billing.Options{LateWindow: time.Hour, DedupRetention: time.Hour}, 35 * day},
		{"long late window", billing.Options{LateWindow: 60 * day, DedupRetention: 40 * day}, 61 * day},
		{"long retention", billing.Options{DedupRetention: 90 * day}, 90 * day},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spy := &cutoffSpy{UsageStore: membilling.NewUsageStore()}
			tc.o.Clock = eusaas.NewFakeClock(now)
			svc, err := billing.NewService(billing.Deps{Usage: spy, Invoices: membilling.NewInvoiceStore(), Prices: membilling.NewPriceStore()}, tc.o)
			require.NoError(t, err)
			_, err = svc.PurgeDedup(context.Background(), eusaas.NewTenantID())
			require.NoError(t, err)
			require.Equal(t, now.Add(-tc.retention), spy.cutoff)
		})
	}
}
