package billing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
)

// Aggregation says how a metric's events make up the month's billable quantity.
type Aggregation string

// Aggregations (issue 13 item 7). The value of an event is its quantity, or the decimal
// in its attribute Field when the metric names one.
const (
	// AggSum: the month's quantity is the sum of the values.
	AggSum Aggregation = "SUM"
	// AggMax: the largest value seen in the month (peak seats, peak storage).
	AggMax Aggregation = "MAX"
	// AggCount: the number of events (quantity and Field are ignored).
	AggCount Aggregation = "COUNT"
	// AggUniqueCount: the number of distinct values of attribute Field in the month
	// (active users).
	AggUniqueCount Aggregation = "UNIQUE_COUNT"
	// AggLatest: the value of the month's latest event by timestamp (a gauge).
	AggLatest Aggregation = "LATEST"
)

// Valid reports whether a is a known aggregation.
func (a Aggregation) Valid() bool {
	switch a {
	case AggSum, AggMax, AggCount, AggUniqueCount, AggLatest:
		return true
	}
	return false
}

// Additive reports whether the month's quantity is a sum of per-event contributions
// (SUM, COUNT). The others need the month's state (its maximum, latest timestamp or the set
// of values seen) and are recorded by an AggregatingStore.
func (a Aggregation) Additive() bool { return a == AggSum || a == AggCount }

// Metric is a billable metric: events whose resource_type equals Code are metered under it.
// The five resources of the specification are the built-in metrics (SUM of quantity).
type Metric struct {
	Code        ResourceType
	Name        string
	Unit        string
	Aggregation Aggregation
	Field       string
	// Price is the default price of the metric for tenants without an override or plan price;
	// nil: free unless a plan or override prices it.
	Price     *PriceModel
	BuiltIn   bool
	CreatedAt time.Time
}

// BuiltInMetrics are the specification's five resources as metrics.
func BuiltInMetrics() []Metric {
	names := map[ResourceType]string{CPU: "vCPU time", Memory: "Memory", Storage: "Storage", Network: "Network transfer", APICalls: "API calls"}
	prices := DefaultPrices()
	out := make([]Metric, 0, len(ResourceTypes))
	for _, r := range ResourceTypes {
		p := prices[r]
		out = append(out, Metric{Code: r, Name: names[r], Unit: r.Unit(), Aggregation: AggSum, Price: &p, BuiltIn: true})
	}
	return out
}

// MetricStore keeps the operators' custom metrics (platform-wide).
type MetricStore interface {
	// Metrics returns every custom metric, ordered by code.
	Metrics(ctx context.Context) ([]Metric, error)
	// CreateMetric stores a new metric; AlreadyExists when the code is taken.
	CreateMetric(ctx context.Context, m Metric) error
}

// Aggregate is how an AggregatingStore folds one non-additive metric's events.
type Aggregate struct {
	Kind  Aggregation // MAX, LATEST or UNIQUE_COUNT
	Field string      // UNIQUE_COUNT: the attribute whose distinct values are counted
}

// AggregatingStore is a UsageStore that also records non-additive metrics. It is an
// optional interface (database/sql style) so existing usage stores keep working with the
// built-in and additive metrics.
type AggregatingStore interface {
	// RecordAggregated is Record, except that events whose resource is in aggs contribute
	// to their day's bucket not their quantity but the change they cause to the month's
	// aggregate: MAX max(0, value - month max); LATEST value - latest value when the event
	// is the month's latest so far (else 0); UNIQUE_COUNT 1 when attribute Field's value is
	// new in the month (else 0). The month state is locked like the running quantity, so a
	// month's bucket quantities always sum to its aggregate, whatever the order and
	// concurrency of batches. Dedup, atomicity and rating are Record's.
	RecordAggregated(ctx context.Context, tenant eusaas.TenantID, events []UsageEvent, aggs map[ResourceType]Aggregate, rate Rater) ([]bool, error)
}

// ValueDigest is how usage stores keep UNIQUE_COUNT's values: hex SHA-256, so an attribute
// holding a user id is not kept in clear beyond the events' dedup window (subject erasure
// replaces the subject's digest with its pseudonym's).
func ValueDigest(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:])
}

// Metric errors.
var (
	ErrMetricExists   = eusaas.Sentinel(eusaas.AlreadyExists, "metric_exists", "a metric with this code exists")
	ErrNoMetricStore  = eusaas.Sentinel(eusaas.FailedPrecondition, "metrics_not_configured", "custom metrics are not configured on this server")
	ErrNotAggregating = eusaas.Sentinel(eusaas.FailedPrecondition, "aggregation_unsupported", "the usage store cannot record MAX, LATEST or UNIQUE_COUNT metrics")
)

var metricCode = regexp.MustCompile(`^[A-Z][A-Z0-9_]{1,63}$`)

// MaxMetrics bounds the catalogue (each metric is a line on invoices and a series in costs).
const MaxMetrics = 200

// Metrics returns the built-in metrics followed by the custom ones (by code).
func (s *Service) Metrics(ctx context.Context) ([]Metric, error) {
	out := BuiltInMetrics()
	if s.metrics == nil {
		return out, nil
	}
	custom, err := s.metrics.Metrics(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(custom, func(i, j int) bool { return custom[i].Code < custom[j].Code })
	return append(out, custom...), nil
}

// metricBook is the catalogue by code.
type metricBook map[ResourceType]Metric

// metricBookTTL is how long a Service reuses the catalogue it read: every ingested batch
// needs it, and it changes rarely. A metric created through this Service is visible at once;
// one created through another replica within this time.
const metricBookTTL = 5 * time.Second

func (s *Service) metricBook(ctx context.Context) (metricBook, error) {
	if s.metrics == nil {
		return builtInBook, nil
	}
	now := s.o.Clock.Now()
	s.bookMu.Lock()
	b, at := s.book, s.bookAt
	s.bookMu.Unlock()
	if b != nil && now.Sub(at) < metricBookTTL && !now.Before(at) {
		return b, nil
	}
	ms, err := s.Metrics(ctx)
	if err != nil {
		return nil, err
	}
	b = make(metricBook, len(ms))
	for _, m := range ms {
		b[m.Code] = m
	}
	s.bookMu.Lock()
	s.book, s.bookAt = b, now
	s.bookMu.Unlock()
	return b, nil
}

var builtInBook = func() metricBook {
	b := metricBook{}
	for _, m := range BuiltInMetrics() {
		b[m.Code] = m
	}
	return b
}()

// KnownMetric reports whether code is a built-in or custom metric (for transports that
// refuse a whole request naming an unknown one).
func (s *Service) KnownMetric(ctx context.Context, code ResourceType) (bool, error) {
	b, err := s.metricBook(ctx)
	if err != nil {
		return false, err
	}
	_, ok := b[code]
	return ok, nil
}

// unit is the unit of resource r (its metric's unit; r's own for built-ins).
func (b metricBook) unit(r ResourceType) string {
	if m, ok := b[r]; ok {
		return m.Unit
	}
	return r.Unit()
}

// CreateMetric validates and adds a custom metric. Codes are upper-case identifiers
// (the resource_type events carry) and never collide with a built-in.
func (s *Service) CreateMetric(ctx context.Context, m Metric) (Metric, error) {
	if s.metrics == nil {
		return Metric{}, ErrNoMetricStore
	}
	var v eusaas.Violations
	if !metricCode.MatchString(string(m.Code)) {
		v.Add("body.code", "must match ^[A-Z][A-Z0-9_]{1,63}$ (upper-case letters, digits, underscore)")
	} else if m.Code.Valid() {
		v.Add("body.code", "is a built-in metric")
	}
	checkText(&v, "body.name", m.Name, true)
	checkText(&v, "body.unit", m.Unit, true)
	if len(m.Unit) > 64 {
		v.Add("body.unit", "must be at most 64 bytes")
	}
	if !m.Aggregation.Valid() {
		v.Add("body.aggregation", "must be SUM, MAX, COUNT, UNIQUE_COUNT or LATEST")
	}
	switch {
	case m.Aggregation == AggUniqueCount && m.Field == "":
		v.Add("body.field", "UNIQUE_COUNT counts the distinct values of an attribute: field is required")
	case m.Aggregation == AggCount && m.Field != "":
		v.Add("body.field", "COUNT counts events and takes no field")
	case m.Field != "" && (len(m.Field) > MaxAttributeLen || !billingText(m.Field)):
		v.Add("body.field", "must be an attribute name of 1..256 bytes")
	}
	if m.Price != nil {
		if err := m.Price.Validate("body.price"); err != nil {
			return Metric{}, err
		}
	}
	if err := v.Err(); err != nil {
		return Metric{}, err
	}
	if !m.Aggregation.Additive() {
		if _, ok := s.usage.(AggregatingStore); !ok {
			return Metric{}, ErrNotAggregating
		}
	}
	existing, err := s.metrics.Metrics(ctx)
	if err != nil {
		return Metric{}, err
	}
	if len(existing) >= MaxMetrics {
		return Metric{}, eusaas.Errorf(eusaas.ResourceExhausted, "at most %d custom metrics", MaxMetrics)
	}
	m.BuiltIn, m.CreatedAt = false, s.o.Clock.Now().UTC()
	if err := s.metrics.CreateMetric(ctx, m); err != nil {
		if eusaas.KindOf(err) == eusaas.AlreadyExists {
			return Metric{}, ErrMetricExists.Withf("metric %s exists", m.Code)
		}
		return Metric{}, err
	}
	s.bookMu.Lock()
	s.book = nil // read again on next use
	s.bookMu.Unlock()
	return m, nil
}

// meter turns a shape-valid event of metric m into what the usage store records: COUNT
// counts 1, a Field names the attribute holding the value (a non-negative decimal). It
// returns a rejection reason when the event cannot be metered.
func (m Metric) meter(e *UsageEvent) string {
	switch {
	case m.Aggregation == AggCount:
		e.Quantity = decimal.NewFromInt(1)
	case m.Aggregation == AggUniqueCount:
		if e.Attributes[m.Field] == "" {
			return fmt.Sprintf("metric %s counts distinct values of attribute %q: the event has none", m.Code, m.Field)
		}
	case m.Field != "":
		raw, ok := e.Attributes[m.Field]
		if !ok {
			return fmt.Sprintf("metric %s takes its value from attribute %q: the event has none", m.Code, m.Field)
		}
		q, err := ParseQuantity(raw)
		if err != nil {
			return fmt.Sprintf("attribute %q: %v", m.Field, err)
		}
		e.Quantity = q
	}
	return ""
}
