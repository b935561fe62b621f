package memanomaly

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/memtx"
)

// Store implements anomaly.Store in memory.
type Store struct {
	mu      sync.RWMutex
	tenants map[eusaas.TenantID]*anomalyTenant
}

type anomalyKey struct {
	service string
	day     time.Time
}

type anomalyTenant struct {
	byID  map[uuid.UUID]*anomaly.Anomaly
	byKey map[anomalyKey]uuid.UUID
	// deleted holds when GDPR retention soft-deleted an anomaly (Postgres: deleted_at). Such
	// an anomaly is invisible to every read but keeps its key until hard deletion.
	deleted map[uuid.UUID]time.Time
	// subs are the tenant's alert subscriptions, in the order set.
	subs []anomaly.Subscription
}

func newAnomalyTenant() *anomalyTenant {
	return &anomalyTenant{byID: map[uuid.UUID]*anomaly.Anomaly{}, byKey: map[anomalyKey]uuid.UUID{},
		deleted: map[uuid.UUID]time.Time{}}
}

// live returns the tenant's anomaly with id; nil when unknown or soft-deleted. t may be nil.
func (t *anomalyTenant) live(id uuid.UUID) *anomaly.Anomaly {
	if t == nil {
		return nil
	}
	if _, gone := t.deleted[id]; gone {
		return nil
	}
	return t.byID[id]
}

var _ anomaly.Store = (*Store)(nil)

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{tenants: map[eusaas.TenantID]*anomalyTenant{}}
}

// anomalyClone deep-copies a so callers never share the store's memory.
func anomalyClone(a anomaly.Anomaly) anomaly.Anomaly {
	a.RootCauses = slices.Clone(a.RootCauses)
	a.Contributions = slices.Clone(a.Contributions)
	for i := range a.Contributions {
		a.Contributions[i].SharePct = clonePtr(a.Contributions[i].SharePct)
	}
	a.DeviationPct = clonePtr(a.DeviationPct)
	a.AcknowledgedAt = clonePtr(a.AcknowledgedAt)
	a.SuppressedBy = clonePtr(a.SuppressedBy)
	a.AlertedSubscriptions = slices.Clone(a.AlertedSubscriptions)
	a.Feedback = clonePtr(a.Feedback)
	a.EndDate = clonePtr(a.EndDate)
	a.MaxDeviationPct = clonePtr(a.MaxDeviationPct)
	return a
}

// clonePtr copies the value p points at (nil stays nil).
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// Insert implements anomaly.Store.
func (s *Store) Insert(ctx context.Context, a anomaly.Anomaly) (anomaly.Anomaly, bool, error) {
	if err := ctx.Err(); err != nil {
		return anomaly.Anomaly{}, false, err
	}
	if err := a.Validate(); err != nil {
		return anomaly.Anomaly{}, false, anomaly.ErrInvalid.Wrap(err)
	}
	a = anomalyClone(a.WithEpisodeDefaults())
	a.Day = a.Day.UTC()
	a.DetectedAt = a.DetectedAt.UTC()
	key := anomalyKey{a.Service, a.Day}
	s.mu.Lock()
	t := s.tenants[a.TenantID]
	if t == nil {
		t = newAnomalyTenant()
		s.tenants[a.TenantID] = t
	}
	if id, ok := t.byKey[key]; ok {
		if _, gone := t.deleted[id]; gone { // not resurrected: see anomaly.Store
			s.mu.Unlock()
			return anomaly.Anomaly{}, false, nil
		}
		out := anomalyClone(*t.byID[id])
		s.mu.Unlock()
		return out, false, nil
	}
	if _, ok := t.byID[a.ID]; ok {
		s.mu.Unlock()
		return anomaly.Anomaly{}, false, eusaas.E(eusaas.AlreadyExists, "anomaly id already used")
	}
	t.byID[a.ID] = &a
	t.byKey[key] = a.ID
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		delete(t.byID, a.ID)
		delete(t.byKey, key)
		s.mu.Unlock()
	})
	return anomalyClone(a), true, nil
}

// Get implements anomaly.Store.
func (s *Store) Get(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (anomaly.Anomaly, error) {
	if err := ctx.Err(); err != nil {
		return anomaly.Anomaly{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if a := s.tenants[tenant].live(id); a != nil {
		return anomalyClone(*a), nil
	}
	return anomaly.Anomaly{}, anomaly.ErrNotFound
}

// List implements anomaly.Store.
func (s *Store) List(ctx context.Context, tenant eusaas.TenantID, f anomaly.Filter, page eusaas.Page) (eusaas.List[anomaly.Anomaly], error) {
	if err := ctx.Err(); err != nil {
		return eusaas.List[anomaly.Anomaly]{}, err
	}
	page, err := page.Normalize()
	if err != nil {
		return eusaas.List[anomaly.Anomaly]{}, err
	}
	s.mu.RLock()
	var match []*anomaly.Anomaly
	if t := s.tenants[tenant]; t != nil {
		for id, a := range t.byID {
			if _, gone := t.deleted[id]; gone {
				continue
			}
			if f.Severity != nil && a.Severity != *f.Severity {
				continue
			}
			if f.Acknowledged != nil && a.Acknowledged != *f.Acknowledged {
				continue
			}
			if f.Status != nil && a.Status != *f.Status {
				continue
			}
			if f.MinImpact != nil && a.Impact.LessThan(*f.MinImpact) {
				continue
			}
			if f.From != nil && a.Day.Before(anomaly.DayOf(*f.From)) || f.To != nil && a.Day.After(anomaly.DayOf(*f.To)) {
				continue
			}
			match = append(match, a)
		}
	}
	sort.Slice(match, func(i, j int) bool {
		a, b := match[i], match[j]
		if !a.Day.Equal(b.Day) {
			return a.Day.After(b.Day)
		}
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return a.ID.String() < b.ID.String()
	})
	out := eusaas.List[anomaly.Anomaly]{Total: len(match)}
	for i := page.Offset(); i < len(match) && i < page.Offset()+page.Size; i++ {
		out.Items = append(out.Items, anomalyClone(*match[i]))
	}
	s.mu.RUnlock()
	return out, nil
}

// Acknowledge implements anomaly.Store.
func (s *Store) Acknowledge(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, by string, at time.Time) (anomaly.Anomaly, error) {
	if err := ctx.Err(); err != nil {
		return anomaly.Anomaly{}, err
	}
	s.mu.Lock()
	a := s.tenants[tenant].live(id)
	if a == nil {
		s.mu.Unlock()
		return anomaly.Anomaly{}, anomaly.ErrNotFound
	}
	if a.Acknowledged {
		out := anomalyClone(*a)
		s.mu.Unlock()
		return out, nil
	}
	at = at.UTC()
	a.Acknowledged, a.AcknowledgedBy, a.AcknowledgedAt = true, by, &at
	out := anomalyClone(*a)
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		a.Acknowledged, a.AcknowledgedBy, a.AcknowledgedAt = false, "", nil
		s.mu.Unlock()
	})
	return out, nil
}

// Acknowledged implements anomaly.Store.
func (s *Store) Acknowledged(ctx context.Context, tenant eusaas.TenantID, service string, from, to time.Time) ([]anomaly.Anomaly, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.tenants[tenant]
	if t == nil {
		return nil, nil
	}
	var out []anomaly.Anomaly
	for d := anomaly.DayOf(from); !d.After(to); d = d.AddDate(0, 0, 1) {
		if id, ok := t.byKey[anomalyKey{service, d}]; ok && t.live(id) != nil && t.byID[id].Acknowledged {
			out = append(out, anomalyClone(*t.byID[id]))
		}
	}
	return out, nil
}

// Series is an in-memory anomaly.SeriesSource (tests, benchmarks, the evaluation
// harness, and embedding without billing). Add at most one row per tenant, day and resource.
type Series struct {
	mu   sync.RWMutex
	rows map[eusaas.TenantID][]anomaly.DailyCost
}

var _ anomaly.SeriesSource = (*Series)(nil)

// NewSeries returns an empty source.
func NewSeries() *Series {
	return &Series{rows: map[eusaas.TenantID][]anomaly.DailyCost{}}
}

// Add appends cost rows of a tenant, kept in day order.
func (s *Series) Add(tenant eusaas.TenantID, rows ...anomaly.DailyCost) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rows {
		r.Day = anomaly.DayOf(r.Day)
		s.rows[tenant] = append(s.rows[tenant], r)
	}
	rs := s.rows[tenant]
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Day.Before(rs[j].Day) })
}

// DailyCosts implements anomaly.SeriesSource.
func (s *Series) DailyCosts(ctx context.Context, tenant eusaas.TenantID, from, to time.Time) ([]anomaly.DailyCost, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	from, to = anomaly.DayOf(from), anomaly.DayOf(to)
	s.mu.RLock()
	defer s.mu.RUnlock()
	rs := s.rows[tenant]
	i := sort.Search(len(rs), func(i int) bool { return !rs[i].Day.Before(from) })
	j := sort.Search(len(rs), func(j int) bool { return rs[j].Day.After(to) })
	if i >= j {
		return nil, nil
	}
	return slices.Clone(rs[i:j]), nil
}

// MarkAlerted implements anomaly.Store.
func (s *Store) MarkAlerted(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, subs []uuid.UUID) (anomaly.Anomaly, error) {
	if err := ctx.Err(); err != nil {
		return anomaly.Anomaly{}, err
	}
	s.mu.Lock()
	a := s.tenants[tenant].live(id)
	if a == nil {
		s.mu.Unlock()
		return anomaly.Anomaly{}, anomaly.ErrNotFound
	}
	wasAlerted, wasSubs := a.Alerted, slices.Clone(a.AlertedSubscriptions)
	a.Alerted = true
	for _, sub := range subs {
		if !slices.Contains(a.AlertedSubscriptions, sub) {
			a.AlertedSubscriptions = append(a.AlertedSubscriptions, sub)
		}
	}
	out := anomalyClone(*a)
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		a.Alerted, a.AlertedSubscriptions = wasAlerted, wasSubs
		s.mu.Unlock()
	})
	return out, nil
}

// AlertSubscriptions implements anomaly.Store.
func (s *Store) AlertSubscriptions(ctx context.Context, tenant eusaas.TenantID) ([]anomaly.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.tenants[tenant]
	if t == nil {
		return []anomaly.Subscription{}, nil
	}
	return anomaly.CloneSubscriptions(t.subs), nil
}

// SetAlertSubscriptions implements anomaly.Store.
func (s *Store) SetAlertSubscriptions(ctx context.Context, tenant eusaas.TenantID, subs []anomaly.Subscription) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := anomaly.ValidateSubscriptions(subs); err != nil {
		return anomaly.ErrInvalid.Wrap(err)
	}
	for _, sub := range subs {
		if sub.ID == uuid.Nil {
			return anomaly.ErrInvalid.Wrap(eusaas.E(eusaas.InvalidArgument, "subscription id is required"))
		}
	}
	subs = anomaly.CloneSubscriptions(subs)
	s.mu.Lock()
	t := s.tenants[tenant]
	if t == nil {
		t = newAnomalyTenant()
		s.tenants[tenant] = t
	}
	old := t.subs
	t.subs = subs
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		t.subs = old
		s.mu.Unlock()
	})
	return nil
}

// SetFeedback implements anomaly.Store.
func (s *Store) SetFeedback(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, fb anomaly.Feedback) (anomaly.Anomaly, error) {
	if err := ctx.Err(); err != nil {
		return anomaly.Anomaly{}, err
	}
	if !fb.Verdict.Valid() {
		return anomaly.Anomaly{}, anomaly.ErrInvalid.Wrap(eusaas.E(eusaas.InvalidArgument, "unknown verdict"))
	}
	fb.At = fb.At.UTC().Truncate(time.Microsecond)
	s.mu.Lock()
	a := s.tenants[tenant].live(id)
	if a == nil {
		s.mu.Unlock()
		return anomaly.Anomaly{}, anomaly.ErrNotFound
	}
	old := a.Feedback
	a.Feedback = &fb
	out := anomalyClone(*a)
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		a.Feedback = old
		s.mu.Unlock()
	})
	return out, nil
}

// Muting implements anomaly.Store.
func (s *Store) Muting(ctx context.Context, tenant eusaas.TenantID, service string, since time.Time) ([]anomaly.Anomaly, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.tenants[tenant]
	if t == nil {
		return nil, nil
	}
	var out []anomaly.Anomaly
	for id, a := range t.byID {
		if t.live(id) == nil || a.Service != service || a.Feedback == nil || !a.Feedback.Verdict.Mutes() || a.Feedback.At.Before(since) {
			continue
		}
		out = append(out, anomalyClone(*a))
	}
	return out, nil
}

// FeedbackCounts implements anomaly.Store.
func (s *Store) FeedbackCounts(ctx context.Context, tenant eusaas.TenantID) (map[anomaly.Verdict]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[anomaly.Verdict]int{}
	t := s.tenants[tenant]
	if t == nil {
		return out, nil
	}
	for id, a := range t.byID {
		if t.live(id) != nil && a.Feedback != nil {
			out[a.Feedback.Verdict]++
		}
	}
	return out, nil
}

// Episodes implements anomaly.Store.
func (s *Store) Episodes(ctx context.Context, tenant eusaas.TenantID, since time.Time) ([]anomaly.Anomaly, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	since = anomaly.DayOf(since)
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.tenants[tenant]
	if t == nil {
		return nil, nil
	}
	var out []anomaly.Anomaly
	for id, a := range t.byID {
		if t.live(id) != nil && (a.Status == anomaly.StatusOpen || !a.LastDay.Before(since)) {
			out = append(out, anomalyClone(*a))
		}
	}
	return out, nil
}

// UpdateEpisode implements anomaly.Store.
func (s *Store) UpdateEpisode(ctx context.Context, a anomaly.Anomaly) (anomaly.Anomaly, error) {
	if err := ctx.Err(); err != nil {
		return anomaly.Anomaly{}, err
	}
	s.mu.Lock()
	cur := s.tenants[a.TenantID].live(a.ID)
	if cur == nil {
		s.mu.Unlock()
		return anomaly.Anomaly{}, anomaly.ErrNotFound
	}
	next := anomalyClone(*cur)
	next.Status, next.LastDay, next.EndDate, next.TotalImpact = a.Status, anomaly.DayOf(a.LastDay), a.EndDate, a.TotalImpact
	next.MaxDeviationPct, next.Severity, next.Description = a.MaxDeviationPct, a.Severity, a.Description
	next.RootCauses = a.RootCauses
	next = anomalyClone(next)
	if err := next.Validate(); err != nil {
		s.mu.Unlock()
		return anomaly.Anomaly{}, anomaly.ErrInvalid.Wrap(err)
	}
	old := *cur
	*cur = next
	out := anomalyClone(next)
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		*cur = old
		s.mu.Unlock()
	})
	return out, nil
}
