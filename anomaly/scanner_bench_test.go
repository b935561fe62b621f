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

var benchNow = time.Date(2026, 4, 1, 6, 0, 0, 0, time.UTC)

// benchSet is a benchmark's data: benchTenants tenants x benchResources resources x days.
type benchSet struct {
	series  *memanomaly.Series
	tenants []anomaly.TenantConfig
}

var (
	benchMu   sync.Mutex
	benchSets = map[int]*benchSet{}
)

// benchData: 10,000 tenants x 5 resources x days ending yesterday, weekday pattern and
// noise, a spike on the scored day for 1% of the series; seeded, tenant ids included (the
// tenants' window offsets derive from them). Amounts come from a pool of decimals so the
// fixture itself stays small (decimals are immutable, sharing is safe).
func benchData(days int) *benchSet {
	benchMu.Lock()
	defer benchMu.Unlock()
	if bs := benchSets[days]; bs != nil {
		return bs
	}
	rng := rand.New(rand.NewPCG(42, uint64(days)))
	pool := make([]decimal.Decimal, 20000)
	for i := range pool {
		pool[i] = decimal.New(int64(i+100), -2) // 1.00 .. 200.99 EUR
	}
	names := []string{"API_CALLS", "CPU", "MEMORY", "NETWORK", "STORAGE"}
	bs := &benchSet{series: memanomaly.NewSeries()}
	first := anomaly.DayOf(benchNow).AddDate(0, 0, -days)
	for range benchTenants {
		var id eusaas.TenantID
		for i := range id {
			id[i] = byte(rng.Uint32())
		}
		bs.tenants = append(bs.tenants, anomaly.TenantConfig{ID: id})
		rows := make([]anomaly.DailyCost, 0, benchResources*days)
		for r := range benchResources {
			base := 2000 + rng.IntN(6000)
			for d := range days {
				day := first.AddDate(0, 0, d)
				v := base
				if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
					v = v * 6 / 10
				}
				v += rng.IntN(base/10+1) - base/20
				if d == days-1 && rng.IntN(100) == 0 {
					v = min(len(pool)-1, v*3)
				}
				rows = append(rows, anomaly.DailyCost{Day: day, Resource: names[r], Amount: pool[v]})
			}
		}
		bs.series.Add(id, rows...)
	}
	benchSets[days] = bs
	return bs
}

// BenchmarkScan: one scan of 10,000 tenants x 5 resources x 90 days on the memory adapters
// (fresh store each iteration, one tenant at a time so the ratios compare like with like,
// except the -concurrent rows, which scan with the default 4 workers as production does).
// Baseline: reading the same series through the same port without scoring.
//
//	go test ./anomaly/ -run '^$' -bench Scan -benchtime=3x -count=1
//
// The default detector's production daily scan against the same run's baselines:
//
//	go test ./anomaly/ -run '^$' -bench 'Scan/(baseline|scan-calibrated-daily)' -benchtime=3x -count=1
//
// Rows: scan-zscore, scan-seasonal and scan-calibrated replay every series' 89 days (no
// cache). scan-calibrated-daily is the production daily scan (default window and options,
// the replay cache yesterday's scan left); these tenants are younger than the window, so
// each series pushes one day. The -200d rows are tenants with 200 days, older than the
// window (112 to 167 days, aligned to the tenant's 56-day grid): on a given day 1 tenant
// in 56 replays its series because its window moved, the others push one day; their
// baseline reads the same windows.
func BenchmarkScan(b *testing.B) {
	ctx := context.Background()
	clock := eusaas.NewFakeClock(benchNow)
	perTenant := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchTenants), "ns/tenant")
	}
	lister := func(bs *benchSet) anomaly.TenantLister {
		return anomaly.TenantListerFunc(func(context.Context) ([]anomaly.TenantConfig, error) { return bs.tenants, nil })
	}
	read := func(b *testing.B, bs *benchSet, window func(eusaas.TenantID) (time.Time, time.Time)) {
		b.ReportAllocs()
		rows := 0
		for b.Loop() {
			for _, t := range bs.tenants {
				from, to := window(t.ID)
				r, err := bs.series.DailyCosts(ctx, t.ID, from, to)
				if err != nil {
					b.Fatal(err)
				}
				rows += len(r)
			}
		}
		b.ReportMetric(float64(rows)/float64(b.N*benchTenants*benchResources), "days/series")
		perTenant(b)
	}
	// scan times one ScanAll per iteration with opts; with warm, each iteration starts
	// from a copy (made untimed) of the replay cache yesterday's scan left.
	scan := func(b *testing.B, bs *benchSet, opts anomaly.ScannerOptions, warm bool) {
		var cache *anomaly.ReplayCache
		if warm {
			y := opts
			y.Replay = anomaly.NewReplayCache()
			if _, err := anomaly.NewScanner(bs.series, lister(bs), memanomaly.NewStore(), nil, y).ScanAllAt(ctx, benchNow.AddDate(0, 0, -1)); err != nil {
				b.Fatal(err)
			}
			cache = y.Replay
		}
		b.ReportAllocs()
		b.ResetTimer()
		created := 0
		for b.Loop() {
			o := opts
			if cache != nil {
				b.StopTimer()
				o.Replay = cache.Clone()
				b.StartTimer()
			}
			rep, err := anomaly.NewScanner(bs.series, lister(bs), memanomaly.NewStore(), nil, o).ScanAll(ctx)
			if err != nil || len(rep.Failed) > 0 || rep.Tenants != benchTenants {
				b.Fatal(err, rep.Failed)
			}
			created = rep.Created
		}
		b.ReportMetric(float64(created), "anomalies")
		perTenant(b)
	}
	daily := anomaly.ScannerOptions{Detector: anomaly.NewCalibrated(), Clock: clock, Concurrency: 1} // default window
	concurrent := daily
	concurrent.Concurrency = 0 // the default

	b.Run("baseline-read-series", func(b *testing.B) {
		from := anomaly.DayOf(benchNow).AddDate(0, 0, -benchDays)
		to := anomaly.DayOf(benchNow).AddDate(0, 0, -1)
		read(b, benchData(benchDays), func(eusaas.TenantID) (time.Time, time.Time) { return from, to })
	})
	for _, det := range []anomaly.Detector{anomaly.NewZScore(), anomaly.NewSeasonal(), anomaly.NewCalibrated()} {
		b.Run("scan-"+det.Name(), func(b *testing.B) {
			scan(b, benchData(benchDays), anomaly.ScannerOptions{Detector: det, HistoryDays: benchDays - 1, WindowAlign: 1, Clock: clock, Concurrency: 1}, false)
		})
	}
	b.Run("scan-calibrated-daily", func(b *testing.B) { scan(b, benchData(benchDays), daily, true) })
	b.Run("scan-calibrated-daily-concurrent", func(b *testing.B) { scan(b, benchData(benchDays), concurrent, true) })

	b.Run("baseline-read-daily-windows-200d", func(b *testing.B) {
		sc := anomaly.NewScanner(benchData(200).series, lister(benchData(200)), memanomaly.NewStore(), nil, daily)
		read(b, benchData(200), func(t eusaas.TenantID) (time.Time, time.Time) { return sc.Window(t, benchNow) })
	})
	b.Run("scan-calibrated-daily-200d", func(b *testing.B) { scan(b, benchData(200), daily, true) })
	b.Run("scan-calibrated-daily-200d-concurrent", func(b *testing.B) { scan(b, benchData(200), concurrent, true) })
}
