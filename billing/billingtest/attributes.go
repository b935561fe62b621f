package billingtest

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/billing"
)

// attrSums reads the tenant's aggregates over [from, to] as "day resource key=value" → qty.
func attrSums(t *testing.T, rows []billing.AttributeUsage) map[string]decimal.Decimal {
	t.Helper()
	out := map[string]decimal.Decimal{}
	for _, r := range rows {
		k := fmt.Sprintf("%s %s %s=%s", r.Day.Format("2006-01-02"), r.Resource, r.Key, r.Value)
		_, dup := out[k]
		require.False(t, dup, "one row per (day, resource, key, value): %s", k)
		out[k] = r.Quantity
	}
	return out
}

func testAttributes(t *testing.T, h Harness) {
	e := setup(t, h)
	tn := e.NewTenant(t)
	day1 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	day2 := day1.AddDate(0, 0, 1)
	at := func(id string, r billing.ResourceType, q string, ts time.Time, kv ...string) billing.UsageEvent {
		x := ev(id, r, q, ts)
		x.Attributes = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			x.Attributes[kv[i]] = kv[i+1]
		}
		return x
	}
	batch := []billing.UsageEvent{
		at("a1", billing.CPU, "10", day1, "region", "eu-west", "usage_type", "vm"),
		at("a2", billing.CPU, "5", day1, "region", "eu-north", "usage_type", "vm"),
		at("a3", billing.CPU, "2.5", day1.Add(time.Hour), "region", "eu-west"),
		at("a4", billing.Storage, "7", day2, "region", "eu-west"),
		ev("plain", billing.CPU, "100", day1), // no attributes: in the bucket, in no aggregate
	}
	_, err := e.svc.Ingest(e.ctx, tn, batch)
	require.NoError(t, err)
	_, err = e.svc.Ingest(e.ctx, tn, batch[:2]) // duplicates add nothing
	require.NoError(t, err)
	rows, err := e.Usage.AttributeUsage(e.ctx, tn, billing.Day(day1), billing.Day(day2))
	require.NoError(t, err)
	got := attrSums(t, rows)
	want := map[string]string{
		"2026-03-02 CPU region=eu-west":     "12.5",
		"2026-03-02 CPU region=eu-north":    "5",
		"2026-03-02 CPU usage_type=vm":      "15",
		"2026-03-03 STORAGE region=eu-west": "7",
	}
	require.Len(t, got, len(want), "%v", got)
	for k, q := range want {
		requireDecEqual(t, d(q), got[k], k)
	}
	only2, err := e.Usage.AttributeUsage(e.ctx, tn, billing.Day(day2), billing.Day(day2))
	require.NoError(t, err)
	require.Len(t, only2, 1, "the day range bounds the rows")

	// Costs are the bucket's amount in proportion to the value's quantity: CPU at 0.02 per
	// unit, the day's bucket 117.5 units = 2.35 EUR; eu-west's 12.5 units = 0.25 EUR.
	costs, err := e.svc.AttributeCosts(e.ctx, tn, day1, day1)
	require.NoError(t, err)
	var west decimal.Decimal
	for _, c := range costs {
		if c.Key == "region" && c.Value == "eu-west" && c.Resource == string(billing.CPU) {
			west = c.Amount
		}
	}
	requireDecEqual(t, d("0.25"), west, "eu-west's share of the CPU bucket")

	// Cardinality: past MaxAttributeValues distinct values of a key, new values go to
	// AttributeOther; values already kept stay themselves.
	var many []billing.UsageEvent
	for i := range billing.MaxAttributeValues + 3 {
		many = append(many, at(fmt.Sprintf("r%04d", i), billing.APICalls, "1", day2, "request", fmt.Sprintf("req-%04d", i)))
	}
	for i := 0; i < len(many); i += billing.MaxBatch {
		_, err = e.svc.Ingest(e.ctx, tn, many[i:min(i+billing.MaxBatch, len(many))])
		require.NoError(t, err)
	}
	_, err = e.svc.Ingest(e.ctx, tn, []billing.UsageEvent{at("again", billing.APICalls, "1", day2, "request", "req-0000")})
	require.NoError(t, err)
	rows, err = e.Usage.AttributeUsage(e.ctx, tn, billing.Day(day2), billing.Day(day2))
	require.NoError(t, err)
	values := map[string]decimal.Decimal{}
	for _, r := range rows {
		if r.Key == "request" {
			values[r.Value] = r.Quantity
		}
	}
	require.Len(t, values, billing.MaxAttributeValues+1, "the kept values and (other)")
	requireDecEqual(t, d("3"), values[billing.AttributeOther], "three values over the limit")
	requireDecEqual(t, d("2"), values["req-0000"], "a kept value keeps counting")

	// Pseudonymisation reaches the aggregates (attribute values can be personal data).
	_, err = e.svc.Ingest(e.ctx, tn, []billing.UsageEvent{at("p1", billing.CPU, "4", day2, "user", "alice@example.eu")})
	require.NoError(t, err)
	_, err = e.svc.PseudonymizeSubject(e.ctx, tn, "alice@example.eu")
	require.NoError(t, err)
	rows, err = e.Usage.AttributeUsage(e.ctx, tn, billing.Day(day2), billing.Day(day2))
	require.NoError(t, err)
	var users []string
	for _, r := range rows {
		if r.Key == "user" {
			users = append(users, r.Value)
			requireDecEqual(t, d("4"), r.Quantity)
		}
	}
	sort.Strings(users)
	require.Equal(t, []string{billing.Pseudonym(tn, "alice@example.eu")}, users)
}
