package anomaly

import (
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
)

// Severity grades an anomaly.
type Severity string

// Severities, least to most severe.
const (
	SeverityLow      Severity = "LOW"
	SeverityMedium   Severity = "MEDIUM"
	SeverityHigh     Severity = "HIGH"
	SeverityCritical Severity = "CRITICAL"
)

// Valid reports whether s is one of the four severities.
func (s Severity) Valid() bool {
	switch s {
	case SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical:
		return true
	}
	return false
}

var severityOrder = []Severity{SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}

// Kind says what sort of anomaly was found.
type Kind string

// Kinds.
const (
	KindSpike    Kind = "SPIKE"     // actual well above expected
	KindDrop     Kind = "DROP"      // actual well below expected
	KindNewSpend Kind = "NEW_SPEND" // spend on a resource that had none: expected is 0
	KindBudget   Kind = "BUDGET"    // the month-end projection crosses cost_alert_threshold
)

// Direction is the sign of a deviation; NEW_SPEND and BUDGET are Up.
type Direction string

// Directions.
const (
	Up   Direction = "UP"
	Down Direction = "DOWN"
)

// Direction of k.
func (k Kind) Direction() Direction {
	if k == KindDrop {
		return Down
	}
	return Up
}

// Pseudo-services: the tenant's total over all resources, and budget alerts.
const (
	ServiceTotal  = "TOTAL"
	ServiceBudget = "BUDGET"
)

// Contribution is one resource's part in a day's deviation from expected.
type Contribution struct {
	Resource string
	Expected decimal.Decimal
	Actual   decimal.Decimal
	// Delta is Actual - Expected (signed).
	Delta decimal.Decimal
	// SharePct is Delta as a percentage of the sum of all resources' deltas that day (2
	// decimal places); nil when that sum is 0.
	SharePct *decimal.Decimal
}

// Anomaly is one detected anomaly. It is stored at most once per tenant, service and day.
type Anomaly struct {
	ID       uuid.UUID
	TenantID eusaas.TenantID
	// Day is the UTC date the anomaly is about (00:00 UTC). Budget alerts use the first day
	// of the month they project.
	Day        time.Time
	DetectedAt time.Time
	// Service is the resource type (CPU, MEMORY, ...), ServiceTotal or ServiceBudget.
	Service  string
	Kind     Kind
	Rule     string // what fired: "zscore", "seasonal", "new_spend", "cold_start_spike", "budget"
	Severity Severity
	// Score is the statistical score (signed, in robust or plain sigmas); 0 for rule-based
	// findings, which have none.
	Score float64
	// Expected, Actual and Impact = |Actual - Expected| are exact EUR amounts.
	Expected decimal.Decimal
	Actual   decimal.Decimal
	Impact   decimal.Decimal
	// DeviationPct is (Actual - Expected) / Expected * 100 with 2 decimals; nil when
	// Expected is 0 (the anomaly is then classed as new spend).
	DeviationPct  *decimal.Decimal
	Description   string
	Contributions []Contribution
	// RootCauses are the attribute values (region, usage type, ...) that explain the
	// deviation over the episode, largest contribution first, at most MaxRootCauses; none
	// without attribute data.
	RootCauses []RootCause

	Acknowledged   bool
	AcknowledgedBy string
	AcknowledgedAt *time.Time
	// SuppressedBy is the acknowledged anomaly whose pattern this one repeats; a suppressed
	// anomaly is stored acknowledged (by the same person) and not notified.
	SuppressedBy *uuid.UUID

	// Alerted is true once someone was told about the anomaly: the platform's notifier
	// (for impacts at or above the tenant's minimum impact) or a subscription.
	// AlertedSubscriptions are the subscriptions that fired, in the order they did.
	Alerted              bool
	AlertedSubscriptions []uuid.UUID

	// Feedback is the latest verdict a user gave; nil when none.
	Feedback *Feedback

	// Episode: consecutive anomalous days of one series are one anomaly. Day is its start
	// date and the fields above describe that first day; LastDay is the latest anomalous
	// day, EndDate is LastDay once the episode is CLOSED (nil while OPEN), TotalImpact sums
	// the daily impacts and MaxDeviationPct is the largest |deviation| (signed as found).
	// Severity follows TotalImpact. Budget alerts are one-day CLOSED episodes.
	Status          Status
	LastDay         time.Time
	EndDate         *time.Time
	TotalImpact     decimal.Decimal
	MaxDeviationPct *decimal.Decimal
}

// Status is an episode's state.
type Status string

// Statuses: an OPEN episode may still grow; it is CLOSED after ScannerOptions.CloseAfterDays
// normal days.
const (
	StatusOpen   Status = "OPEN"
	StatusClosed Status = "CLOSED"
)

// WithEpisodeDefaults fills the episode fields of an anomaly built without them (a one-day
// CLOSED episode), so stores can take anomalies from before episodes.
func (a Anomaly) WithEpisodeDefaults() Anomaly {
	if a.Status == "" {
		a.Status = StatusClosed
	}
	if a.LastDay.IsZero() {
		a.LastDay = a.Day
	}
	if a.Status == StatusClosed && a.EndDate == nil {
		end := a.LastDay
		a.EndDate = &end
	}
	if a.TotalImpact.IsZero() {
		a.TotalImpact = a.Impact
	}
	if a.MaxDeviationPct == nil && a.DeviationPct != nil {
		m := *a.DeviationPct
		a.MaxDeviationPct = &m
	}
	return a
}

// Validate checks the invariants a store relies on.
func (a Anomaly) Validate() error {
	var v eusaas.Violations
	if a.ID == uuid.Nil {
		v.Add("id", "is required")
	}
	if a.TenantID.IsZero() {
		v.Add("tenant_id", "is required")
	}
	if a.Day.IsZero() || !a.Day.Equal(DayOf(a.Day)) {
		v.Add("day", "must be a UTC date at 00:00")
	}
	if a.Service == "" || len(a.Service) > 64 {
		v.Add("service", "must be 1..64 characters")
	}
	if !a.Severity.Valid() {
		v.Add("severity", "must be LOW, MEDIUM, HIGH or CRITICAL")
	}
	switch a.Kind {
	case KindSpike, KindDrop, KindNewSpend, KindBudget:
	default:
		v.Add("kind", "unknown kind")
	}
	if a.Impact.IsNegative() {
		v.Add("impact", "must not be negative")
	}
	if a.TotalImpact.IsNegative() {
		v.Add("total_impact", "must not be negative")
	}
	switch a.Status {
	case "", StatusOpen, StatusClosed:
	default:
		v.Add("status", "must be OPEN or CLOSED")
	}
	if !a.LastDay.IsZero() && (a.LastDay.Before(a.Day) || !a.LastDay.Equal(DayOf(a.LastDay))) {
		v.Add("last_day", "must be a UTC date not before day")
	}
	if a.Status == StatusOpen && a.EndDate != nil {
		v.Add("end_date", "must be empty while the episode is open")
	}
	if a.Expected.IsZero() != (a.DeviationPct == nil) && a.Kind != KindBudget {
		v.Add("deviation_pct", "must be set exactly when expected is not 0")
	}
	return v.Err()
}

// Filter selects anomalies in List. Nil fields match everything.
type Filter struct {
	Severity     *Severity
	Acknowledged *bool
	// MinImpact keeps anomalies whose impact is at least this.
	MinImpact *decimal.Decimal
	// From and To bound Day (UTC dates, inclusive).
	From, To *time.Time
	// Status keeps OPEN or CLOSED episodes.
	Status *Status
}

// DayOf truncates t to its UTC date.
func DayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// TenantConfig is what the scanner needs to know about one ACTIVE tenant.
type TenantConfig struct {
	ID eusaas.TenantID
	// MinImpact is the tenant's minimum absolute impact in EUR for the platform's notifier
	// to be told about an anomaly, and the unit of the severity tiers; zero means the
	// scanner's default. It no longer decides what is stored: every finding is.
	MinImpact decimal.Decimal
	// CostAlertThreshold is the tenant's settings.cost_alert_threshold in EUR; zero means no
	// budget alert.
	CostAlertThreshold decimal.Decimal
}

// DailyCost is one resource's cost on one UTC day, as the series port returns it.
type DailyCost struct {
	Day      time.Time
	Resource string
	Amount   decimal.Decimal
}
