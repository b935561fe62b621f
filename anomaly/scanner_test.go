package anomaly_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/anomaly/memanomaly"
)

func newTenant() eusaas.TenantID { return eusaas.NewTenantID() }

type recNotifier struct {
	mu  sync.Mutex
	got []anomaly.Anomaly
	err error
}

func (n *recNotifier) Notify(_ context.Context, a anomaly.Anomaly) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, a)
	return n.err
}

func (n *recNotifier) count() int { n.mu.Lock(); defer n.mu.Unlock(); return len(n.got) }

type fixture struct {
	series   *memanomaly.Series
	store    *memanomaly.Store
	notifier *recNotifier
	clock    *eusaas.FakeClock
	tenants  []anomaly.TenantConfig
}

// scanned is the day each fixture scans: the clock is the next day at 06:00.
var scanned = time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC) // a Monday

func newFixture() *fixture {
	return &fixture{
		series: memanomaly.NewSeries(), store: memanomaly.NewStore(), notifier: &recNotifier{},
		clock: eusaas.NewFakeClock(scanned.AddDate(0, 0, 1).Add(6 * time.Hour)),
	}
}

// put adds a resource's values for the days ending on last (values[len-1] is on last).
func (f *fixture) put(tn eusaas.TenantID, resource string, last time.Time, values ...string) {
	for i, v := range values {
		day := last.AddDate(0, 0, i-len(values)+1)
		f.series.Add(tn, anomaly.DailyCost{Day: day, Resource: resource, Amount: d(v)})
	}
}

func rep(v string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func (f *fixture) scanner(opts anomaly.ScannerOptions) *anomaly.Scanner {
	opts.Clock = f.clock
	return anomaly.NewScanner(f.series, anomaly.TenantListerFunc(func(context.Context) ([]anomaly.TenantConfig, error) {
		return f.tenants, nil
	}), f.store, f.notifier, opts)
}

func (f *fixture) all(t *testing.T, tn eusaas.TenantID) []anomaly.Anomaly {
	l, err := f.store.List(context.Background(), tn, anomaly.Filter{}, eusaas.Page{Page: 1, Size: 100})
	require.NoError(t, err)
	return l.Items
}

// The scanner hands the detector only the days before the scored day: with ZScore, CPU at
// 10,12,10,12,10,12,10 then 14 on the scored day is expected at 10.86 (the mean of the 7
// days before), not 11.43 (the mean including the day).
func TestScannerBaselineExcludesScoredDay(t *testing.T) {
	ctx := context.Background()
	f := newFixture()
	tn := newTenant()
	f.tenants = []anomaly.TenantConfig{{ID: tn, MinImpact: d("1")}}
	f.put(tn, "CPU", scanned, "10", "12", "10", "12", "10", "12", "10", "14")
	r, err := f.scanner(anomaly.ScannerOptions{Detector: anomaly.NewZScore()}).ScanAll(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, r.Created)
	as := f.all(t, tn)
	require.Len(t, as, 1)
	a := as[0]
	require.Equal(t, "CPU", a.Service)
	require.True(t, a.Day.Equal(scanned))
	requireDec(t, "10.86", a.Expected)
	requireDec(t, "14", a.Actual)
	requireDec(t, "3.14", a.Impact)
	require.InDelta(t, 3.17543, a.Score, 1e-5)
	require.NoError(t, a.Validate())
}

func TestScannerContributionsIdempotenceAndNotify(t *testing.T) {
	ctx := context.Background()
	f := newFixture()
	tn := newTenant()
	f.tenants = []anomaly.TenantConfig{{ID: tn}} // default minimum impact 5 EUR
	// Five weeks of history: past the cold start's conservative tails (MinN z's).
	f.put(tn, "CPU", scanned, append(rep("40", 35), "140")...)
	f.put(tn, "MEMORY", scanned, append(rep("10", 35), "12")...)
	s := f.scanner(anomaly.ScannerOptions{})
	r, err := s.ScanAll(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, r.Tenants)
	require.Equal(t, 2, r.Created, "every finding is stored: CPU and MEMORY's +2; the total is explained by CPU")
	require.Equal(t, 1, r.Notified, "only CPU reaches the 5 EUR minimum impact")
	require.Equal(t, 1, f.notifier.count())

	stored := f.all(t, tn)
	require.Len(t, stored, 2)
	require.Equal(t, "MEMORY", stored[1].Service)
	require.False(t, stored[1].Alerted, "under the minimum impact: stored, not alerted")
	requireDec(t, "2", stored[1].Impact)
	require.Equal(t, anomaly.SeverityLow, stored[1].Severity)
	a := stored[0]
	require.True(t, a.Alerted)
	require.Empty(t, a.AlertedSubscriptions, "the platform's notifier is no subscription")
	require.Equal(t, "CPU", a.Service)
	require.Equal(t, "calibrated", a.Rule, "the default detector")
	requireDec(t, "40", a.Expected)
	requireDec(t, "100", a.Impact)
	requireDec(t, "250", *a.DeviationPct)
	require.Equal(t, anomaly.SeverityHigh, a.Severity) // 100 EUR = 20x the minimum
	require.Len(t, a.Contributions, 2)
	// Deltas +100 and +2 of a total +102: shares 98.04% and 1.96%.
	requireDec(t, "100", a.Contributions[0].Delta)
	requireDec(t, "98.04", *a.Contributions[0].SharePct)
	require.Equal(t, "MEMORY", a.Contributions[1].Resource)
	requireDec(t, "1.96", *a.Contributions[1].SharePct)
	require.Contains(t, a.Description, "CPU cost 140.00 EUR on 2026-03-30")

	// A second scan of the same day stores and notifies nothing new.
	r, err = s.ScanAll(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, r.Found)
	require.Zero(t, r.Created)
	require.Zero(t, r.Notified)
	require.Equal(t, 1, f.notifier.count())
	require.Len(t, f.all(t, tn), 2)
}

// Five resources each up 4 EUR (under the 5 EUR minimum impact each): stored, not alerted,
// and none explains the day; the total is up 20 EUR against a flat 50 (sigma floor 1): z = 20, a TOTAL anomaly. With 7
// earlier z's the point tail is still the cold-start Student t4 (two-sided tail
// 1 - (3/4) w (1 - z^2 / (12 q)), q = 1 + z^2/4, w = z / sqrt q) and the drift view (needs
// 35 days) is not ready: score -log10(2 p).
func TestScannerDiffuseChangeOnTotal(t *testing.T) {
	f := newFixture()
	tn := newTenant()
	f.tenants = []anomaly.TenantConfig{{ID: tn}}
	for _, r := range []string{"API_CALLS", "CPU", "MEMORY", "NETWORK", "STORAGE"} {
		f.put(tn, r, scanned, append(rep("10", 28), "14")...)
	}
	_, err := f.scanner(anomaly.ScannerOptions{}).ScanAll(context.Background())
	require.NoError(t, err)
	require.Len(t, f.all(t, tn), 6, "five resources and the total")
	as := alertedOnly(f.all(t, tn))
	require.Len(t, as, 1)
	require.Equal(t, anomaly.ServiceTotal, as[0].Service)
	requireDec(t, "50", as[0].Expected)
	requireDec(t, "70", as[0].Actual)
	q := 1 + 20.0*20/4
	p := 1 - 0.75*20/math.Sqrt(q)*(1-400/(12*q))
	require.InDelta(t, -math.Log10(2*p), as[0].Score, 1e-9)
	require.InDelta(t, 4.132, as[0].Score, 1e-3)
	require.Len(t, as[0].Contributions, 5)
	for _, c := range as[0].Contributions {
		requireDec(t, "20", *c.SharePct)
	}
}

func TestScannerNewResourceAndColdStart(t *testing.T) {
	f := newFixture()
	tn := newTenant()
	f.tenants = []anomaly.TenantConfig{{ID: tn}}
	f.put(tn, "CPU", scanned, append(rep("40", 28), "40")...)
	f.put(tn, "NETWORK", scanned, "25") // first day ever
	f.put(tn, "STORAGE", scanned, "3", "3", "9")
	_, err := f.scanner(anomaly.ScannerOptions{}).ScanAll(context.Background())
	require.NoError(t, err)
	as := f.all(t, tn)
	require.Len(t, as, 1, "STORAGE tripled during cold start but that is no rule")
	require.Equal(t, "NETWORK", as[0].Service)
	require.Equal(t, anomaly.KindNewSpend, as[0].Kind)
	require.Nil(t, as[0].DeviationPct)
	require.Contains(t, as[0].Description, "New spend on NETWORK")
}

// Suppression: "same pattern" = same service, same direction, 1..N days after the
// acknowledged anomaly, impact <= the acknowledged impact.
func TestSuppressorDefinition(t *testing.T) {
	tn := newTenant()
	ack := anomaly.Anomaly{ID: uuid.New(), TenantID: tn, Service: "CPU", Kind: anomaly.KindSpike, Day: scanned, Impact: d("100"), Acknowledged: true, AcknowledgedBy: "alice"}
	mk := func(service string, kind anomaly.Kind, days int, impact string) anomaly.Anomaly {
		return anomaly.Anomaly{TenantID: tn, Service: service, Kind: kind, Day: scanned.AddDate(0, 0, days), Impact: d(impact)}
	}
	cases := []struct {
		name string
		a    anomaly.Anomaly
		want bool
	}{
		{"next day, smaller", mk("CPU", anomaly.KindSpike, 1, "80"), true},
		{"N days later, equal", mk("CPU", anomaly.KindSpike, 7, "100"), true},
		{"new spend is up too", mk("CPU", anomaly.KindNewSpend, 2, "10"), true},
		{"N+1 days later", mk("CPU", anomaly.KindSpike, 8, "10"), false},
		{"same day", mk("CPU", anomaly.KindSpike, 0, "10"), false},
		{"larger", mk("CPU", anomaly.KindSpike, 1, "100.01"), false},
		{"other direction", mk("CPU", anomaly.KindDrop, 1, "10"), false},
		{"other service", mk("MEMORY", anomaly.KindSpike, 1, "10"), false},
	}
	for _, c := range cases {
		by, ok := anomaly.Suppressor(c.a, []anomaly.Anomaly{ack}, 7)
		require.Equal(t, c.want, ok, c.name)
		if ok {
			require.Equal(t, ack.ID, by.ID)
		}
	}
	unacked := ack
	unacked.Acknowledged = false
	_, ok := anomaly.Suppressor(mk("CPU", anomaly.KindSpike, 1, "1"), []anomaly.Anomaly{unacked}, 7)
	require.False(t, ok, "only acknowledged anomalies suppress")
}

// Episodes: a level shift (100, 90, 90, 300 against 40) is ONE anomaly that grows every
// day (total impact 60+50+50+260, severity follows it, notified once, re-scans change
// nothing), closes after three normal days, and a later spike in the same direction within
// SuppressDays of the acknowledged episode's start is a new episode, suppressed when no
// bigger than it.
func TestScannerEpisodes(t *testing.T) {
	ctx := context.Background()
	f := newFixture()
	tn := newTenant()
	f.tenants = []anomaly.TenantConfig{{ID: tn}}
	start := scanned.AddDate(0, 0, -2)
	f.put(tn, "CPU", start, append(rep("40", 28), "100")...)
	f.put(tn, "CPU", scanned, "90", "90")
	f.put(tn, "CPU", scanned.AddDate(0, 0, 1), "300")

	f.clock.Set(start.AddDate(0, 0, 1).Add(time.Hour))
	s := f.scanner(anomaly.ScannerOptions{})
	r, err := s.ScanAll(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, r.Created)
	require.Equal(t, 1, r.Notified)
	first := f.all(t, tn)[0]
	require.Equal(t, anomaly.StatusOpen, first.Status)
	require.Nil(t, first.EndDate)
	requireDec(t, "60", first.TotalImpact)
	svc, err := anomaly.NewService(anomaly.Deps{Store: f.store}, anomaly.Options{Clock: f.clock})
	require.NoError(t, err)
	_, err = svc.Acknowledge(ctx, tn, first.ID, "alice")
	require.NoError(t, err)

	for range 3 {
		f.clock.Advance(24 * time.Hour)
		r, err = s.ScanAll(ctx)
		require.NoError(t, err)
		require.Zero(t, r.Created, "the open episode grows")
		require.Zero(t, r.Notified, "an episode is notified once")
	}
	r, err = s.ScanAll(ctx) // a re-scan of the same day
	require.NoError(t, err)
	require.Zero(t, r.Created)
	as := f.all(t, tn)
	require.Len(t, as, 1)
	ep := as[0]
	require.Equal(t, first.ID, ep.ID)
	require.True(t, ep.Day.Equal(start))
	require.True(t, ep.LastDay.Equal(scanned.AddDate(0, 0, 1)))
	requireDec(t, "420", ep.TotalImpact)      // 60 + 50 + 50 + 260, counted once despite the re-scan
	requireDec(t, "650", *ep.MaxDeviationPct) // 300 vs 40
	require.Equal(t, anomaly.SeverityCritical, ep.Severity, "420 EUR = 84x the 5 EUR minimum")
	require.Equal(t, anomaly.StatusOpen, ep.Status)
	require.Contains(t, ep.Description, "4 days")

	// Back to 40 for three days: closed, end_date = the last anomalous day.
	last := scanned.AddDate(0, 0, 1)
	for i := 1; i <= 3; i++ {
		f.series.Add(tn, anomaly.DailyCost{Day: last.AddDate(0, 0, i), Resource: "CPU", Amount: d("40")})
		f.clock.Advance(24 * time.Hour)
		_, err = s.ScanAll(ctx)
		require.NoError(t, err)
		got, err := f.store.Get(ctx, tn, first.ID)
		require.NoError(t, err)
		if i < 3 {
			require.Equal(t, anomaly.StatusOpen, got.Status, "day %d", i)
			continue
		}
		require.Equal(t, anomaly.StatusClosed, got.Status)
		require.True(t, got.EndDate.Equal(last))
	}
	closed := anomaly.StatusClosed
	l, err := f.store.List(ctx, tn, anomaly.Filter{Status: &closed}, eusaas.Page{})
	require.NoError(t, err)
	require.Equal(t, 1, l.Total)
}

func TestScannerBudgetOncePerMonth(t *testing.T) {
	ctx := context.Background()
	f := newFixture()
	tn, quiet := newTenant(), newTenant()
	f.tenants = []anomaly.TenantConfig{{ID: tn, CostAlertThreshold: d("1000")}, {ID: quiet}}
	var calls []eusaas.TenantID
	var mu sync.Mutex
	proj := anomaly.ProjectorFunc(func(_ context.Context, id eusaas.TenantID, _ time.Time) (decimal.Decimal, error) {
		mu.Lock()
		calls = append(calls, id)
		mu.Unlock()
		return d("1300"), nil
	})
	f.clock.Set(time.Date(2026, 3, 15, 6, 0, 0, 0, time.UTC))
	s := f.scanner(anomaly.ScannerOptions{Projector: proj})
	r, err := s.ScanAll(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, r.BudgetAlerts)
	require.Equal(t, []eusaas.TenantID{tn}, calls, "no threshold, no projection call")
	as := f.all(t, tn)
	require.Len(t, as, 1)
	require.Equal(t, anomaly.KindBudget, as[0].Kind)
	require.Equal(t, anomaly.SeverityHigh, as[0].Severity) // 30% over
	require.Contains(t, as[0].Description, "exceeds the alert threshold 1000.00 EUR by 300.00 EUR")
	f.clock.Advance(24 * time.Hour)
	r, err = s.ScanAll(ctx)
	require.NoError(t, err)
	require.Zero(t, r.BudgetAlerts, "once per tenant and month")
	require.Equal(t, 1, f.notifier.count())
	f.clock.Set(time.Date(2026, 4, 1, 6, 0, 0, 0, time.UTC))
	r, err = s.ScanAll(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, r.BudgetAlerts, "a new month gets its own alert")
}

func TestScannerIsolatesTenantFailures(t *testing.T) {
	ctx := context.Background()
	f := newFixture()
	good, bad := newTenant(), newTenant()
	f.tenants = []anomaly.TenantConfig{{ID: bad}, {ID: good}}
	f.put(good, "CPU", scanned, "30")
	boom := errors.New("boom")
	series := anomaly.SeriesSourceFunc(func(ctx context.Context, tn eusaas.TenantID, from, to time.Time) ([]anomaly.DailyCost, error) {
		if tn == bad {
			return nil, boom
		}
		return f.series.DailyCosts(ctx, tn, from, to)
	})
	s := anomaly.NewScanner(series, anomaly.TenantListerFunc(func(context.Context) ([]anomaly.TenantConfig, error) { return f.tenants, nil }),
		f.store, f.notifier, anomaly.ScannerOptions{Clock: f.clock, Concurrency: 1})
	r, err := s.ScanAll(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, r.Tenants)
	require.ErrorIs(t, r.Failed[bad], boom)
	require.Len(t, r.Failed, 1)
	require.Equal(t, 1, r.Created, "the good tenant's new spend")

	// A failing notifier is counted; the anomaly stays stored.
	f2 := newFixture()
	f2.notifier.err = errors.New("down")
	f2.tenants = []anomaly.TenantConfig{{ID: good}}
	f2.put(good, "CPU", scanned, "30")
	r, err = f2.scanner(anomaly.ScannerOptions{}).ScanAll(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, r.NotifyErrors)
	require.Len(t, f2.all(t, good), 1)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = f.scanner(anomaly.ScannerOptions{}).ScanAll(cctx)
	require.Error(t, err)
}

func TestServiceAcknowledgeAudits(t *testing.T) {
	ctx := context.Background()
	store := memanomaly.NewStore()
	tn := newTenant()
	a, _ := anomaly.BudgetAlert(tn, scanned, d("2000"), d("1000"))
	_, _, err := store.Insert(ctx, a)
	require.NoError(t, err)
	var events []eusaas.AuditEvent
	svc, err := anomaly.NewService(anomaly.Deps{Store: store, Recorder: eusaas.RecorderFunc(func(_ context.Context, ev eusaas.AuditEvent) error {
		events = append(events, ev)
		return nil
	})}, anomaly.Options{Clock: eusaas.NewFakeClock(scanned)})
	require.NoError(t, err)
	got, err := svc.Acknowledge(ctx, tn, a.ID, "alice")
	require.NoError(t, err)
	require.Equal(t, "alice", got.AcknowledgedBy)
	_, err = svc.Acknowledge(ctx, tn, a.ID, "bob")
	require.NoError(t, err)
	require.Len(t, events, 1, "only the first acknowledgement is an event")
	require.Equal(t, "ANOMALY_ACKNOWLEDGED", events[0].Action)
	_, err = svc.Acknowledge(ctx, newTenant(), a.ID, "eve")
	require.Equal(t, eusaas.NotFound, eusaas.KindOf(err))
	bad := anomaly.Severity("BAD")
	_, err = svc.List(ctx, tn, anomaly.Filter{Severity: &bad}, eusaas.Page{})
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
}

// The tenant total is exact whichever way it is summed: micro-EUR integers for ordinary
// amounts, decimals for amounts with more than 6 decimals.
func TestScannerTotalIsExact(t *testing.T) {
	for _, tail := range []string{"0.000001", "0.0000001"} {
		f := newFixture()
		tn := newTenant()
		f.tenants = []anomaly.TenantConfig{{ID: tn}}
		for _, r := range []string{"A", "B", "C"} {
			f.put(tn, r, scanned, append(rep("10", 35), "12")...) // +2 each: under the gate
		}
		f.put(tn, "D", scanned, append(rep("1", 35), "1"+tail[1:])...)
		_, err := f.scanner(anomaly.ScannerOptions{}).ScanAll(context.Background())
		require.NoError(t, err)
		as := alertedOnly(f.all(t, tn))
		require.Len(t, as, 1, tail)
		require.Equal(t, anomaly.ServiceTotal, as[0].Service)
		requireDec(t, "31", as[0].Expected)
		requireDec(t, "37"+tail[1:], as[0].Actual)
	}
}

// alertedOnly keeps the anomalies someone was told about.
func alertedOnly(as []anomaly.Anomaly) []anomaly.Anomaly {
	var out []anomaly.Anomaly
	for _, a := range as {
		if a.Alerted {
			out = append(out, a)
		}
	}
	return out
}

// The read window starts on the tenant's grid of WindowAlign days: at least HistoryDays of
// history, less than HistoryDays+WindowAlign, the same first day on consecutive days until
// it moves by a whole step, and tenants staggered over the grid.
func TestScannerWindowAligned(t *testing.T) {
	f := newFixture()
	sc := f.scanner(anomaly.ScannerOptions{})
	offsets := map[int]bool{}
	for range 40 {
		tn := newTenant()
		prev := time.Time{}
		moves := 0
		for d := range 120 {
			now := scanned.AddDate(0, 0, d).Add(6 * time.Hour)
			from, last := sc.Window(tn, now)
			require.Equal(t, anomaly.DayOf(now).AddDate(0, 0, -1), last)
			hist := int(last.Sub(from).Hours() / 24) // days before the scored one
			require.GreaterOrEqual(t, hist, 112)
			require.Less(t, hist, 112+56)
			if !prev.IsZero() && !from.Equal(prev) {
				require.Equal(t, 56, int(from.Sub(prev).Hours()/24), "the window moves by a whole step")
				moves++
			}
			prev = from
		}
		require.LessOrEqual(t, moves, 3)
		require.GreaterOrEqual(t, moves, 2)
		offsets[int(prev.Unix()/86400)%56] = true
	}
	require.Greater(t, len(offsets), 20, "40 tenants spread over the 56 offsets")
	from, last := f.scanner(anomaly.ScannerOptions{WindowAlign: 1}).Window(newTenant(), scanned.AddDate(0, 0, 1))
	require.Equal(t, 112, int(last.Sub(from).Hours()/24), "WindowAlign 1: exactly HistoryDays")
}

// The replay cache changes the cost of a daily scan, never its result: 25 tenants scanned
// day by day for 100 days (spikes, a surge, a drop, a late event rewriting a past day, a
// tenant that leaves) give the same anomalies with the cache as without, and after the
// first scan nearly every evaluation resumes a kept state. States of the tenant no longer
// scanned are pruned.
func TestScannerReplayCacheSameResults(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 6))
	series := memanomaly.NewSeries()
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const days = 170
	var tenants []anomaly.TenantConfig
	for range 25 {
		tn := newTenant()
		tenants = append(tenants, anomaly.TenantConfig{ID: tn})
		for _, res := range []string{"CPU", "STORAGE", "NETWORK"} {
			base := 20 + rng.Float64()*80
			for d := range days {
				v := base * (1 + 0.1*rng.NormFloat64())
				if first.AddDate(0, 0, d).Weekday() == time.Sunday {
					v *= 0.6
				}
				switch r := rng.IntN(200); {
				case r == 0:
					v *= 4
				case r == 1:
					v *= 0.2
				}
				if res == "CPU" && d >= 120 && d < 123 {
					v *= 3
				}
				series.Add(tn, anomaly.DailyCost{Day: first.AddDate(0, 0, d), Resource: res, Amount: decimal.NewFromFloat(max(0, v)).Round(2)})
			}
		}
	}
	active := tenants
	lister := anomaly.TenantListerFunc(func(context.Context) ([]anomaly.TenantConfig, error) { return active, nil })
	cache := anomaly.NewReplayCache()
	withStore, withoutStore := memanomaly.NewStore(), memanomaly.NewStore()
	with := anomaly.NewScanner(series, lister, withStore, nil, anomaly.ScannerOptions{Replay: cache})
	without := anomaly.NewScanner(series, lister, withoutStore, nil, anomaly.ScannerOptions{})
	for d := 70; d < days; d++ {
		now := first.AddDate(0, 0, d+1).Add(time.Hour)
		if d == 140 {
			// A late usage event for a day both scanners have already read.
			series.Add(tenants[3].ID, anomaly.DailyCost{Day: first.AddDate(0, 0, 130), Resource: "CPU", Amount: decimal.NewFromInt(500)})
		}
		if d == 150 {
			active = tenants[1:]
		}
		r1, err := with.ScanAllAt(ctx, now)
		require.NoError(t, err)
		r2, err := without.ScanAllAt(ctx, now)
		require.NoError(t, err)
		require.Equal(t, r2, r1, "day %d", d)
	}
	found := 0
	for _, tc := range tenants {
		a := listAll(t, withStore, tc.ID)
		b := listAll(t, withoutStore, tc.ID)
		require.Equal(t, len(b), len(a))
		for i := range a {
			a[i].ID, b[i].ID = uuid.Nil, uuid.Nil
			a[i].DetectedAt, b[i].DetectedAt = time.Time{}, time.Time{}
		}
		require.Equal(t, b, a)
		found += len(a)
	}
	require.Greater(t, found, 25, "the data has anomalies to compare")
	resumed, replayed := cache.Stats()
	t.Logf("%d anomalies; %d evaluations resumed, %d replayed", found, resumed, replayed)
	require.Greater(t, resumed, 10*replayed, "resumed %d, replayed %d", resumed, replayed)
	// Tenant 0 left on day 150: a week later its states were pruned.
	require.Equal(t, 24*4, cache.Len(), "three resources and the total of each scanned tenant")
}

func listAll(t *testing.T, s *memanomaly.Store, tn eusaas.TenantID) []anomaly.Anomaly {
	var out []anomaly.Anomaly
	for p := 1; ; p++ {
		l, err := s.List(context.Background(), tn, anomaly.Filter{}, eusaas.Page{Page: p, Size: eusaas.MaxPageSize})
		require.NoError(t, err)
		out = append(out, l.Items...)
		if len(l.Items) < eusaas.MaxPageSize {
			return out
		}
	}
}
