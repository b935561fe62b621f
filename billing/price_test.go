package billing_test

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/billing"
)

func q(s string) decimal.Decimal { return billing.MustQuantity(s) }

func upTo(s string) *decimal.Decimal { v := q(s); return &v }

func TestPriceModels(t *testing.T) {
	grad := billing.PriceModel{Kind: billing.PriceModelGraduated, Tiers: []billing.Tier{
		{UpTo: upTo("100"), UnitPrice: q("0.10")}, {UpTo: upTo("1000"), UnitPrice: q("0.05")}, {UnitPrice: q("0.01")}}}
	vol := billing.PriceModel{Kind: billing.PriceModelVolume, Tiers: []billing.Tier{
		{UpTo: upTo("100"), UnitPrice: q("0.10")}, {UpTo: upTo("1000"), UnitPrice: q("0.05")}, {UnitPrice: q("0.01")}}}
	require.NoError(t, grad.Validate("body"))
	require.NoError(t, vol.Validate("body"))
	for _, tc := range []struct {
		qty, grad, vol string
	}{
		{"0", "0", "0"}, {"50", "5", "5"}, {"100", "10", "10"}, {"100.5", "10.025", "5.025"},
		{"1000", "55", "50"}, {"2500", "70", "25"},
	} {
		require.True(t, q(tc.grad).Equal(grad.Cost(q(tc.qty))), "graduated %s: %s", tc.qty, grad.Cost(q(tc.qty)))
		require.True(t, q(tc.vol).Equal(vol.Cost(q(tc.qty))), "volume %s: %s", tc.qty, vol.Cost(q(tc.qty)))
	}
	// Marginal amounts telescope: splitting a month's quantity in any order sums to Cost.
	parts := []string{"30", "80", "500.5", "0.25", "1500"}
	for _, p := range []billing.PriceModel{grad, vol, billing.PerUnit(q("0.02"))} {
		before, sum := decimal.Zero, decimal.Zero
		for _, s := range parts {
			sum = sum.Add(p.Marginal(before, q(s)))
			before = before.Add(q(s))
		}
		require.True(t, p.Cost(before).Equal(sum), "%s: %s vs %s", p.Kind, p.Cost(before), sum)
	}
	require.True(t, q("0.0001").Equal(billing.DefaultPrices()[billing.APICalls].Cost(q("1"))))
}

func TestPriceValidate(t *testing.T) {
	for _, p := range []billing.PriceModel{
		{Kind: "flat"},
		billing.PerUnit(q("1").Neg()),
		{Kind: billing.PriceModelGraduated},
		{Kind: billing.PriceModelGraduated, Tiers: []billing.Tier{{UpTo: upTo("10"), UnitPrice: q("1")}}},
		{Kind: billing.PriceModelVolume, Tiers: []billing.Tier{{UnitPrice: q("1")}, {UnitPrice: q("1")}}},
		{Kind: billing.PriceModelVolume, Tiers: []billing.Tier{{UpTo: upTo("10"), UnitPrice: q("1")}, {UpTo: upTo("5"), UnitPrice: q("1")}, {UnitPrice: q("1")}}},
	} {
		require.Error(t, p.Validate("body"), "%+v", p)
	}
}
