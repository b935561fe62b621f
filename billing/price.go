package billing

import (
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
)

// PriceKind selects how a quantity is priced.
type PriceKind string

// Price models.
const (
	// PriceModelPerUnit charges quantity x unit price.
	PriceModelPerUnit PriceKind = "per_unit"
	// PriceModelGraduated charges each tier's slice of the month's quantity at that tier's
	// price (the first 100 at 0.02, the next 900 at 0.015, ...).
	PriceModelGraduated PriceKind = "graduated"
	// PriceModelVolume charges the whole month's quantity at the price of the tier the total
	// falls in.
	PriceModelVolume PriceKind = "volume"
)

// Tier is one step of a tiered price. UpTo is the inclusive upper bound of the month's
// cumulative quantity the tier covers; nil means unbounded (only the last tier).
type Tier struct {
	UpTo      *decimal.Decimal
	UnitPrice decimal.Decimal
}

// PriceModel prices a resource's monthly quantity in EUR. Tiered models apply to the
// cumulative quantity of a calendar month (UTC).
type PriceModel struct {
	Kind      PriceKind
	UnitPrice decimal.Decimal // per_unit only
	Tiers     []Tier          // graduated and volume
}

// PerUnit returns a per-unit price model.
func PerUnit(price decimal.Decimal) PriceModel {
	return PriceModel{Kind: PriceModelPerUnit, UnitPrice: price}
}

// Validate checks the model: non-negative prices, tiers strictly increasing with only the
// last one unbounded. Violations are reported under prefix.
func (p PriceModel) Validate(prefix string) error {
	var v eusaas.Violations
	switch p.Kind {
	case PriceModelPerUnit:
		if p.UnitPrice.IsNegative() {
			v.Add(prefix+".unit_price", "must not be negative")
		}
		if len(p.Tiers) > 0 {
			v.Add(prefix+".tiers", "per_unit prices take no tiers")
		}
	case PriceModelGraduated, PriceModelVolume:
		if len(p.Tiers) == 0 {
			v.Add(prefix+".tiers", "tiered prices need at least one tier")
		}
		if len(p.Tiers) > 32 {
			v.Add(prefix+".tiers", "at most 32 tiers")
		}
		prev := decimal.Zero
		for i, t := range p.Tiers {
			loc := prefix + ".tiers[" + itoa(i) + "]"
			if t.UnitPrice.IsNegative() {
				v.Add(loc+".unit_price", "must not be negative")
			}
			last := i == len(p.Tiers)-1
			switch {
			case t.UpTo == nil && !last:
				v.Add(loc+".up_to", "only the last tier may be unbounded")
			case t.UpTo == nil:
			case last:
				v.Add(loc+".up_to", "the last tier must be unbounded")
			case !t.UpTo.GreaterThan(prev):
				v.Add(loc+".up_to", "tier bounds must be positive and strictly increasing")
			default:
				prev = *t.UpTo
			}
		}
	default:
		v.Add(prefix+".model", "must be per_unit, graduated or volume")
	}
	return v.Err()
}

// Cost is the exact price of a month's cumulative quantity q (q >= 0).
func (p PriceModel) Cost(q decimal.Decimal) decimal.Decimal {
	if !q.IsPositive() {
		return decimal.Zero
	}
	switch p.Kind {
	case PriceModelGraduated:
		total, lower := decimal.Zero, decimal.Zero
		for _, t := range p.Tiers {
			upper := q
			if t.UpTo != nil && t.UpTo.LessThan(q) {
				upper = *t.UpTo
			}
			if upper.GreaterThan(lower) {
				total = total.Add(upper.Sub(lower).Mul(t.UnitPrice))
			}
			if t.UpTo == nil || !t.UpTo.LessThan(q) {
				break
			}
			lower = *t.UpTo
		}
		return total
	case PriceModelVolume:
		for _, t := range p.Tiers {
			if t.UpTo == nil || !t.UpTo.LessThan(q) {
				return q.Mul(t.UnitPrice)
			}
		}
		return decimal.Zero // unreachable for a valid model (the last tier is unbounded)
	default:
		return q.Mul(p.UnitPrice)
	}
}

// Marginal is the cost that quantity adds to a month that already held before: Cost(before
// + quantity) - Cost(before). Summed over a month in any order it telescopes to the month's
// Cost, so bucket amounts add up exactly whatever order events arrive in. For volume prices
// crossing into a cheaper tier it can be negative.
func (p PriceModel) Marginal(before, quantity decimal.Decimal) decimal.Decimal {
	if p.Kind == PriceModelPerUnit || p.Kind == "" {
		return quantity.Mul(p.UnitPrice)
	}
	return p.Cost(before.Add(quantity)).Sub(p.Cost(before))
}

// PriceBook is the effective price of every resource for a tenant.
type PriceBook map[ResourceType]PriceModel

// Rate returns the amount quantity adds to the month of resource that already held before.
func (b PriceBook) Rate(resource ResourceType, before, quantity decimal.Decimal) decimal.Decimal {
	p, ok := b[resource]
	if !ok {
		p = DefaultPrices()[resource]
	}
	return p.Marginal(before, quantity)
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
