package billing

import (
	"context"
	"time"

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
)

// Attribute aggregates: the quantity of each (day, resource, attribute key, attribute value)
// summed at ingestion, in the same transaction as the buckets (UsageStore.Record). They are
// what anomaly root causes are computed from: raw events (with their attributes) live only
// as long as the dedup window, but a root cause needs weeks of history per value.
//
// Cardinality is bounded per tenant and key: the first MaxAttributeValues distinct values of
// a key are kept as they are, later new values are summed under AttributeOther. A key such
// as a request id, with a new value per event, so costs one row per day and resource instead
// of one per event.
const (
	MaxAttributeValues = 1000
	AttributeOther     = "(other)"
)

// AttributeUsage is one aggregate row.
type AttributeUsage struct {
	Day      time.Time
	Resource ResourceType
	Key      string
	Value    string
	Quantity decimal.Decimal
}

// AttributeCost is an attribute value's share of a (day, resource) bucket's cost: the
// bucket's amount times the value's share of the bucket's quantity. Proportional
// allocation, because a tiered price rates the bucket's quantity as a whole, not per event;
// with per-unit prices it is the exact cost of the value's events.
type AttributeCost struct {
	Day      time.Time
	Resource string
	Key      string
	Value    string
	Amount   decimal.Decimal
}

// AttributeCosts returns the cost of every attribute value of the tenant's usage on each
// day in [from, to] (UTC dates, inclusive), per resource.
func (s *Service) AttributeCosts(ctx context.Context, tenant eusaas.TenantID, from, to time.Time) ([]AttributeCost, error) {
	if Day(to).Before(Day(from)) {
		return nil, ErrInvalidDateRange.With("to is before from")
	}
	rows, err := s.usage.AttributeUsage(ctx, tenant, Day(from), Day(to))
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	buckets, err := s.usage.Buckets(ctx, tenant, Day(from), Day(to))
	if err != nil {
		return nil, err
	}
	type key struct {
		day time.Time
		res ResourceType
	}
	byKey := make(map[key]Bucket, len(buckets))
	for _, b := range buckets {
		byKey[key{b.Day, b.Resource}] = b
	}
	out := make([]AttributeCost, 0, len(rows))
	for _, r := range rows {
		b, ok := byKey[key{r.Day, r.Resource}]
		if !ok || b.Quantity.IsZero() {
			continue
		}
		out = append(out, AttributeCost{Day: r.Day, Resource: string(r.Resource), Key: r.Key, Value: r.Value,
			Amount: b.Amount.Mul(r.Quantity).DivRound(b.Quantity, 6)})
	}
	return out, nil
}
