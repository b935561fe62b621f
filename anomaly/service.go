package anomaly

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// Service is what the HTTP layer uses: listing and acknowledging a tenant's anomalies.
type Service struct {
	store Store
	clock eusaas.Clock
	audit eusaas.Recorder
}

// Deps are the ports a Service runs on. Store is required; without a Recorder
// acknowledgements are not audited (eusaas.Discard).
type Deps struct {
	Store    Store
	Recorder eusaas.Recorder
}

// Options configure a Service. The zero value works: the system clock.
type Options struct {
	Clock eusaas.Clock
}

// NewService returns a Service on d's ports. A missing Store is an InvalidArgument error
// naming it, so a wiring mistake surfaces at start-up rather than as a nil dereference on
// the first request.
func NewService(d Deps, o Options) (*Service, error) {
	var missing []string
	if d.Store == nil {
		missing = append(missing, "Store")
	}
	if len(missing) > 0 {
		return nil, eusaas.Errorf(eusaas.InvalidArgument, "anomaly: missing required ports: %v", missing)
	}
	if o.Clock == nil {
		o.Clock = eusaas.SystemClock
	}
	if d.Recorder == nil {
		d.Recorder = eusaas.Discard
	}
	return &Service{store: d.Store, clock: o.Clock, audit: d.Recorder}, nil
}

// List returns a page of the tenant's anomalies, newest first.
func (s *Service) List(ctx context.Context, tenant eusaas.TenantID, f Filter, page eusaas.Page) (eusaas.List[Anomaly], error) {
	page, err := page.Normalize()
	if err != nil {
		return eusaas.List[Anomaly]{}, err
	}
	if f.Severity != nil && !f.Severity.Valid() {
		var v eusaas.Violations
		v.Add("query.severity", "must be LOW, MEDIUM, HIGH or CRITICAL")
		return eusaas.List[Anomaly]{}, v.Err()
	}
	return s.store.List(ctx, tenant, f, page)
}

// Get returns one anomaly of the tenant.
func (s *Service) Get(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (Anomaly, error) {
	return s.store.Get(ctx, tenant, id)
}

// Acknowledge marks the anomaly acknowledged by `by` (the caller's user id) and records an
// audit event the first time. Acknowledging twice is not an error and keeps the first
// acknowledgement.
func (s *Service) Acknowledge(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, by string) (Anomaly, error) {
	by = strings.TrimSpace(by)
	if by == "" {
		return Anomaly{}, eusaas.E(eusaas.InvalidArgument, "acknowledging needs the caller's identity")
	}
	// Stores keep times to the microsecond (PostgreSQL timestamptz): with a nanosecond
	// `at` the stored acknowledgement never compared equal below, so the first
	// acknowledgement went unaudited on Postgres.
	at := s.clock.Now().UTC().Truncate(time.Microsecond)
	a, err := s.store.Acknowledge(ctx, tenant, id, by, at)
	if err != nil {
		return Anomaly{}, err
	}
	if a.AcknowledgedBy == by && a.AcknowledgedAt != nil && a.AcknowledgedAt.Sub(at).Abs() < time.Microsecond {
		err = s.audit.Record(ctx, eusaas.AuditEvent{
			TenantID: tenant, Actor: eusaas.ActorFrom(ctx), Action: "ANOMALY_ACKNOWLEDGED",
			ResourceType: "anomaly", ResourceID: id.String(),
			Changes: map[string]any{"service": a.Service, "day": a.Day.Format("2006-01-02"), "severity": string(a.Severity)},
			Meta:    eusaas.RequestMetaFrom(ctx),
		})
		if err != nil {
			return Anomaly{}, err
		}
	}
	return a, nil
}
