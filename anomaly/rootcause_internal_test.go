package anomaly

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestRootCausesRanking(t *testing.T) {
	day0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var costs []AttributeCost
	add := func(d int, res, k, v, amt string) {
		costs = append(costs, AttributeCost{Day: day0.AddDate(0, 0, d), Resource: res, Key: k, Value: v, Amount: decimal.RequireFromString(amt)})
	}
	for d := range 30 {
		a, b := "10", "5"
		if d == 29 { // eu-a drops to 2: a drop of 8
			a = "2"
		}
		add(d, "CPU", "region", "eu-a", a)
		add(d, "CPU", "region", "eu-b", b)
		add(d, "STORAGE", "region", "eu-b", "1")
	}
	ix := newAttributeIndex(costs, day0, 30)
	last := day0.AddDate(0, 0, 29)
	got := ix.rootCauses("CPU", Down, last, last, decimal.NewFromInt(8))
	if len(got) != 1 || got[0].Value != "eu-a" || !got[0].ContributionAmount.Equal(decimal.NewFromInt(-8)) || !got[0].SharePct.Equal(decimal.NewFromInt(100)) {
		t.Fatalf("a drop lists the value that fell, with its share: %+v", got)
	}
	if up := ix.rootCauses("CPU", Up, last, last, decimal.NewFromInt(8)); len(up) != 0 {
		t.Errorf("no value rose: %+v", up)
	}
	if tot := ix.rootCauses(ServiceTotal, Down, last, last, decimal.NewFromInt(16)); len(tot) != 1 || !tot[0].SharePct.Equal(decimal.NewFromInt(50)) {
		t.Errorf("the total's deviation is shared out: %+v", tot)
	}
	if out := ix.rootCauses("CPU", Down, day0.AddDate(0, 0, 40), day0.AddDate(0, 0, 40), decimal.NewFromInt(1)); out != nil {
		t.Errorf("outside the index: none, got %+v", out)
	}
	var none *attributeIndex
	if none.rootCauses("CPU", Up, last, last, decimal.NewFromInt(1)) != nil {
		t.Error("without attribute data: none")
	}
}
