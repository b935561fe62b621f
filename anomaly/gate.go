package anomaly

import (
	"math"
	"time"

	"github.com/shopspring/decimal"
)

// Finding is a gated anomaly on one series and day, before it gets an id and a tenant.
type Finding struct {
	Kind         Kind
	Rule         string
	Severity     Severity
	Score        float64
	Expected     decimal.Decimal
	Actual       decimal.Decimal
	Impact       decimal.Decimal
	DeviationPct *decimal.Decimal
}

// Gate is the dual gate and the cold-start guards.
//
// A statistical finding needs BOTH |score| >= the detector's threshold AND an impact
// |actual - expected| >= MinImpact EUR. During cold start (detector not Ready) only two
// rules apply: new spend (every day of the history is 0, or there is none, and actual >=
// MinImpact) and a cold-start spike (actual > ColdStartFactor x the largest day so far and
// impact >= MinImpact). New spend is checked first and also applies to ready series whose
// whole history is 0.
type Gate struct {
	MinImpact decimal.Decimal
	// SeverityUnit is m in the severity tiers; zero uses MinImpact. The scanner gates at
	// a one-cent floor and grades in the tenant's minimum impact.
	SeverityUnit    decimal.Decimal
	ColdStartFactor decimal.Decimal
}

// DefaultDetectFloor is the smallest impact the scanner stores: one cent.
var DefaultDetectFloor = decimal.New(1, -2)

// DefaultMinImpact is the minimum impact when a tenant sets none: 5 EUR.
var DefaultMinImpact = decimal.NewFromInt(5)

// DefaultColdStartFactor: a cold series' day must exceed 10x its largest day to be flagged.
var DefaultColdStartFactor = decimal.NewFromInt(10)

var hundred = decimal.NewFromInt(100)

// Judge evaluates one day with det and applies the gate. ok is false when nothing is
// reported; ev is returned either way (the scanner uses Expected for contributions).
func (g Gate) Judge(det Detector, history []decimal.Decimal, day time.Time, actual decimal.Decimal) (f Finding, ev Evaluation, ok bool) {
	return g.judge(det, det.Evaluate(history, day, actual), decimalAmounts(history), actual)
}

// judge is Judge with the detector's evaluation already made.
func (g Gate) judge(det Detector, ev Evaluation, history amounts, actual decimal.Decimal) (f Finding, _ Evaluation, ok bool) {
	if ev.Expected.IsNegative() {
		// Costs are never negative; a baseline below 0 (a large negative weekday effect)
		// means "nothing expected".
		ev.Expected = decimal.Zero
	}
	factor := g.ColdStartFactor
	if factor.IsZero() {
		factor = DefaultColdStartFactor
	}
	allZero := history.allZero()
	switch {
	case allZero && actual.IsPositive():
		ev.Expected = decimal.Zero
		if actual.LessThan(g.MinImpact) {
			return f, ev, false
		}
		f = Finding{Kind: KindNewSpend, Rule: "new_spend", Expected: decimal.Zero, Actual: actual, Impact: actual}
		f.Severity = g.severity(actual, 0, 0, false)
		return f, ev, true

	case !ev.Ready:
		maxH := history.max() // the largest day so far, only needed here (decimal compares cost)
		if history.n == 0 || !actual.GreaterThan(maxH.Mul(factor)) {
			return f, ev, false
		}
		impact := actual.Sub(ev.Expected).Abs()
		if impact.LessThan(g.MinImpact) {
			return f, ev, false
		}
		f = Finding{Kind: KindSpike, Rule: "cold_start_spike", Expected: ev.Expected, Actual: actual, Impact: impact}

	default:
		diff := actual.Sub(ev.Expected)
		impact := diff.Abs()
		if math.Abs(ev.Score) < det.Threshold() || impact.LessThan(g.MinImpact) || diff.IsZero() {
			return f, ev, false
		}
		kind := KindSpike
		if diff.IsNegative() {
			kind = KindDrop
		}
		if ev.Expected.IsZero() {
			kind = KindNewSpend
		}
		f = Finding{Kind: kind, Rule: ev.Detector, Score: ev.Score, Expected: ev.Expected, Actual: actual, Impact: impact}
	}
	f.DeviationPct = DeviationPct(f.Expected, f.Actual)
	f.Severity = g.severity(f.Impact, f.Score, det.Threshold(), ev.Ready && f.Rule == ev.Detector)
	return f, ev, true
}

// DeviationPct is (actual - expected) / expected * 100 rounded to 2 places, or nil when
// expected is 0 (undefined: new spend).
func DeviationPct(expected, actual decimal.Decimal) *decimal.Decimal {
	if expected.IsZero() {
		return nil
	}
	d := actual.Sub(expected).Mul(hundred).DivRound(expected, 2)
	return &d
}

// severity grades a finding from its impact and score. The impact, in multiples of the
// tenant's minimum impact m (at least 1 EUR), sets the tier: < 3m LOW, < 10m MEDIUM, < 30m
// HIGH, else CRITICAL. A statistical finding whose |score| is under 1.5x the threshold is
// marginal and drops one tier (never below LOW). Rule-based findings have no score and keep
// their impact tier.
func (g Gate) severity(impact decimal.Decimal, score, threshold float64, statistical bool) Severity {
	m := g.MinImpact
	if !g.SeverityUnit.IsZero() {
		m = g.SeverityUnit
	}
	if m.LessThan(decimal.NewFromInt(1)) {
		m = decimal.NewFromInt(1)
	}
	tier := 0
	switch {
	case impact.GreaterThanOrEqual(m.Mul(decimal.NewFromInt(30))):
		tier = 3
	case impact.GreaterThanOrEqual(m.Mul(decimal.NewFromInt(10))):
		tier = 2
	case impact.GreaterThanOrEqual(m.Mul(decimal.NewFromInt(3))):
		tier = 1
	}
	if statistical && math.Abs(score) < 1.5*threshold && tier > 0 {
		tier--
	}
	return severityOrder[tier]
}
