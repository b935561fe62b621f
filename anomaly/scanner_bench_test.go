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
// (fresh store each iteration, one tenant at a time so the ratios compare like with like,
// except the -concurrent rows, which scan with the default 4 workers as production does).
// Baselines: reading the same series through the same port without scoring, all 90 days,
// and just the aligned windows the daily scan reads.
//
//	go test ./anomaly/ -run '^$' -bench Scan -benchtime=3x -count=1
//
// The default detector's production daily scan against the same run's baselines:
//
//	go test ./anomaly/ -run '^$' -bench 'Scan/(baseline|daily)' -benchtime=3x -count=1
func BenchmarkScan(b *testing.B) {
	benchOnce.Do(benchData)
	ctx := context.Background()
	clock := eusaas.NewFakeClock(benchNow)
	lister := anomaly.TenantListerFunc(func(context.Context) ([]anomaly.TenantConfig, error) { return benchTenantC, nil })
	perTenant := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchTenants), "ns/tenant")
	}
	read := func(b *testing.B, window func(eusaas.TenantID) (time.Time, time.Time)) {
		b.ReportAllocs()
		rows := 0
		for b.Loop() {
			for _, t := range benchTenantC {
				from, to := window(t.ID)
				r, err := benchSeries.DailyCosts(ctx, t.ID, from, to)
				if err != nil {
					b.Fatal(err)
				}
				rows += len(r)
			}
		}
		b.ReportMetric(float64(rows)/float64(b.N*benchTenants*benchResources), "days/series")
		perTenant(b)
	}
	// scan times one ScanAll per iteration with opts; cache, when not nil, gives each
	// iteration a fresh copy of a warm ReplayCache (copied untimed).
	scan := func(b *testing.B, opts anomaly.ScannerOptions, cache *anomaly.ReplayCache) {
		b.ReportAllocs()
		created := 0
		for b.Loop() {
			o := opts
			if cache != nil {
				b.StopTimer()
				o.Replay = cache.Clone()
				b.StartTimer()
			}
			sc := anomaly.NewScanner(benchSeries, lister, memanomaly.NewStore(), nil, o)
			rep, err := sc.ScanAll(ctx)
			if err != nil || len(rep.Failed) > 0 || rep.Tenants != benchTenants {
				b.Fatal(err, rep.Failed)
			}
			created = rep.Created
		}
		b.ReportMetric(float64(created), "anomalies")
		perTenant(b)
	}
	// warm is the cache yesterday's scan with opts left.
	warm := func(b *testing.B, opts anomaly.ScannerOptions) *anomaly.ReplayCache {
		opts.Replay = anomaly.NewReplayCache()
		if _, err := anomaly.NewScanner(benchSeries, lister, memanomaly.NewStore(), nil, opts).ScanAllAt(ctx, benchNow.AddDate(0, 0, -1)); err != nil {
			b.Fatal(err)
		}
		return opts.Replay
	}

	b.Run("baseline-read-series", func(b *testing.B) {
		from := anomaly.DayOf(benchNow).AddDate(0, 0, -benchDays)
		to := anomaly.DayOf(benchNow).AddDate(0, 0, -1)
		read(b, func(eusaas.TenantID) (time.Time, time.Time) { return from, to })
	})
	daily := anomaly.ScannerOptions{Detector: anomaly.NewCalibrated(), Clock: clock, Concurrency: 1} // default window
	b.Run("baseline-read-daily-windows", func(b *testing.B) {
		sc := anomaly.NewScanner(benchSeries, lister, memanomaly.NewStore(), nil, daily)
		read(b, func(t eusaas.TenantID) (time.Time, time.Time) { return sc.Window(t, benchNow) })
	})
	for _, det := range []anomaly.Detector{anomaly.NewZScore(), anomaly.NewSeasonal(), anomaly.NewCalibrated()} {
		b.Run("scan-"+det.Name(), func(b *testing.B) {
			scan(b, anomaly.ScannerOptions{Detector: det, HistoryDays: benchDays - 1, WindowAlign: 1, Clock: clock, Concurrency: 1}, nil)
		})
	}
	// The whole 90 days as history with the replay cache: yesterday's scan (not timed) read
	// the same series one day shorter from the same first day; today's pushes one day per
	// series and scores it.
	b.Run("scan-calibrated-replay-cache", func(b *testing.B) {
		o := anomaly.ScannerOptions{Detector: anomaly.NewCalibrated(), HistoryDays: benchDays - 1, WindowAlign: 1, Clock: clock, Concurrency: 1}
		y := o
		y.HistoryDays--
		scan(b, o, warm(b, y))
	})
	// The production daily scan: the default window (at least 56 days, aligned to the
	// tenant's 56-day grid) and the replay cache yesterday's scan left, so 1 tenant in 56
	// replays its series (its window moved today) and the others push one day. -concurrent:
	// with the default 4 workers.
	b.Run("scan-calibrated-daily", func(b *testing.B) { scan(b, daily, warm(b, daily)) })
	b.Run("scan-calibrated-daily-concurrent", func(b *testing.B) {
		o := daily
		o.Concurrency = 0
		scan(b, o, warm(b, o))
	})
}
