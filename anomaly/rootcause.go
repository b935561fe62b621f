package anomaly

import (
	"context"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
)

// RootCause is one attribute value that explains part of an anomaly: over the anomaly's
// days (its episode so far), the value's cost was ActualAmount where its own recent history
// predicts ExpectedAmount. ContributionAmount = ActualAmount - ExpectedAmount (signed, in
// the anomaly's direction for the causes listed); SharePct is its part of the anomaly's
// deviation in percent.
type RootCause struct {
	Dimension          string // the attribute key, e.g. "region"
	Value              string // e.g. "eu-west-1"; AttributeOther collects a key's rare values
	ExpectedAmount     decimal.Decimal
	ActualAmount       decimal.Decimal
	ContributionAmount decimal.Decimal
	SharePct           decimal.Decimal
}

// AttributeCost is one attribute value's cost on one day and resource (billing's
// AttributeCosts: the bucket's amount in proportion to the value's quantity).
type AttributeCost struct {
	Day      time.Time
	Resource string
	Key      string
	Value    string
	Amount   decimal.Decimal
}

// AttributeSource gives a tenant's per-attribute daily costs in [from, to] (UTC dates,
// inclusive), in any order. Optional: without one, anomalies carry no root causes.
type AttributeSource interface {
	AttributeCosts(ctx context.Context, tenant eusaas.TenantID, from, to time.Time) ([]AttributeCost, error)
}

// AttributeSourceFunc adapts a function to AttributeSource.
type AttributeSourceFunc func(ctx context.Context, tenant eusaas.TenantID, from, to time.Time) ([]AttributeCost, error)

// AttributeCosts calls f.
func (f AttributeSourceFunc) AttributeCosts(ctx context.Context, tenant eusaas.TenantID, from, to time.Time) ([]AttributeCost, error) {
	return f(ctx, tenant, from, to)
}

// Root-cause ranking: at most MaxRootCauses causes, each value's expectation the median of
// its daily cost over the RootCauseBaselineDays before the anomaly began (a day without the
// value counts as 0: a value that appears is new spend). The median, not the mean, so an
// earlier spike of the same value does not raise what counts as normal.
const (
	MaxRootCauses         = 5
	RootCauseBaselineDays = 28
)

// attributeIndex holds a tenant's attribute costs by resource and (key, value), as daily
// amounts from day0.
type attributeIndex struct {
	day0 time.Time
	days int
	// series[resource][key\x00value] = daily amounts; resource "" sums every resource.
	series map[string]map[attrKV][]decimal.Decimal
}

type attrKV struct{ key, value string }

func newAttributeIndex(costs []AttributeCost, day0 time.Time, days int) *attributeIndex {
	ix := &attributeIndex{day0: day0, days: days, series: map[string]map[attrKV][]decimal.Decimal{}}
	add := func(res string, kv attrKV, i int, amt decimal.Decimal) {
		m := ix.series[res]
		if m == nil {
			m = map[attrKV][]decimal.Decimal{}
			ix.series[res] = m
		}
		s := m[kv]
		if s == nil {
			s = make([]decimal.Decimal, days)
			m[kv] = s
		}
		s[i] = s[i].Add(amt)
	}
	for _, c := range costs {
		i := int(DayOf(c.Day).Sub(day0).Hours() / 24)
		if i < 0 || i >= days {
			continue
		}
		kv := attrKV{c.Key, c.Value}
		add(c.Resource, kv, i, c.Amount)
		add("", kv, i, c.Amount)
	}
	return ix
}

// rootCauses ranks the attribute values of service (a resource, or ServiceTotal for all)
// that explain the deviation over [first, last], in direction dir; deviation is the
// anomaly's own |actual - expected| over those days, which the shares are of.
func (ix *attributeIndex) rootCauses(service string, dir Direction, first, last time.Time, deviation decimal.Decimal) []RootCause {
	if ix == nil {
		return nil
	}
	res := service
	if service == ServiceTotal {
		res = ""
	}
	m := ix.series[res]
	i0 := int(DayOf(first).Sub(ix.day0).Hours() / 24)
	i1 := int(DayOf(last).Sub(ix.day0).Hours() / 24)
	if len(m) == 0 || i0 < 0 || i1 >= ix.days || i1 < i0 {
		return nil
	}
	b0 := max(0, i0-RootCauseBaselineDays)
	n := decimal.NewFromInt(int64(i1 - i0 + 1))
	var out []RootCause
	base := make([]decimal.Decimal, 0, RootCauseBaselineDays)
	for kv, s := range m {
		base = append(base[:0], s[b0:i0]...)
		exp := median(base).Mul(n)
		act := decimal.Zero
		for i := i0; i <= i1; i++ {
			act = act.Add(s[i])
		}
		c := act.Sub(exp)
		if (dir == Up && !c.IsPositive()) || (dir == Down && !c.IsNegative()) {
			continue
		}
		out = append(out, RootCause{Dimension: kv.key, Value: kv.value, ExpectedAmount: exp.Round(2), ActualAmount: act.Round(2), ContributionAmount: c.Round(2)})
	}
	// Ranked by contribution weighted by how much of the value's own cost the change is
	// (|contribution| x |contribution| / max(actual, expected)). Keys overlap: a surge of one
	// region's virtual machines raises both region=that and usage_type=vm by about the same
	// amount, but it is most of that region's cost and a fraction of all VMs' cost; the more
	// specific value is the better explanation and comes first.
	rank := func(r RootCause) float64 {
		c := r.ContributionAmount.Abs().InexactFloat64()
		size := math.Max(r.ActualAmount.Abs().InexactFloat64(), r.ExpectedAmount.Abs().InexactFloat64())
		if size == 0 {
			return 0
		}
		return c * c / size
	}
	sort.Slice(out, func(i, j int) bool {
		ci, cj := rank(out[i]), rank(out[j])
		if ci != cj {
			return ci > cj
		}
		if out[i].Dimension != out[j].Dimension {
			return out[i].Dimension < out[j].Dimension
		}
		return out[i].Value < out[j].Value
	})
	out = slices.DeleteFunc(out[:min(len(out), MaxRootCauses)], func(r RootCause) bool { return r.ContributionAmount.IsZero() })
	// Shares: attribute keys overlap (the same spend has a region and a usage type), so
	// the causes are credited in rank order with what of the deviation is still
	// unexplained: the first takes its contribution (up to all of it), the next what is
	// left, and so on. The listed shares sum to at most 100 %; a cause that only re-describes
	// spend an earlier one explains keeps its amounts and gets a small or zero share.
	denom := deviation.Abs()
	if denom.IsZero() {
		return nil
	}
	left := denom
	for i := range out {
		credit := decimal.Min(out[i].ContributionAmount.Abs(), left)
		left = left.Sub(credit)
		// Truncated, so rounding cannot lift the total above 100.
		out[i].SharePct = credit.Mul(hundred).Div(denom).Truncate(2)
	}
	return out
}

// median of xs (which it reorders); zero for none.
func median(xs []decimal.Decimal) decimal.Decimal {
	if len(xs) == 0 {
		return decimal.Zero
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i].LessThan(xs[j]) })
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[m]
	}
	return xs[m-1].Add(xs[m]).Div(decimal.NewFromInt(2))
}
