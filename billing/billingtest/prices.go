package billingtest

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
)

func testTiered(t *testing.T, h Harness) {
	e := setup(t, h)
	tn := e.NewTenant(t)
	up := func(s string) *decimal.Decimal { v := d(s); return &v }
	grad := billing.PriceModel{Kind: billing.PriceModelGraduated, Tiers: []billing.Tier{
		{UpTo: up("100"), UnitPrice: d("0.03")}, {UpTo: up("1000"), UnitPrice: d("0.02")}, {UnitPrice: d("0.01")}}}
	vol := billing.PriceModel{Kind: billing.PriceModelVolume, Tiers: []billing.Tier{
		{UpTo: up("50"), UnitPrice: d("0.01")}, {UnitPrice: d("0.002")}}}
	require.NoError(t, e.svc.SetPrice(e.ctx, tn, billing.CPU, grad))
	require.NoError(t, e.svc.SetPrice(e.ctx, tn, billing.Network, vol))
	rng := rand.New(rand.NewPCG(3, 4))
	var total, ntotal decimal.Decimal
	for b := 0; b < 8; b++ {
		var evs []billing.UsageEvent
		for i := 0; i < 20; i++ {
			q := decimal.New(int64(rng.IntN(5000)), -1)
			ts := time.Date(2026, 3, 1+rng.IntN(5), rng.IntN(12), 0, 0, 0, time.UTC)
			res := billing.CPU
			if i%2 == 1 {
				res = billing.Network
				ntotal = ntotal.Add(q)
			} else {
				total = total.Add(q)
			}
			evs = append(evs, billing.UsageEvent{ID: fmt.Sprintf("t%d-%d", b, i), ResourceType: res, Quantity: q, Timestamp: ts})
		}
		_, err := e.svc.Ingest(e.ctx, tn, evs)
		require.NoError(t, err)
	}
	br, err := e.svc.Costs(e.ctx, tn, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC), billing.ByResource)
	require.NoError(t, err)
	got := map[billing.ResourceType]decimal.Decimal{}
	for _, l := range br.Lines {
		got[l.Service] = l.Amount
	}
	requireDecEqual(t, grad.Cost(total), got[billing.CPU], "graduated month cost")
	requireDecEqual(t, vol.Cost(ntotal), got[billing.Network], "volume month cost")
}

func testPrices(t *testing.T, h Harness) {
	e := setup(t, h)
	tn := e.NewTenant(t)
	book, err := e.svc.PriceBook(e.ctx, tn)
	require.NoError(t, err)
	requireDecEqual(t, d("0.02"), book[billing.CPU].UnitPrice)
	up := d("10")
	tiered := billing.PriceModel{Kind: billing.PriceModelVolume, Tiers: []billing.Tier{{UpTo: &up, UnitPrice: d("0.5")}, {UnitPrice: d("0.25")}}}
	require.NoError(t, e.svc.SetPrice(e.ctx, tn, billing.Memory, tiered))
	require.NoError(t, e.svc.SetPrice(e.ctx, tn, billing.CPU, billing.PerUnit(d("0.03"))))
	require.NoError(t, e.svc.SetPrice(e.ctx, tn, billing.CPU, billing.PerUnit(d("0.04"))))
	over, err := e.Prices.Overrides(e.ctx, tn)
	require.NoError(t, err)
	require.Len(t, over, 2)
	requireDecEqual(t, d("0.04"), over[billing.CPU].UnitPrice)
	require.Equal(t, billing.PriceModelVolume, over[billing.Memory].Kind)
	require.Len(t, over[billing.Memory].Tiers, 2)
	requireDecEqual(t, d("10"), *over[billing.Memory].Tiers[0].UpTo)
	require.Nil(t, over[billing.Memory].Tiers[1].UpTo)
	requireDecEqual(t, d("0.25"), over[billing.Memory].Tiers[1].UnitPrice)
	require.NoError(t, e.Prices.DeleteOverride(e.ctx, tn, billing.CPU))
	require.NoError(t, e.Prices.DeleteOverride(e.ctx, tn, billing.CPU))
	over, err = e.Prices.Overrides(e.ctx, tn)
	require.NoError(t, err)
	require.Len(t, over, 1)

	rate, err := e.Prices.TaxRate(e.ctx, tn)
	require.NoError(t, err)
	require.True(t, rate.IsZero())
	require.NoError(t, e.svc.SetTaxRate(e.ctx, tn, d("0.19")))
	rate, err = e.Prices.TaxRate(e.ctx, tn)
	require.NoError(t, err)
	requireDecEqual(t, d("0.19"), rate)
	require.Error(t, e.svc.SetTaxRate(e.ctx, tn, d("-0.1")))
	bad := billing.PriceModel{Kind: billing.PriceModelGraduated, Tiers: []billing.Tier{{UnitPrice: d("1")}, {UnitPrice: d("2")}}}
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(e.svc.SetPrice(e.ctx, tn, billing.CPU, bad)))
}
