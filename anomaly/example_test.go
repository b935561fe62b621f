package anomaly_test

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas/anomaly"
)

// Judge one day of a resource's cost against the 7 days before it.
func ExampleGate_Judge() {
	history := []decimal.Decimal{}
	for _, v := range []string{"40", "41", "39", "40", "42", "40", "38"} {
		history = append(history, decimal.RequireFromString(v))
	}
	g := anomaly.Gate{MinImpact: decimal.NewFromInt(5)}
	day := time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC)
	f, _, ok := g.Judge(anomaly.NewZScore(), history, day, decimal.RequireFromString("95.5"))
	fmt.Println(ok, f.Kind, f.Severity, f.Expected, f.Impact, f.DeviationPct)
	// Output: true SPIKE HIGH 40 55.5 138.75
}
