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
	var v eusaas.Violations
	if f.MinImpact != nil && f.MinImpact.IsNegative() {
		v.Add("query.min_impact", "must not be negative")
	}
	if f.From != nil && f.To != nil && f.To.Before(*f.From) {
		v.Add("query.end_date", "must not be before start_date")
	}
	if err := v.Err(); err != nil {
		return eusaas.List[Anomaly]{}, err
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

// AlertSubscriptions returns the tenant's alert subscriptions. Callers showing them must not
// echo Secret (the HTTP layer shows secret_set instead).
func (s *Service) AlertSubscriptions(ctx context.Context, tenant eusaas.TenantID) ([]Subscription, error) {
	return s.store.AlertSubscriptions(ctx, tenant)
}

// SetAlertSubscriptions replaces the tenant's subscriptions and returns them as stored. A
// webhook channel without a secret keeps the secret of the current webhook channel with the
// same URL, so a client can PUT back what it read (secrets are never shown); without such a
// channel the secret is required. Every subscription gets a new id. The change is audited
// without thresholds' secrets: counts and frequencies only.
func (s *Service) SetAlertSubscriptions(ctx context.Context, tenant eusaas.TenantID, subs []Subscription) ([]Subscription, error) {
	current, err := s.store.AlertSubscriptions(ctx, tenant)
	if err != nil {
		return nil, err
	}
	known := map[string]string{}
	for _, c := range current {
		for _, ch := range c.Channels {
			if ch.Type == ChannelWebhook {
				known[ch.URL] = ch.Secret
			}
		}
	}
	subs = CloneSubscriptions(subs)
	for i := range subs {
		if subs[i].Combine == "" {
			subs[i].Combine = CombineOr
		}
		for j, ch := range subs[i].Channels {
			if ch.Type == ChannelWebhook && ch.Secret == "" {
				subs[i].Channels[j].Secret = known[ch.URL]
			}
		}
		subs[i].ID = uuid.Must(uuid.NewV7())
	}
	if err := ValidateSubscriptions(subs); err != nil {
		return nil, err
	}
	if err := s.store.SetAlertSubscriptions(ctx, tenant, subs); err != nil {
		return nil, err
	}
	freq := make([]string, 0, len(subs))
	for _, sub := range subs {
		freq = append(freq, string(sub.Frequency))
	}
	err = s.audit.Record(ctx, eusaas.AuditEvent{
		TenantID: tenant, Actor: eusaas.ActorFrom(ctx), Action: "ANOMALY_ALERTS_UPDATED",
		ResourceType: "anomaly_alerts", ResourceID: tenant.String(),
		Changes: map[string]any{"subscriptions": len(subs), "frequencies": freq},
		Meta:    eusaas.RequestMetaFrom(ctx),
	})
	if err != nil {
		return nil, err
	}
	return subs, nil
}
