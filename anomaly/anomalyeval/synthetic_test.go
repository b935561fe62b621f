package anomalyeval

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/anomaly"
)

func TestGenerateIsSeededAndShaped(t *testing.T) {
	cfg := SynthConfig{Seed: 7, Tenants: 20, Days: 100}
	a, b := Generate(cfg), Generate(cfg)
	require.Equal(t, a.Events, b.Events)
	require.Equal(t, len(a.Rows[3]), len(b.Rows[3]))
	for i := range a.Rows[3] {
		require.True(t, a.Rows[3][i].Amount.Equal(b.Rows[3][i].Amount))
	}
	other := Generate(SynthConfig{Seed: 8, Tenants: 20, Days: 100})
	require.NotEqual(t, a.Events, other.Events)

	kinds := map[string]int{}
	for _, e := range a.Events {
		kinds[e.Kind]++
		require.GreaterOrEqual(t, e.Start, 28)
		require.LessOrEqual(t, e.End, 99)
	}
	require.Len(t, kinds, 4, "every kind of event is injected: %v", kinds)

	// Amounts are cents; CPU dips at weekends (averaged over tenants).
	var we, wd, nwe, nwd float64
	for _, rows := range a.Rows {
		for _, r := range rows {
			require.True(t, r.Amount.Equal(r.Amount.Round(2)))
			if r.Resource != "CPU" {
				continue
			}
			if d := r.Day.Weekday(); d == time.Saturday || d == time.Sunday {
				we += r.Amount.InexactFloat64()
				nwe++
			} else {
				wd += r.Amount.InexactFloat64()
				nwd++
			}
		}
	}
	require.Less(t, we/nwe, 0.9*wd/nwd)
}

func TestEvaluateSyntheticSmall(t *testing.T) {
	data := Generate(SynthConfig{Seed: 3, Tenants: 8, Days: 75})
	ctx := context.Background()
	s, err := EvaluateSynthetic(ctx, data, anomaly.NewSeasonal(), decimal.NewFromInt(5), "seasonal")
	require.NoError(t, err)
	require.Equal(t, len(data.Events), s.Events)
	require.Greater(t, s.Detected, 0)
	require.InDelta(t, 8*74/(365.25/12), s.TenantMonths, 1e-9)
	again, err := EvaluateSynthetic(ctx, data, anomaly.NewSeasonal(), decimal.NewFromInt(5), "seasonal")
	require.NoError(t, err)
	require.Equal(t, s.Detected, again.Detected, "deterministic")
	require.Equal(t, s.FalsePos, again.FalsePos)
	total := 0
	for _, v := range s.ByKind {
		total += v[1]
	}
	require.Equal(t, s.Events, total)
}

func TestEvaluateReportWithoutNAB(t *testing.T) {
	rep, err := Evaluate(context.Background(), Options{Synth: SynthConfig{Seed: 2, Tenants: 4, Days: 60}})
	require.NoError(t, err)
	require.Nil(t, rep.NAB)
	md := rep.Markdown()
	require.Contains(t, md, `| seasonal (ours) | \|robust z\| >= 5 |`)
	require.Contains(t, md, `windowed Gaussian (baseline, \|z\| >= 2.5)`)
	require.Len(t, rep.Synth, 4, "without NAB there is no NAB-tuned Gaussian row")
	require.Contains(t, md, "| calibrated (ours) (default) | surprise -log10 p >= 3.75 |")
	require.Equal(t, 1, strings.Count(md, "(default)"), "exactly the scanner's default is marked")
	require.Equal(t, 2, strings.Count(md, "(ours) |"))
}
