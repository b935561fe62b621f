package anomaly

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
)

// ScannerOptions configures a Scanner. Zero values take the defaults.
type ScannerOptions struct {
	Detector Detector // DefaultDetector()
	// HistoryDays is how many days before the scored day are read as history at least (112:
	// sixteen weeks; chosen on the development synthetic set, seed 99, where 56 / 84 / 112
	// days gave F1 0.772 / 0.780 / 0.789 and found 95 / 100 / 103 of 143 slow drifts: the
	// drift view and the tails need weeks of history). Four weekday references and the
	// previous month's first day need eight weeks.
	HistoryDays int
	// WindowAlign makes the read window start on a fixed grid of WindowAlign days (56; 1:
	// every scan reads exactly HistoryDays), staggered per tenant, so the history is
	// HistoryDays to HistoryDays+WindowAlign-1 days long. Consecutive daily scans then read
	// histories that start on the same day for WindowAlign-1 days out of WindowAlign, which
	// is what lets the Replay cache resume a series' state instead of replaying it, and the
	// stagger spreads the days on which the window moves (and every series of the tenant is
	// replayed) evenly over the tenants. A daily scan's detector work for a series older
	// than the window is then about 1 + HistoryDays/WindowAlign days (3 with the defaults;
	// a series younger than the window, whose history starts on its first day, 1). Results
	// do not depend on whether a cache is used.
	WindowAlign int
	// ScoreDays is how many of the most recent complete days each scan scores (1: yesterday).
	// Scores are idempotent, so a larger value catches up after missed scans.
	ScoreDays int
	// MinImpact is the default minimum impact (DefaultMinImpact) for tenants that set none:
	// the impact from which the platform's notifier is told, and the severity unit.
	MinImpact decimal.Decimal
	// DetectFloor is the smallest impact stored (DefaultDetectFloor, one cent): below it a
	// "deviation" is rounding, not spend anyone could act on.
	DetectFloor decimal.Decimal
	// HTTPClient posts subscriptions' webhooks (nil: a client with a 10 s timeout).
	HTTPClient      *http.Client
	ColdStartFactor decimal.Decimal
	// SuppressDays is N in the suppression rule (7).
	SuppressDays int
	// CloseAfterDays is N: an episode is CLOSED after N normal days (3).
	CloseAfterDays int
	// FeedbackMuteDays is how long an EXPECTED or FALSE_POSITIVE verdict mutes alerts of the
	// same series (DefaultFeedbackMuteDays).
	FeedbackMuteDays int
	// Concurrency is the number of tenants scanned at once (4).
	Concurrency int
	// Projector enables budget alerts; nil disables them.
	Projector Projector
	// Attributes gives the per-attribute costs anomalies' root causes are ranked from
	// (read once per tenant scan, and only when the tenant has an anomaly); nil: no root
	// causes.
	Attributes AttributeSource
	// Replay keeps the detector's streaming states between scans (ReplayCache); nil: every
	// scan replays each series' history. It pays off when consecutive scans read histories
	// that start on the same day: the aligned window (WindowAlign) on 55 days of 56, a
	// series younger than the window, a backfill in day order. Results are the same either
	// way. The platform wires one per process.
	Replay *ReplayCache
	Clock  eusaas.Clock
	Logger *slog.Logger
}

// Scanner scans every ACTIVE tenant's cost series, stores anomalies once per
// tenant/service/day and notifies new ones.
//
// Feedback. An acknowledged anomaly A suppresses a later finding F of the SAME PATTERN,
// defined as: same tenant, same service, same direction (SPIKE and NEW_SPEND are up, DROP is
// down), F's day within SuppressDays days after A's day (1 <= F.day - A.day <= N), and F's
// impact <= A's impact. F is then stored acknowledged (acknowledged_by copied from A,
// suppressed_by = A) and not notified. Because suppressed anomalies are themselves
// acknowledged, a pattern that persists at or below the acknowledged magnitude stays quiet;
// anything larger, in the other direction, on another service or after a quiet gap of more
// than N days is reported again.
type Scanner struct {
	series   SeriesSource
	tenants  TenantLister
	store    Store
	notifier Notifier
	opts     ScannerOptions
}

// NewScanner returns a Scanner. notifier may be nil (no notifications).
func NewScanner(series SeriesSource, tenants TenantLister, store Store, notifier Notifier, opts ScannerOptions) *Scanner {
	if opts.Detector == nil {
		opts.Detector = DefaultDetector()
	}
	if opts.HistoryDays <= 0 {
		opts.HistoryDays = 112
	}
	if opts.WindowAlign <= 0 {
		opts.WindowAlign = 56
	}
	if opts.ScoreDays <= 0 {
		opts.ScoreDays = 1
	}
	if opts.MinImpact.IsZero() {
		opts.MinImpact = DefaultMinImpact
	}
	if opts.DetectFloor.IsZero() {
		opts.DetectFloor = DefaultDetectFloor
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.ColdStartFactor.IsZero() {
		opts.ColdStartFactor = DefaultColdStartFactor
	}
	if opts.SuppressDays <= 0 {
		opts.SuppressDays = 7
	}
	if opts.CloseAfterDays <= 0 {
		opts.CloseAfterDays = 3
	}
	if opts.FeedbackMuteDays <= 0 {
		opts.FeedbackMuteDays = DefaultFeedbackMuteDays
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.Clock == nil {
		opts.Clock = eusaas.SystemClock
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if notifier == nil {
		notifier = NotifierFunc(func(context.Context, Anomaly) error { return nil })
	}
	return &Scanner{series: series, tenants: tenants, store: store, notifier: notifier, opts: opts}
}

// TenantReport is what one tenant's scan did.
type TenantReport struct {
	Tenant       eusaas.TenantID
	Found        int // findings that passed the gate (stored now or before)
	Created      int // anomalies stored by this scan
	Suppressed   int // created but suppressed by an acknowledged pattern
	Muted        int // created but not alerted: the series was judged EXPECTED or FALSE_POSITIVE
	Notified     int
	NotifyErrors int
	BudgetAlert  bool // a budget alert was created by this scan
}

// ScanReport sums a scan over all tenants. Failed lists tenants whose scan failed; the
// others were scanned.
type ScanReport struct {
	Tenants      int
	Found        int
	Created      int
	Suppressed   int
	Muted        int
	Notified     int
	NotifyErrors int
	BudgetAlerts int
	Failed       map[eusaas.TenantID]error
}

// ScanAll scans every ACTIVE tenant. It returns an error only when the tenants cannot be
// listed or ctx ends; a tenant whose scan fails is logged and listed in Failed.
func (s *Scanner) ScanAll(ctx context.Context) (ScanReport, error) {
	return s.ScanAllAt(ctx, s.opts.Clock.Now())
}

// ScanAllAt is ScanAll as the scan running at now would do it: the days scored are the
// ScoreDays complete (UTC) days before now. A backfill calls it with 00:00 UTC of each day
// after the scored one, in order, as the daily job would have run.
func (s *Scanner) ScanAllAt(ctx context.Context, now time.Time) (ScanReport, error) {
	tenants, err := s.tenants.ActiveTenants(ctx)
	if err != nil {
		return ScanReport{}, err
	}
	rep := ScanReport{Failed: map[eusaas.TenantID]error{}}
	var mu sync.Mutex
	// Buffered: with an unbuffered hand-over every tenant waits for a worker to wake (the
	// single-worker daily scan benchmark: 1.03-1.08 s buffered, 1.18 s unbuffered).
	work := make(chan TenantConfig, 64)
	var wg sync.WaitGroup
	for range min(s.opts.Concurrency, max(1, len(tenants))) {
		wg.Go(func() {
			for t := range work {
				tr, err := s.ScanTenantAt(ctx, t, now)
				mu.Lock()
				rep.Tenants++
				if err != nil {
					rep.Failed[t.ID] = err
					s.opts.Logger.ErrorContext(ctx, "anomaly scan failed", "tenant_id", t.ID.String(), "error", err)
				}
				rep.Found += tr.Found
				rep.Created += tr.Created
				rep.Suppressed += tr.Suppressed
				rep.Muted += tr.Muted
				rep.Notified += tr.Notified
				rep.NotifyErrors += tr.NotifyErrors
				if tr.BudgetAlert {
					rep.BudgetAlerts++
				}
				mu.Unlock()
			}
		})
	}
	for _, t := range tenants {
		select {
		case work <- t:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	wg.Wait()
	// States a week of scans has not used belong to tenants or series no longer scanned.
	s.opts.Replay.Prune(DayOf(now).AddDate(0, 0, -s.opts.ScoreDays-7))
	return rep, ctx.Err()
}

// scanSeries is one resource's (or the total's) dense daily series over the read range.
type scanSeries struct {
	name   string
	first  int // index of the first observed day; len(values) when never observed
	values []decimal.Decimal
	// micros are the values in exact micro-EUR when microsOK (every amount allowed it): the
	// replay cache fingerprints them instead of touching every decimal again.
	micros   []int64
	microsOK bool
	// lazy: values are not made yet, micros hold the amounts (the exactly summed total).
	lazy bool
}

// value is day i's amount.
func (s *scanSeries) value(i int) decimal.Decimal {
	if s.lazy {
		return decimal.New(s.micros[i], -6)
	}
	return s.values[i]
}

// history is the series' days before day di.
func (s *scanSeries) history(di int) amounts {
	return amounts{n: di - s.first, micros: s.microsOf(s.first, di), dec: func() []decimal.Decimal {
		if s.lazy {
			for i := s.first; i < len(s.values); i++ {
				s.values[i] = decimal.New(s.micros[i], -6)
			}
			s.lazy = false
		}
		return s.values[s.first:di]
	}}
}

// microsOf is the series' exact micro-units over [from, to), nil when they are not exact.
func (s *scanSeries) microsOf(from, to int) []int64 {
	if !s.microsOK {
		return nil
	}
	return s.micros[from:to]
}

// ScanTenant scans one tenant: the last ScoreDays complete days (UTC) of every resource,
// the total when no single resource explains the day, and the budget.
func (s *Scanner) ScanTenant(ctx context.Context, t TenantConfig) (TenantReport, error) {
	return s.ScanTenantAt(ctx, t, s.opts.Clock.Now())
}

// ScanTenantAt is ScanTenant as the scan running at now would do it.
func (s *Scanner) ScanTenantAt(ctx context.Context, t TenantConfig, now time.Time) (TenantReport, error) {
	rep := TenantReport{Tenant: t.ID}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	now = now.UTC()
	from, last := s.Window(t.ID, now)
	firstScored := last.AddDate(0, 0, -(s.opts.ScoreDays - 1))
	days := int(last.Sub(from).Hours()/24+0.5) + 1
	scoreFrom := days - s.opts.ScoreDays

	rows, err := s.series.DailyCosts(ctx, t.ID, from, last)
	if err != nil {
		return rep, err
	}
	buf := scanBufs.Get().(*scanBuffer)
	defer buf.release()
	byName := map[string]*scanSeries{}
	total := &scanSeries{name: ServiceTotal, first: days, values: buf.decimals(days)}
	// The total is summed exactly in int64 micro-EUR when every amount allows it (decimal
	// additions allocate, and this is the scan's hottest loop); otherwise with decimals.
	micros := buf.int64s(days)
	microsOK := true
	fromUnix := from.Unix()
	for _, r := range rows {
		// The day's index: whole UTC days since from (what DayOf(r.Day).Sub(from) gives,
		// without building a time.Time per row).
		d := r.Day.Unix() - fromUnix
		i := int(d / 86400)
		if d < 0 || i >= days {
			continue
		}
		ser := byName[r.Resource]
		if ser == nil {
			ser = &scanSeries{name: r.Resource, first: days, values: buf.decimals(days), micros: buf.int64s(days), microsOK: true}
			byName[r.Resource] = ser
		}
		// Plain assignment for the usual single row per day and resource (decimal
		// additions allocate); duplicates are summed.
		if ser.values[i].IsZero() {
			ser.values[i] = r.Amount
		} else {
			ser.values[i] = ser.values[i].Add(r.Amount)
		}
		ser.first = min(ser.first, i)
		total.first = min(total.first, i)
		if ser.microsOK {
			m, ok := scanMicros(r.Amount)
			ser.microsOK = ok
			ser.micros[i] += m
			micros[i] += m
		}
		microsOK = microsOK && ser.microsOK
	}
	if microsOK {
		total.micros, total.microsOK = micros, true
	}
	// An exact total's decimals are made when something asks for them (value, history's
	// dec): a daily scan that resumes the total's detector state needs only the scored day.
	total.lazy = microsOK
	for i := total.first; i < days && !microsOK; i++ {
		for _, ser := range byName {
			total.values[i] = total.values[i].Add(ser.values[i])
		}
	}
	resources := make([]*scanSeries, 0, len(byName))
	for _, ser := range byName {
		resources = append(resources, ser)
	}
	sort.Slice(resources, func(i, j int) bool { return resources[i].name < resources[j].name })

	// Detection stores everything above the floor; the tenant's minimum impact is an
	// alerting choice (and the severity unit), applied in alert.
	if t.MinImpact.IsZero() {
		t.MinImpact = s.opts.MinImpact
	}
	gate := Gate{MinImpact: s.opts.DetectFloor, SeverityUnit: t.MinImpact, ColdStartFactor: s.opts.ColdStartFactor}
	tc := &tenantScan{cfg: t, episodes: map[string][]Anomaly{}, from: from, days: days}
	eps, err := s.store.Episodes(ctx, t.ID, firstScored.AddDate(0, 0, -s.opts.CloseAfterDays-1))
	if err != nil {
		return rep, err
	}
	for _, ep := range eps {
		if ep.Kind != KindBudget {
			tc.episodes[ep.Service] = append(tc.episodes[ep.Service], ep)
		}
	}
	det := s.opts.Detector
	var contribs []Contribution
	type hit struct {
		service string
		f       Finding
	}
	for di := scoreFrom; di < days; di++ {
		day := from.AddDate(0, 0, di)
		var hits []hit
		contribs = contribs[:0]
		for _, ser := range resources {
			if ser.first > di {
				continue
			}
			hist := ser.history(di)
			f, ev, ok := gate.judge(det, s.opts.Replay.evaluate(det, t.ID, ser.name, hist, day, ser.values[di]), hist, ser.values[di])
			// Deltas and shares are decimal arithmetic (allocations), needed only by the
			// anomalies of the day: computed below when there is one.
			contribs = append(contribs, Contribution{Resource: ser.name, Expected: ev.Expected, Actual: ser.values[di]})
			if ok {
				hits = append(hits, hit{ser.name, f})
			}
		}
		// The total is judged only when no single resource explains the day (no hit of at
		// least the tenant's minimum impact, and more than one resource): a diffuse change
		// spread over several resources.
		explained := len(contribs) < 2 // with one resource the total is that resource
		for _, h := range hits {
			explained = explained || h.f.Impact.GreaterThanOrEqual(t.MinImpact)
		}
		if !explained && total.first <= di {
			hist, actual := total.history(di), total.value(di)
			if f, _, ok := gate.judge(det, s.opts.Replay.evaluate(det, t.ID, ServiceTotal, hist, day, actual), hist, actual); ok {
				hits = append(hits, hit{ServiceTotal, f})
			}
		}
		var dayContribs []Contribution
		if len(hits) > 0 {
			dayContribs = shareContributions(contribs)
		}
		hitServices := map[string]bool{}
		for _, h := range hits {
			rep.Found++
			hitServices[h.service] = true
			a := Anomaly{
				ID: uuid.Must(uuid.NewV7()), TenantID: t.ID, Day: day, DetectedAt: now,
				Service: h.service, Kind: h.f.Kind, Rule: h.f.Rule, Severity: h.f.Severity, Score: h.f.Score,
				Expected: h.f.Expected, Actual: h.f.Actual, Impact: h.f.Impact, DeviationPct: h.f.DeviationPct,
				Contributions: dayContribs,
				Status:        StatusOpen, LastDay: day, TotalImpact: h.f.Impact, MaxDeviationPct: h.f.DeviationPct,
			}
			a.RootCauses = s.rootCauses(ctx, tc, a.Service, a.Kind.Direction(), day, day, a.Impact)
			a.Description = describe(a)
			if err := s.episodeHit(ctx, tc, gate, a, &rep); err != nil {
				return rep, err
			}
		}
		if err := s.closeQuiet(ctx, tc, day, hitServices); err != nil {
			return rep, err
		}
	}
	if err := s.budget(ctx, tc, now, &rep); err != nil {
		return rep, err
	}
	return rep, nil
}

// Window is the range of days [from, last] the scan running at now reads for tenant: the
// ScoreDays complete days before now and at least HistoryDays before them, from the
// tenant's aligned first day (WindowAlign).
func (s *Scanner) Window(tenant eusaas.TenantID, now time.Time) (from, last time.Time) {
	last = DayOf(now.UTC()).AddDate(0, 0, -1)
	firstScored := last.AddDate(0, 0, -(s.opts.ScoreDays - 1))
	return alignWindow(firstScored.AddDate(0, 0, -s.opts.HistoryDays), tenant, s.opts.WindowAlign), last
}

// shareContributions returns a copy of a day's contributions (expected and actual set) with
// their deltas and their shares of the summed delta.
func shareContributions(c []Contribution) []Contribution {
	out := make([]Contribution, len(c))
	sum := decimal.Zero
	for i, x := range c {
		x.Delta = x.Actual.Sub(x.Expected)
		sum = sum.Add(x.Delta)
		out[i] = x
	}
	if !sum.IsZero() {
		for i := range out {
			p := out[i].Delta.Mul(hundred).DivRound(sum, 2)
			out[i].SharePct = &p
		}
	}
	return out
}

// alignWindow moves from back to the tenant's grid point of step days at or before it: days
// since the Unix epoch congruent to the tenant's offset (a hash of its id) modulo step.
func alignWindow(from time.Time, tenant eusaas.TenantID, step int) time.Time {
	if step <= 1 {
		return from
	}
	var h uint32 = 2166136261
	for _, b := range tenant {
		h = (h ^ uint32(b)) * 16777619
	}
	epochDay := int(from.Unix() / 86400)
	back := ((epochDay-int(h%uint32(step)))%step + step) % step
	return from.AddDate(0, 0, -back)
}

var scanPow10 = [...]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12}

// scanMicros converts d to exact micro-units when d has at most 6 decimals and is small
// enough (below 10^10 EUR) that sums of a day's rows cannot overflow.
func scanMicros(d decimal.Decimal) (int64, bool) {
	exp := int(d.Exponent())
	if exp < -6 || exp > 6 || d.NumDigits()+exp > 10 {
		return 0, false
	}
	return d.CoefficientInt64() * scanPow10[exp+6], true
}

// scanBuffer lends a tenant scan its dense series (a few KiB per series, allocated for every
// tenant of every scan otherwise): slices are carved from pooled backing arrays and
// cleared when the scan returns them. Nothing a scan keeps (anomalies, contributions,
// detector states) refers to them: decimals are values, the detectors keep float64s.
type scanBuffer struct {
	dec    []decimal.Decimal
	i64    []int64
	nd, ni int
}

var scanBufs = sync.Pool{New: func() any { return &scanBuffer{} }}

func (b *scanBuffer) decimals(n int) []decimal.Decimal {
	if b.nd+n > len(b.dec) {
		b.dec = make([]decimal.Decimal, max(2*len(b.dec), 8*n))
		b.nd = 0
	}
	out := b.dec[b.nd : b.nd+n : b.nd+n]
	b.nd += n
	return out
}

func (b *scanBuffer) int64s(n int) []int64 {
	if b.ni+n > len(b.i64) {
		b.i64 = make([]int64, max(2*len(b.i64), 8*n))
		b.ni = 0
	}
	out := b.i64[b.ni : b.ni+n : b.ni+n]
	b.ni += n
	return out
}

// release clears what was lent (no stale amounts for the next tenant, no pointers kept
// alive) and returns the buffer to the pool.
func (b *scanBuffer) release() {
	clear(b.dec[:b.nd])
	clear(b.i64[:b.ni])
	b.nd, b.ni = 0, 0
	scanBufs.Put(b)
}

// tenantScan is one tenant's scan state: its config (MinImpact defaulted) and its alert
// subscriptions, read on the first anomaly that could alert.
type tenantScan struct {
	cfg    TenantConfig
	subs   []Subscription
	loaded bool
	// episodes are the tenant's open and recent episodes by service (Store.Episodes).
	episodes map[string][]Anomaly
	// from and days are the scan's read range; attrs the attribute costs over it, read on
	// the first anomaly (attrsRead).
	from      time.Time
	days      int
	attrs     *attributeIndex
	attrsRead bool
}

// rootCauses ranks the attribute values behind service's deviation over [first, last]
// (nil without an AttributeSource or data). A failing source costs the root causes, not the
// scan: the anomaly is stored and alerted without them.
func (s *Scanner) rootCauses(ctx context.Context, tc *tenantScan, service string, dir Direction, first, last time.Time, deviation decimal.Decimal) []RootCause {
	if s.opts.Attributes == nil || service == ServiceBudget {
		return nil
	}
	if !tc.attrsRead {
		tc.attrsRead = true
		costs, err := s.opts.Attributes.AttributeCosts(ctx, tc.cfg.ID, tc.from, tc.from.AddDate(0, 0, tc.days-1))
		if err != nil {
			s.opts.Logger.Warn("anomaly scan: attribute costs unavailable, anomalies stored without root causes",
				"tenant", tc.cfg.ID.String(), "error", err.Error())
			return nil
		}
		tc.attrs = newAttributeIndex(costs, tc.from, tc.days)
	}
	return tc.attrs.rootCauses(service, dir, first, last, deviation)
}

// episodeHit folds a day's finding a into its series' episodes: a day an episode already
// covers is skipped (re-scans are idempotent); an OPEN episode in the same direction grows
// (LastDay, TotalImpact, MaxDeviationPct; severity follows the cumulative impact) and may
// now alert; an OPEN one in the other direction is closed and a starts a new episode.
func (s *Scanner) episodeHit(ctx context.Context, tc *tenantScan, gate Gate, a Anomaly, rep *TenantReport) error {
	eps := tc.episodes[a.Service]
	for _, ep := range eps {
		if !a.Day.Before(ep.Day) && !a.Day.After(ep.LastDay) {
			return nil
		}
	}
	for i, ep := range eps {
		if ep.Status != StatusOpen || ep.LastDay.After(a.Day) {
			continue
		}
		normal := int(a.Day.Sub(ep.LastDay).Hours()/24) - 1
		if ep.Kind.Direction() != a.Kind.Direction() || normal >= s.opts.CloseAfterDays {
			end := ep.LastDay
			ep.Status, ep.EndDate = StatusClosed, &end
			stored, err := s.store.UpdateEpisode(ctx, ep)
			if err != nil {
				return err
			}
			eps[i] = stored
			continue
		}
		ep.LastDay = a.Day
		ep.TotalImpact = ep.TotalImpact.Add(a.Impact)
		if a.DeviationPct != nil && (ep.MaxDeviationPct == nil || a.DeviationPct.Abs().GreaterThan(ep.MaxDeviationPct.Abs())) {
			m := *a.DeviationPct
			ep.MaxDeviationPct = &m
		}
		if sev := gate.severity(ep.TotalImpact, 0, 0, false); slices.Index(severityOrder, sev) > slices.Index(severityOrder, ep.Severity) {
			ep.Severity = sev
		}
		// Root causes of the whole episode so far (kept as they were when its start lies
		// before this scan's read range).
		if rc := s.rootCauses(ctx, tc, ep.Service, ep.Kind.Direction(), ep.Day, a.Day, ep.TotalImpact); rc != nil {
			ep.RootCauses = rc
		}
		ep.Description = describeEpisode(ep)
		stored, err := s.store.UpdateEpisode(ctx, ep)
		if err != nil {
			return err
		}
		eps[i] = stored
		if stored.SuppressedBy != nil {
			return nil
		}
		return s.alert(ctx, tc, stored, rep)
	}
	before := rep.Created
	if err := s.record(ctx, tc, a, rep); err != nil {
		return err
	}
	if rep.Created > before {
		tc.episodes[a.Service] = append(eps, a)
	}
	return nil
}

// closeQuiet closes the OPEN episodes of series without a finding on day whose last
// anomalous day is CloseAfterDays or more normal days back.
func (s *Scanner) closeQuiet(ctx context.Context, tc *tenantScan, day time.Time, hit map[string]bool) error {
	for service, eps := range tc.episodes {
		if hit[service] {
			continue
		}
		for i, ep := range eps {
			if ep.Status != StatusOpen || int(day.Sub(ep.LastDay).Hours()/24) < s.opts.CloseAfterDays {
				continue
			}
			end := ep.LastDay
			ep.Status, ep.EndDate = StatusClosed, &end
			stored, err := s.store.UpdateEpisode(ctx, ep)
			if err != nil {
				return err
			}
			eps[i] = stored
		}
	}
	return nil
}

func describeEpisode(ep Anomaly) string {
	days := int(ep.LastDay.Sub(ep.Day).Hours()/24) + 1
	return fmt.Sprintf("%s cost anomaly since %s: %d days, %s EUR total impact (first day: %s)",
		ep.Service, ep.Day.Format(time.DateOnly), days, ep.TotalImpact.StringFixed(2), describe(ep))
}

// record applies suppression, stores a and alerts on it when it is new.
func (s *Scanner) record(ctx context.Context, tc *tenantScan, a Anomaly, rep *TenantReport) error {
	if a.Kind != KindBudget {
		acked, err := s.store.Acknowledged(ctx, a.TenantID, a.Service, a.Day.AddDate(0, 0, -s.opts.SuppressDays), a.Day.AddDate(0, 0, -1))
		if err != nil {
			return err
		}
		if by, ok := Suppressor(a, acked, s.opts.SuppressDays); ok {
			at := a.DetectedAt
			id := by.ID
			a.Acknowledged, a.AcknowledgedBy, a.AcknowledgedAt, a.SuppressedBy = true, by.AcknowledgedBy, &at, &id
		}
	}
	stored, created, err := s.store.Insert(ctx, a)
	if err != nil || !created {
		return err
	}
	rep.Created++
	if stored.SuppressedBy != nil {
		rep.Suppressed++
		return nil
	}
	return s.alert(ctx, tc, stored, rep)
}

// alert tells the platform's notifier about a when its impact reaches the tenant's minimum
// impact (budget alerts always), and every IMMEDIATE subscription a matches; DAILY and
// WEEKLY subscriptions get it in their digest (SendDigests). A subscription fires when at
// least one of its channels took the alert. Delivery errors are counted and logged (never a
// channel's secret), not retried.
func (s *Scanner) alert(ctx context.Context, tc *tenantScan, a Anomaly, rep *TenantReport) error {
	if a.Kind != KindBudget {
		// Feedback mutes the series: a user said its anomalies are expected or false
		// positives. Stored, never alerted, neither to the notifier nor to subscriptions.
		since := a.DetectedAt.AddDate(0, 0, -s.opts.FeedbackMuteDays)
		muting, err := s.store.Muting(ctx, a.TenantID, a.Service, since)
		if err != nil {
			return err
		}
		if len(muting) > 0 {
			rep.Muted++
			return nil
		}
	}
	notified := false
	// An episode alerts once to the notifier, when its cumulative impact first reaches the
	// minimum; each subscription fires at most once per episode.
	if !a.Alerted && (a.Kind == KindBudget || a.EpisodeImpact().GreaterThanOrEqual(tc.cfg.MinImpact)) {
		if err := s.notifier.Notify(ctx, a); err != nil {
			rep.NotifyErrors++
			s.opts.Logger.WarnContext(ctx, "anomaly notification failed", "tenant_id", a.TenantID.String(), "anomaly_id", a.ID.String(), "error", err)
		} else {
			rep.Notified++
			notified = true
		}
	}
	if !tc.loaded {
		subs, err := s.store.AlertSubscriptions(ctx, a.TenantID)
		if err != nil {
			return err
		}
		tc.subs, tc.loaded = subs, true
	}
	var fired []uuid.UUID
	for _, sub := range tc.subs {
		if sub.Frequency != FrequencyImmediate || !sub.Matches(a) || slices.Contains(a.AlertedSubscriptions, sub.ID) {
			continue
		}
		body, err := json.Marshal(Payload(a))
		if err != nil {
			return err
		}
		if s.deliver(ctx, a.TenantID, sub, body, rep) {
			fired = append(fired, sub.ID)
		}
	}
	if !notified && len(fired) == 0 {
		return nil
	}
	_, err := s.store.MarkAlerted(ctx, a.TenantID, a.ID, fired)
	return err
}

// deliver sends body to every channel of sub and reports whether one took it. E-mail has no
// port to go through yet (auth has no Mailer): such channels are kept and logged as not
// deliverable, and a subscription with only e-mail channels never fires.
func (s *Scanner) deliver(ctx context.Context, tenant eusaas.TenantID, sub Subscription, body []byte, rep *TenantReport) bool {
	ok := false
	for _, ch := range sub.Channels {
		switch ch.Type {
		case ChannelWebhook:
			w := NewWebhookNotifier(ch.URL, []byte(ch.Secret), s.opts.HTTPClient, s.opts.Clock)
			if err := w.post(ctx, body); err != nil {
				rep.NotifyErrors++
				s.opts.Logger.WarnContext(ctx, "anomaly alert webhook failed", "tenant_id", tenant.String(), "subscription_id", sub.ID.String(), "error", err)
				continue
			}
			rep.Notified++
			ok = true
		case ChannelEmail:
			s.opts.Logger.WarnContext(ctx, "anomaly alert e-mail not deliverable: no mailer configured", "tenant_id", tenant.String(), "subscription_id", sub.ID.String())
		}
	}
	return ok
}

// Suppressor returns the acknowledged anomaly whose pattern a repeats (see Scanner), if any;
// the most recent one when several qualify.
func Suppressor(a Anomaly, acknowledged []Anomaly, days int) (Anomaly, bool) {
	var best Anomaly
	found := false
	for _, ack := range acknowledged {
		if !ack.Acknowledged || ack.TenantID != a.TenantID || ack.Service != a.Service || ack.Kind == KindBudget {
			continue
		}
		gap := int(a.Day.Sub(ack.Day).Hours() / 24)
		if gap < 1 || gap > days || ack.Kind.Direction() != a.Kind.Direction() || a.Impact.GreaterThan(ack.Impact) {
			continue
		}
		if !found || ack.Day.After(best.Day) {
			best, found = ack, true
		}
	}
	return best, found
}

// budget raises a budget alert, once per tenant and month, when the month-end projection is
// above the tenant's cost_alert_threshold.
func (s *Scanner) budget(ctx context.Context, tc *tenantScan, now time.Time, rep *TenantReport) error {
	t := tc.cfg
	if s.opts.Projector == nil || !t.CostAlertThreshold.IsPositive() {
		return nil
	}
	proj, err := s.opts.Projector.ProjectedTotal(ctx, t.ID, now)
	if err != nil {
		return err
	}
	a, ok := BudgetAlert(t.ID, now, proj, t.CostAlertThreshold)
	if !ok {
		return nil
	}
	before := rep.Created
	if err := s.record(ctx, tc, a, rep); err != nil {
		return err
	}
	rep.BudgetAlert = rep.Created > before
	return nil
}

// BudgetAlert builds the budget anomaly for the month of now when projected > threshold.
// Severity by how far the projection overshoots: < 10% LOW, < 25% MEDIUM, < 50% HIGH, else
// CRITICAL.
func BudgetAlert(tenant eusaas.TenantID, now time.Time, projected, threshold decimal.Decimal) (Anomaly, bool) {
	if !threshold.IsPositive() || !projected.GreaterThan(threshold) {
		return Anomaly{}, false
	}
	y, m, _ := now.UTC().Date()
	over := projected.Sub(threshold)
	pct := over.Mul(hundred).DivRound(threshold, 2)
	sev := SeverityCritical
	// Tiers compare exact ratios (over*100 < threshold*k), not the rounded percentage.
	overPct := over.Mul(hundred)
	switch {
	case overPct.LessThan(threshold.Mul(decimal.NewFromInt(10))):
		sev = SeverityLow
	case overPct.LessThan(threshold.Mul(decimal.NewFromInt(25))):
		sev = SeverityMedium
	case overPct.LessThan(threshold.Mul(decimal.NewFromInt(50))):
		sev = SeverityHigh
	}
	a := Anomaly{
		ID: uuid.Must(uuid.NewV7()), TenantID: tenant, Day: time.Date(y, m, 1, 0, 0, 0, 0, time.UTC),
		DetectedAt: now.UTC(), Service: ServiceBudget, Kind: KindBudget, Rule: "budget", Severity: sev,
		Expected: threshold, Actual: projected, Impact: over, DeviationPct: &pct,
	}
	a.Description = describe(a)
	return a, true
}

func describe(a Anomaly) string {
	day := a.Day.Format(time.DateOnly)
	switch a.Kind {
	case KindBudget:
		return fmt.Sprintf("Projected month-end cost %s EUR for %s exceeds the alert threshold %s EUR by %s EUR (%s%%)",
			a.Actual.StringFixed(2), a.Day.Format("2006-01"), a.Expected.StringFixed(2), a.Impact.StringFixed(2), a.DeviationPct.String())
	case KindNewSpend:
		return fmt.Sprintf("New spend on %s: %s EUR on %s where none was expected", a.Service, a.Actual.StringFixed(2), day)
	}
	word := "above"
	if a.Kind == KindDrop {
		word = "below"
	}
	rule := a.Rule
	if a.Score != 0 {
		rule = fmt.Sprintf("%s score %.1f", a.Rule, a.Score)
	}
	return fmt.Sprintf("%s cost %s EUR on %s is %s EUR (%s%%) %s the expected %s EUR (%s)",
		a.Service, a.Actual.StringFixed(2), day, a.Impact.StringFixed(2), a.DeviationPct.Abs().String(), word, a.Expected.StringFixed(2), rule)
}
