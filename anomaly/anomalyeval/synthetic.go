package anomalyeval

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly"
)

// SynthConfig configures the synthetic daily-cost generator.
type SynthConfig struct {
	Seed    uint64
	Tenants int       // 200
	Days    int       // 182 (about six months)
	Start   time.Time // 2026-01-01
	// EventsPerTenant is the mean number of injected anomalies per tenant (3).
	EventsPerTenant float64
}

func (c SynthConfig) withDefaults() SynthConfig {
	if c.Tenants <= 0 {
		c.Tenants = 200
	}
	if c.Days <= 0 {
		c.Days = 182
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if c.EventsPerTenant <= 0 {
		c.EventsPerTenant = 3
	}
	return c
}

// Injected anomaly kinds.
const (
	EventSpike       = "spike"
	EventLevelShift  = "level_shift"
	EventDrift       = "slow_drift"
	EventNewResource = "new_resource"
)

// EventKinds in report order.
var EventKinds = []string{EventSpike, EventLevelShift, EventDrift, EventNewResource}

// Event is one injected, labelled anomaly: detections of its tenant on its resource (or on
// the tenant's TOTAL) with a day in [Start, End] find it.
type Event struct {
	Tenant     int
	Resource   string
	Kind       string
	Start, End int // day indexes, inclusive
}

// SynthData is a generated data set.
type SynthData struct {
	Config  SynthConfig
	Tenants []eusaas.TenantID
	Rows    [][]anomaly.DailyCost // per tenant
	Events  []Event
}

var synthResources = []string{"API_CALLS", "CPU", "MEMORY", "NETWORK", "STORAGE"}

// Generate builds a seeded data set: per tenant five resources with a base level
// (log-normal, median 30 EUR/day), a weekday pattern (weekend dips on CPU, NETWORK and
// API_CALLS), a trend (about -3%..+5% a month), multiplicative noise (3-10%), for half the
// tenants a month-start fee on STORAGE, and injected anomalies: one-day spikes (x2.5-6),
// level shifts (x1.8-3 up, or x0.2-0.5 down for a quarter of them), slow drifts (a linear
// rise to x1.8-2.5 over 14-28 days) and new resources (a sixth resource appearing).
func Generate(cfg SynthConfig) SynthData {
	cfg = cfg.withDefaults()
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	out := SynthData{Config: cfg}
	for ti := 0; ti < cfg.Tenants; ti++ {
		var idb [16]byte
		for i := range idb {
			idb[i] = byte(rng.Uint32())
		}
		id := uuid.UUID(idb)
		id[6] = (id[6] & 0x0f) | 0x40
		id[8] = (id[8] & 0x3f) | 0x80
		out.Tenants = append(out.Tenants, eusaas.TenantID(id))

		type res struct {
			name    string
			base    float64
			weekday [7]float64
			trend   float64
			noise   float64
			fee     float64
			start   int
			mult    []float64 // injected multiplicative effects per day
		}
		var rs []*res
		hasFee := rng.Float64() < 0.5
		for _, name := range synthResources {
			r := &res{name: name, base: math.Exp(math.Log(30) + 0.8*rng.NormFloat64()), noise: 0.03 + 0.07*rng.Float64(),
				trend: (-0.001 + 0.0027*rng.Float64()), mult: ones(cfg.Days)}
			for d := range r.weekday {
				r.weekday[d] = 1
			}
			if name == "CPU" || name == "NETWORK" || name == "API_CALLS" {
				we := 0.4 + 0.5*rng.Float64()
				for d := range r.weekday {
					r.weekday[d] = 0.95 + 0.1*rng.Float64()
				}
				r.weekday[time.Saturday], r.weekday[time.Sunday] = we, we
			}
			if name == "STORAGE" && hasFee {
				r.fee = r.base * (3 + 7*rng.Float64())
			}
			rs = append(rs, r)
		}
		// Injected events: Poisson-ish count, no two on one resource overlapping.
		nEvents := poisson(rng, cfg.EventsPerTenant)
		busy := map[string][][2]int{}
		free := func(name string, a, b int) bool {
			for _, w := range busy[name] {
				if a <= w[1]+7 && w[0] <= b+7 {
					return false
				}
			}
			return true
		}
		newRes := 0
		for k := 0; k < nEvents; k++ {
			kind := EventKinds[rng.IntN(len(EventKinds))]
			s := 28 + rng.IntN(max(1, cfg.Days-38))
			switch kind {
			case EventNewResource:
				newRes++
				name := fmt.Sprintf("NEW_%d", newRes)
				r := &res{name: name, base: math.Exp(math.Log(20) + 0.7*rng.NormFloat64()), noise: 0.05, start: s, mult: ones(cfg.Days)}
				for d := range r.weekday {
					r.weekday[d] = 1
				}
				rs = append(rs, r)
				out.Events = append(out.Events, Event{ti, name, kind, s, min(s+2, cfg.Days-1)})
			case EventSpike:
				r := rs[rng.IntN(len(synthResources))]
				if !free(r.name, s, s+1) {
					continue
				}
				r.mult[s] *= 2.5 + 3.5*rng.Float64()
				busy[r.name] = append(busy[r.name], [2]int{s, s + 1})
				out.Events = append(out.Events, Event{ti, r.name, kind, s, min(s+1, cfg.Days-1)})
			case EventLevelShift:
				r := rs[rng.IntN(len(synthResources))]
				if !free(r.name, s, cfg.Days) {
					continue
				}
				f := 1.8 + 1.2*rng.Float64()
				if rng.Float64() < 0.25 {
					f = 0.2 + 0.3*rng.Float64()
				}
				for d := s; d < cfg.Days; d++ {
					r.mult[d] *= f
				}
				busy[r.name] = append(busy[r.name], [2]int{s, cfg.Days})
				out.Events = append(out.Events, Event{ti, r.name, kind, s, min(s+6, cfg.Days-1)})
			case EventDrift:
				r := rs[rng.IntN(len(synthResources))]
				l := 14 + rng.IntN(15)
				if !free(r.name, s, cfg.Days) {
					continue
				}
				top := 1.8 + 0.7*rng.Float64()
				for d := s; d < cfg.Days; d++ {
					x := math.Min(1, float64(d-s+1)/float64(l))
					r.mult[d] *= 1 + (top-1)*x
				}
				busy[r.name] = append(busy[r.name], [2]int{s, cfg.Days})
				out.Events = append(out.Events, Event{ti, r.name, kind, s, min(s+l+6, cfg.Days-1)})
			}
		}
		var rows []anomaly.DailyCost
		for d := 0; d < cfg.Days; d++ {
			day := cfg.Start.AddDate(0, 0, d)
			for _, r := range rs {
				if d < r.start {
					continue
				}
				v := r.base * math.Exp(r.trend*float64(d)) * r.weekday[day.Weekday()] * r.mult[d] * math.Exp(r.noise*rng.NormFloat64())
				if day.Day() == 1 {
					v += r.fee
				}
				rows = append(rows, anomaly.DailyCost{Day: day, Resource: r.name, Amount: decimal.NewFromFloat(v).Round(2)})
			}
		}
		out.Rows = append(out.Rows, rows)
	}
	return out
}

func ones(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 1
	}
	return out
}

func poisson(rng *rand.Rand, mean float64) int {
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// Debug, when set, receives every false positive of EvaluateSynthetic (for investigation).
var Debug func(tenant int, service string, day int, kind, rule string)

// DebugMiss, when set, receives every injected event EvaluateSynthetic did not detect.
var DebugMiss func(e Event)

// SynthResult is one detector's result on a synthetic data set.
type SynthResult struct {
	Detector      string
	Events        int
	Detected      int
	ByKind        map[string][2]int // kind -> {detected, total}
	Detections    int
	FalsePos      int
	FPByKind      map[string]int // false positives by anomaly kind (SPIKE, DROP, NEW_SPEND)
	TenantMonths  float64
	FPPerTenantMo float64
}

// PRF: precision = detected events / (detected events + false positives), recall =
// detected / events, F1 their harmonic mean.
func (r SynthResult) PRF() (p, rc, f1 float64) {
	return EventCounts{Windows: r.Events, Detected: r.Detected, FalseAlarms: r.FalsePos}.PRF()
}

// SynthSeries is an anomaly.SeriesSource over a SynthData.
type synthSeries struct {
	byTenant map[eusaas.TenantID][]anomaly.DailyCost
}

func (s synthSeries) DailyCosts(_ context.Context, tenant eusaas.TenantID, from, to time.Time) ([]anomaly.DailyCost, error) {
	rows := s.byTenant[tenant]
	i := sort.Search(len(rows), func(i int) bool { return !rows[i].Day.Before(from) })
	j := sort.Search(len(rows), func(i int) bool { return rows[i].Day.After(to) })
	return rows[i:j], nil
}

// synthStore is a minimal in-process anomaly.Store for the evaluation (no acknowledgements
// happen, so it only needs idempotent inserts).
type synthStore struct {
	mu   sync.Mutex
	keys map[string]bool
}

func (s *synthStore) Insert(_ context.Context, a anomaly.Anomaly) (anomaly.Anomaly, bool, error) {
	k := a.TenantID.String() + a.Service + a.Day.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys[k] {
		return a, false, nil
	}
	s.keys[k] = true
	return a, true, nil
}
func (s *synthStore) Get(context.Context, eusaas.TenantID, uuid.UUID) (anomaly.Anomaly, error) {
	return anomaly.Anomaly{}, anomaly.ErrNotFound
}
func (s *synthStore) List(context.Context, eusaas.TenantID, anomaly.Filter, eusaas.Page) (eusaas.List[anomaly.Anomaly], error) {
	return eusaas.List[anomaly.Anomaly]{}, nil
}
func (s *synthStore) Acknowledge(context.Context, eusaas.TenantID, uuid.UUID, string, time.Time) (anomaly.Anomaly, error) {
	return anomaly.Anomaly{}, anomaly.ErrNotFound
}
func (s *synthStore) Acknowledged(context.Context, eusaas.TenantID, string, time.Time, time.Time) ([]anomaly.Anomaly, error) {
	return nil, nil
}

// The evaluation has no subscriptions: it counts what the platform's notifier is told.
func (s *synthStore) MarkAlerted(_ context.Context, _ eusaas.TenantID, _ uuid.UUID, _ []uuid.UUID) (anomaly.Anomaly, error) {
	return anomaly.Anomaly{}, nil
}
func (s *synthStore) AlertSubscriptions(context.Context, eusaas.TenantID) ([]anomaly.Subscription, error) {
	return nil, nil
}
func (s *synthStore) SetAlertSubscriptions(context.Context, eusaas.TenantID, []anomaly.Subscription) error {
	return nil
}

// Nobody gives feedback in the evaluation: nothing is muted.
func (s *synthStore) SetFeedback(context.Context, eusaas.TenantID, uuid.UUID, anomaly.Feedback) (anomaly.Anomaly, error) {
	return anomaly.Anomaly{}, anomaly.ErrNotFound
}
func (s *synthStore) Muting(context.Context, eusaas.TenantID, string, time.Time) ([]anomaly.Anomaly, error) {
	return nil, nil
}
func (s *synthStore) FeedbackCounts(context.Context, eusaas.TenantID) (map[anomaly.Verdict]int, error) {
	return nil, nil
}

// The evaluation scores each day's detections against the injected events, so it keeps no
// episodes: every anomalous day is a new finding, as before episodes existed.
func (s *synthStore) Episodes(context.Context, eusaas.TenantID, time.Time) ([]anomaly.Anomaly, error) {
	return nil, nil
}
func (s *synthStore) UpdateEpisode(_ context.Context, a anomaly.Anomaly) (anomaly.Anomaly, error) {
	return a, nil
}

// EvaluateSynthetic scans data day by day (day 1 to the last, each scan seeing only the days
// before the scored one) with the real anomaly.Scanner using det and minimum impact
// minImpact, and matches the anomalies it creates against the injected events.
func EvaluateSynthetic(ctx context.Context, data SynthData, det anomaly.Detector, minImpact decimal.Decimal, label string) (SynthResult, error) {
	cfg := data.Config
	series := synthSeries{byTenant: map[eusaas.TenantID][]anomaly.DailyCost{}}
	index := map[eusaas.TenantID]int{}
	var tcs []anomaly.TenantConfig
	for i, id := range data.Tenants {
		series.byTenant[id] = data.Rows[i]
		index[id] = i
		tcs = append(tcs, anomaly.TenantConfig{ID: id, MinImpact: minImpact})
	}
	type det3 struct {
		tenant  int
		service string
		day     int
		kind    anomaly.Kind
		rule    string
	}
	var mu sync.Mutex
	var found []det3
	notifier := anomaly.NotifierFunc(func(_ context.Context, a anomaly.Anomaly) error {
		mu.Lock()
		found = append(found, det3{index[a.TenantID], a.Service, int(a.Day.Sub(cfg.Start).Hours() / 24), a.Kind, a.Rule})
		mu.Unlock()
		return nil
	})
	clock := eusaas.NewFakeClock(cfg.Start)
	sc := anomaly.NewScanner(series, anomaly.TenantListerFunc(func(context.Context) ([]anomaly.TenantConfig, error) { return tcs, nil }),
		&synthStore{keys: map[string]bool{}}, notifier,
		// The scanner as the platform runs it: the default window (HistoryDays, WindowAlign)
		// and a replay cache (which changes the cost, not the result).
		anomaly.ScannerOptions{Detector: det, MinImpact: minImpact, Clock: clock, Concurrency: 2,
			Replay: anomaly.NewReplayCache()})
	for d := 1; d < cfg.Days; d++ {
		clock.Set(cfg.Start.AddDate(0, 0, d+1).Add(time.Hour)) // scores day d
		rep, err := sc.ScanAll(ctx)
		if err != nil {
			return SynthResult{}, err
		}
		for _, e := range rep.Failed {
			return SynthResult{}, e
		}
	}
	res := SynthResult{Detector: label, Events: len(data.Events), ByKind: map[string][2]int{}, FPByKind: map[string]int{}, Detections: len(found)}
	matches := func(e Event, f det3) bool {
		return e.Tenant == f.tenant && (e.Resource == f.service || f.service == anomaly.ServiceTotal) && f.day >= e.Start && f.day <= e.End
	}
	for _, e := range data.Events {
		hit := false
		for _, f := range found {
			if matches(e, f) {
				hit = true
				break
			}
		}
		k := res.ByKind[e.Kind]
		k[1]++
		if hit {
			k[0]++
			res.Detected++
		} else if DebugMiss != nil {
			DebugMiss(e)
		}
		res.ByKind[e.Kind] = k
	}
	for _, f := range found {
		explained := false
		for _, e := range data.Events {
			if matches(e, f) {
				explained = true
				break
			}
		}
		if !explained {
			res.FalsePos++
			res.FPByKind[string(f.kind)]++
			if Debug != nil {
				Debug(f.tenant, f.service, f.day, string(f.kind), f.rule)
			}
		}
	}
	res.TenantMonths = float64(len(data.Tenants)) * float64(cfg.Days-1) / (365.25 / 12)
	res.FPPerTenantMo = float64(res.FalsePos) / res.TenantMonths
	return res, nil
}

// GaussianDetector is the windowed-Gaussian baseline as an anomaly.Detector for daily costs:
// mean and population std of the Window days before (std 0 -> 1e-6, NAB's rule), score z
// (with NAB's Window of 6400, which the scanner's history never fills, that is every day
// before: NAB's growing window);
// it fires at |z| >= Z (the NAB score 1 - Q(|z|) >= threshold is the same test).
type GaussianDetector struct {
	Window int
	Z      float64
}

// GaussianZ converts a NAB windowed-Gaussian threshold on 1 - Q(|z|) into |z|.
func GaussianZ(threshold float64) float64 {
	return math.Sqrt2 * math.Erfcinv(2*(1-threshold))
}

// Name implements anomaly.Detector.
func (g GaussianDetector) Name() string { return "windowed_gaussian" }

// Threshold implements anomaly.Detector.
func (g GaussianDetector) Threshold() float64 { return g.Z }

// Evaluate implements anomaly.Detector.
func (g GaussianDetector) Evaluate(history []decimal.Decimal, _ time.Time, actual decimal.Decimal) anomaly.Evaluation {
	ev := anomaly.Evaluation{Detector: g.Name()}
	w := min(g.Window, len(history))
	if w == 0 {
		return ev
	}
	base := history[len(history)-w:]
	fs := make([]float64, w)
	sum := decimal.Zero
	for i, d := range base {
		fs[i] = d.InexactFloat64()
		sum = sum.Add(d)
	}
	mean, std := meanStd(fs)
	if std == 0 {
		std = 0.000001
	}
	ev.Ready = true
	ev.Expected = sum.Div(decimal.NewFromInt(int64(w))).Round(2)
	ev.Sigma = std
	ev.Score = (actual.InexactFloat64() - mean) / std
	return ev
}
