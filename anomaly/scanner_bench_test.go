package anomaly_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/anomaly/memanomaly"
)

const (
	benchTenants   = 10000
	benchResources = 5
	benchDays      = 90
)

var (
	benchOnce    sync.Once
	benchSeries  *memanomaly.Series
	benchTenantC []anomaly.TenantConfig
	benchNow     = time.Date(2026, 4, 1, 6, 0, 0, 0, time.UTC)
)

// benchData: 10,000 tenants x 5 resources x 90 days ending yesterday, weekday pattern and
// noise, a spike on the scored day for 1% of the series. Amounts come from a pool of
// decimals so the fixture itself stays small (decimals are immutable, sharing is safe).
func benchData() {
	rng := rand.New(rand.NewPCG(42, 42))
	pool := make([]decimal.Decimal, 20000)
	for i := range pool {
		pool[i] = decimal.New(int64(i+100), -2) // 1.00 .. 200.99 EUR
	}
	names := []string{"API_CALLS", "CPU", "MEMORY", "NETWORK", "STORAGE"}
	benchSeries = memanomaly.NewSeries()
	first := anomaly.DayOf(benchNow).AddDate(0, 0, -benchDays)
	for range benchTenants {
		id := eusaas.NewTenantID()
		benchTenantC = append(benchTenantC, anomaly.TenantConfig{ID: id})
		rows := make([]anomaly.DailyCost, 0, benchResources*benchDays)
		for r := range benchResources {
			base := 2000 + rng.IntN(6000)
			for d := range benchDays {
				day := first.AddDate(0, 0, d)
				v := base
				if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
					v = v * 6 / 10
				}
				v += rng.IntN(base/10+1) - base/20
				if d == benchDays-1 && rng.IntN(100) == 0 {
					v = min(len(pool)-1, v*3)
				}
				rows = append(rows, anomaly.DailyCost{Day: day, Resource: names[r], Amount: pool[v]})
			}
		}
		benchSeries.Add(id, rows...)
	}
}

// BenchmarkScan: one scan of 10,000 tenants x 5 resources x 90 days on the memory adapters
// (fresh store each iteration, one tenant at a time so the ratios compare like with like).
// Baseline: reading the same series through the same port without scoring.
//
//	go test ./anomaly/ -run '^$' -bench Scan -benchtime=3x -count=1
//
// The default detector's daily scan with the replay cache, against the same run's baseline:
//
//	go test ./anomaly/ -run '^$' -bench 'Scan/(baseline|scan-calibrated-replay)' -benchtime=3x -count=1
func BenchmarkScan(b *testing.B) {
	benchOnce.Do(benchData)
	ctx := context.Background()
	clock := eusaas.NewFakeClock(benchNow)
	lister := anomaly.TenantListerFunc(func(context.Context) ([]anomaly.TenantConfig, error) { return benchTenantC, nil })
	perTenant := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchTenants), "ns/tenant")
	}

	b.Run("baseline-read-series", func(b *testing.B) {
		b.ReportAllocs()
		from := anomaly.DayOf(benchNow).AddDate(0, 0, -benchDays)
		to := anomaly.DayOf(benchNow).AddDate(0, 0, -1)
		rows := 0
		for b.Loop() {
			for _, t := range benchTenantC {
				r, err := benchSeries.DailyCosts(ctx, t.ID, from, to)
				if err != nil {
					b.Fatal(err)
				}
				rows += len(r)
			}
		}
		if rows != b.N*benchTenants*benchResources*benchDays {
			b.Fatalf("read %d rows", rows)
		}
		perTenant(b)
	})
	for _, det := range []anomaly.Detector{anomaly.NewZScore(), anomaly.NewSeasonal(), anomaly.NewCalibrated()} {
		b.Run("scan-"+det.Name(), func(b *testing.B) {
			b.ReportAllocs()
			created := 0
			for b.Loop() {
				sc := anomaly.NewScanner(benchSeries, lister, memanomaly.NewStore(), nil, anomaly.ScannerOptions{
					Detector: det, HistoryDays: benchDays - 1, Clock: clock, Concurrency: 1})
				rep, err := sc.ScanAll(ctx)
				if err != nil || len(rep.Failed) > 0 || rep.Tenants != benchTenants {
					b.Fatal(err, rep.Failed)
				}
				created = rep.Created
			}
			b.ReportMetric(float64(created), "anomalies")
			perTenant(b)
		})
	}
	// The daily scan with the replay cache (ScannerOptions.Replay): yesterday's scan (not
	// timed) left each series' state; today's pushes one day per series and scores it. Each
	// iteration starts from a copy of yesterday's cache, so every timed scan is that day's.
	b.Run("scan-calibrated-replay-cache", func(b *testing.B) {
		det := anomaly.NewCalibrated()
		warm := anomaly.NewReplayCache()
		opts := func(c *anomaly.ReplayCache) anomaly.ScannerOptions {
			return anomaly.ScannerOptions{Detector: det, HistoryDays: benchDays - 1, Clock: clock, Concurrency: 1, Replay: c}
		}
		// Yesterday's scan read the same series one day shorter (from the same first day).
		y := anomaly.NewScanner(benchSeries, lister, memanomaly.NewStore(), nil, anomaly.ScannerOptions{
			Detector: det, HistoryDays: benchDays - 2, Clock: clock, Concurrency: 1, Replay: warm})
		if _, err := y.ScanAllAt(ctx, benchNow.AddDate(0, 0, -1)); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		created := 0
		for b.Loop() {
			b.StopTimer()
			c := warm.Clone()
			sc := anomaly.NewScanner(benchSeries, lister, memanomaly.NewStore(), nil, opts(c))
			b.StartTimer()
			rep, err := sc.ScanAll(ctx)
			if err != nil || len(rep.Failed) > 0 || rep.Tenants != benchTenants {
				b.Fatal(err, rep.Failed)
			}
			created = rep.Created
		}
		b.ReportMetric(float64(created), "anomalies")
		perTenant(b)
	})
}
