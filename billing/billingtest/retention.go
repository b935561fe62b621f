package billingtest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
)

// AttributeEraser is the optional usage-store method that applies data_retention_days to
// raw events (platform.UsageRetainer).
type AttributeEraser interface {
	EraseAttributesBefore(ctx context.Context, tenant eusaas.TenantID, cutoff time.Time) (int, error)
}

// testEraseAttributes: the attributes of events that occurred before the cutoff are erased,
// younger events and other tenants keep theirs, the events still deduplicate and the buckets
// are unchanged; a second run erases nothing.
func testEraseAttributes(t *testing.T, h Harness) {
	e := setup(t, h)
	s := e.Stores
	ae, ok := s.Usage.(AttributeEraser)
	if !ok {
		t.Skip("usage store without EraseAttributesBefore")
	}
	a, b := s.NewTenant(t), s.NewTenant(t)
	rate := billing.PriceBook(billing.DefaultPrices()).Rate
	old, recent := Now.AddDate(0, 0, -20), Now.AddDate(0, 0, -2)
	with := func(id string, ts time.Time) billing.UsageEvent {
		x := ev(id, billing.CPU, "2", ts)
		x.Attributes = map[string]string{"user": "u-42", "host": "build-7"}
		return x
	}
	for _, tn := range []eusaas.TenantID{a, b} {
		_, err := s.Usage.Record(e.ctx, tn, []billing.UsageEvent{with("old", old), with("recent", recent), ev("bare", billing.CPU, "1", old)}, rate)
		require.NoError(t, err)
	}
	before, err := s.Usage.Buckets(e.ctx, a, old.AddDate(0, 0, -1), Now)
	require.NoError(t, err)

	n, err := ae.EraseAttributesBefore(e.ctx, a, Now.AddDate(0, 0, -7))
	require.NoError(t, err)
	require.Equal(t, 1, n, "only the old event with attributes")
	n, err = ae.EraseAttributesBefore(e.ctx, a, Now.AddDate(0, 0, -7))
	require.NoError(t, err)
	require.Zero(t, n, "idempotent")
	after, err := s.Usage.Buckets(e.ctx, a, old.AddDate(0, 0, -1), Now)
	require.NoError(t, err)
	require.Equal(t, len(before), len(after))
	for i := range before {
		requireDecEqual(t, before[i].Quantity, after[i].Quantity, "aggregates kept")
	}
	ins, err := s.Usage.Record(e.ctx, a, []billing.UsageEvent{with("old", old)}, rate)
	require.NoError(t, err)
	require.Equal(t, []bool{false}, ins, "the event id still deduplicates")
	n, err = ae.EraseAttributesBefore(e.ctx, a, Now)
	require.NoError(t, err)
	require.Equal(t, 1, n, "the recent event kept its attributes until its own cutoff")
	n, err = ae.EraseAttributesBefore(e.ctx, b, Now.AddDate(0, 0, -7))
	require.NoError(t, err)
	require.Equal(t, 1, n, "the other tenant was untouched")
}
