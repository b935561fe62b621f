package gdpr

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// The Art. 33 breach register. The platform is the tenants' processor: it documents every
// personal data breach (Art. 33(5)), informs each affected controller without undue delay
// (Art. 33(2)) and tracks the 72-hour window in which a controller must notify its
// supervisory authority (Art. 33(1)), counted from detection.

// BreachStatus is where a breach stands.
type BreachStatus string

// Breach statuses: OPEN until the authority notification is recorded.
const (
	BreachOpen     BreachStatus = "OPEN"
	BreachNotified BreachStatus = "NOTIFIED"
)

// BreachWindow is the Art. 33(1) notification window.
const BreachWindow = 72 * time.Hour

// Audit actions of the register (platform chain: a breach may span tenants).
const (
	ActionBreachRecorded = "GDPR_BREACH_RECORDED"
	ActionBreachNotified = "GDPR_BREACH_NOTIFIED"
	resourceBreach       = "gdpr_breach"
)

// ErrBreachNotFound answers an unknown breach id.
var ErrBreachNotFound = eusaas.Sentinel(eusaas.NotFound, "gdpr_breach_not_found", "breach not found")

// Breach is one entry of the register.
type Breach struct {
	ID                string
	Version           int64
	DetectedAt        time.Time
	Description       string
	Categories        []string // categories of personal data concerned
	AffectedTenants   []eusaas.TenantID
	ApproxSubjects    int
	Measures          string
	NotifyAuthorityBy time.Time // DetectedAt + 72 h
	Status            BreachStatus
	NotifiedAt        time.Time
	RecordedAt        time.Time
	RecordedBy        string
}

// Overdue reports whether the authority notification is late at now.
func (b Breach) Overdue(now time.Time) bool {
	return b.Status == BreachOpen && now.After(b.NotifyAuthorityBy)
}

// Clone returns a deep copy.
func (b Breach) Clone() Breach {
	c := b
	c.Categories = slices.Clone(b.Categories)
	c.AffectedTenants = slices.Clone(b.AffectedTenants)
	return c
}

// BreachStore keeps the register (platform-wide, not per tenant).
type BreachStore interface {
	// CreateBreach stores b with Version 1; AlreadyExists on a duplicate id.
	CreateBreach(ctx context.Context, b Breach) error
	// Breach returns one entry; NotFound when absent.
	Breach(ctx context.Context, id string) (Breach, error)
	// UpdateBreach replaces b if the stored Version equals b.Version, then increments it;
	// NotFound when absent, Aborted when stale.
	UpdateBreach(ctx context.Context, b *Breach) error
	// Breaches lists the register, most recently detected first.
	Breaches(ctx context.Context) ([]Breach, error)
	// CountBreachesOverdue counts OPEN breaches whose NotifyAuthorityBy is before now.
	CountBreachesOverdue(ctx context.Context, now time.Time) (int, error)
}

// BreachInput is a new register entry.
type BreachInput struct {
	DetectedAt      time.Time
	Description     string
	Categories      []string
	AffectedTenants []string
	ApproxSubjects  int
	Measures        string
}

func (s *Service) breaches() (BreachStore, error) {
	if s.d.Breaches == nil {
		return nil, eusaas.Sentinel(eusaas.FailedPrecondition, "gdpr_breaches_unavailable", "the breach register is not configured")
	}
	return s.d.Breaches, nil
}

// RecordBreach adds a breach to the register.
func (s *Service) RecordBreach(ctx context.Context, in BreachInput) (Breach, error) {
	store, err := s.breaches()
	if err != nil {
		return Breach{}, err
	}
	now := s.clock.Now()
	var v eusaas.Violations
	if in.DetectedAt.IsZero() || in.DetectedAt.After(now.Add(time.Minute)) {
		v.Add("body.detected_at", "must be a time not in the future")
	}
	if strings.TrimSpace(in.Description) == "" || len(in.Description) > 5000 {
		v.Add("body.description", "must be 1..5000 characters")
	}
	if len(in.Categories) == 0 || len(in.Categories) > 50 {
		v.Add("body.categories", "must name 1..50 categories of personal data")
	}
	for i, c := range in.Categories {
		if strings.TrimSpace(c) == "" || len(c) > 200 {
			v.Add(fmt.Sprintf("body.categories[%d]", i), "must be 1..200 characters")
		}
	}
	if len(in.AffectedTenants) > 10000 {
		v.Add("body.affected_tenants", "at most 10000 tenants")
	}
	var tenants []eusaas.TenantID
	for i, t := range in.AffectedTenants {
		id, err := eusaas.ParseTenantID(t)
		if err != nil {
			v.Add(fmt.Sprintf("body.affected_tenants[%d]", i), "must be a tenant id")
			continue
		}
		if !slices.Contains(tenants, id) {
			tenants = append(tenants, id)
		}
	}
	if in.ApproxSubjects < 0 {
		v.Add("body.approx_subjects", "must not be negative")
	}
	if len(in.Measures) > 5000 {
		v.Add("body.measures", "must be at most 5000 characters")
	}
	if err := v.Err(); err != nil {
		return Breach{}, err
	}
	b := Breach{ID: uuid.Must(uuid.NewV7()).String(), Version: 1, DetectedAt: in.DetectedAt.UTC(), Description: in.Description,
		Categories: in.Categories, AffectedTenants: tenants, ApproxSubjects: in.ApproxSubjects, Measures: in.Measures,
		NotifyAuthorityBy: in.DetectedAt.UTC().Add(BreachWindow), Status: BreachOpen, RecordedAt: now, RecordedBy: actorLabel(eusaas.ActorFrom(ctx))}
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := store.CreateBreach(ctx, b); err != nil {
			return err
		}
		_, err := s.record(ctx, eusaas.AuditEvent{Action: ActionBreachRecorded, ResourceType: resourceBreach, ResourceID: b.ID,
			Changes: map[string]any{"affected_tenants": len(tenants), "approx_subjects": b.ApproxSubjects, "categories": b.Categories}})
		return err
	})
	return b, err
}

// Breach returns one register entry.
func (s *Service) Breach(ctx context.Context, id string) (Breach, error) {
	store, err := s.breaches()
	if err != nil {
		return Breach{}, err
	}
	if _, err := uuid.Parse(id); err != nil {
		return Breach{}, ErrBreachNotFound
	}
	b, err := store.Breach(ctx, id)
	if eusaas.KindOf(err) == eusaas.NotFound {
		return Breach{}, ErrBreachNotFound
	}
	return b, err
}

// Breaches lists the register.
func (s *Service) Breaches(ctx context.Context) ([]Breach, error) {
	store, err := s.breaches()
	if err != nil {
		return nil, err
	}
	return store.Breaches(ctx)
}

// MarkBreachNotified records that the supervisory authority was notified (at, or now).
func (s *Service) MarkBreachNotified(ctx context.Context, id string, at time.Time) (Breach, error) {
	store, err := s.breaches()
	if err != nil {
		return Breach{}, err
	}
	if _, err := uuid.Parse(id); err != nil {
		return Breach{}, ErrBreachNotFound
	}
	now := s.clock.Now()
	if at.IsZero() {
		at = now
	}
	var out Breach
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		b, err := store.Breach(ctx, id)
		if eusaas.KindOf(err) == eusaas.NotFound {
			return ErrBreachNotFound
		}
		if err != nil {
			return err
		}
		var v eusaas.Violations
		if at.Before(b.DetectedAt) || at.After(now.Add(time.Minute)) {
			v.Add("body.notified_at", "must be between detected_at and now")
		}
		if err := v.Err(); err != nil {
			return err
		}
		if b.Status == BreachNotified {
			return eusaas.Sentinel(eusaas.FailedPrecondition, "gdpr_breach_notified", "the notification is recorded already")
		}
		b.Status, b.NotifiedAt = BreachNotified, at.UTC()
		if err := store.UpdateBreach(ctx, &b); err != nil {
			return err
		}
		out = b
		_, err = s.record(ctx, eusaas.AuditEvent{Action: ActionBreachNotified, ResourceType: resourceBreach, ResourceID: b.ID,
			Changes: map[string]any{"notified_at": b.NotifiedAt.Format(time.RFC3339), "late": b.NotifiedAt.After(b.NotifyAuthorityBy)}})
		return err
	})
	return out, err
}

// BreachesOverdue counts OPEN breaches past their 72 hours (for /metrics).
func (s *Service) BreachesOverdue(ctx context.Context) (int, error) {
	if s.d.Breaches == nil {
		return 0, nil
	}
	return s.d.Breaches.CountBreachesOverdue(ctx, s.clock.Now())
}

// ControllerNotice is the Art. 33(2) notice to one affected tenant (the controller).
type ControllerNotice struct {
	TenantID eusaas.TenantID
	Subject  string
	Body     string
}

// ControllerNotices drafts the notice to each affected tenant: what happened, when it was
// detected, the categories and approximate number of subjects, the measures taken, and the
// time by which the controller must notify its supervisory authority (Art. 33(3)).
func (b Breach) ControllerNotices() []ControllerNotice {
	out := make([]ControllerNotice, 0, len(b.AffectedTenants))
	for _, t := range b.AffectedTenants {
		var sb strings.Builder
		fmt.Fprintf(&sb, "Personal data breach notice (GDPR Art. 33(2)) for tenant %s\n\n", t)
		fmt.Fprintf(&sb, "Breach reference: %s\nDetected at: %s\n", b.ID, b.DetectedAt.UTC().Format(time.RFC3339))
		fmt.Fprintf(&sb, "Your notification to the supervisory authority is due by: %s (72 hours after detection, Art. 33(1))\n\n",
			b.NotifyAuthorityBy.UTC().Format(time.RFC3339))
		fmt.Fprintf(&sb, "Nature of the breach:\n%s\n\n", b.Description)
		fmt.Fprintf(&sb, "Categories of personal data concerned: %s\n", strings.Join(b.Categories, ", "))
		fmt.Fprintf(&sb, "Approximate number of data subjects concerned (all affected tenants): %d\n\n", b.ApproxSubjects)
		measures := b.Measures
		if measures == "" {
			measures = "(being determined; a follow-up notice will give them, Art. 33(4))"
		}
		fmt.Fprintf(&sb, "Measures taken or proposed to address the breach and mitigate its effects:\n%s\n", measures)
		out = append(out, ControllerNotice{TenantID: t, Subject: "Personal data breach " + b.ID + ": notice to the controller", Body: sb.String()})
	}
	return out
}
