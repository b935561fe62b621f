package membilling

import (
	"context"
	"maps"
	"sort"
	"sync"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/memtx"
)

// PlanStore implements billing.PlanStore in memory.
type PlanStore struct {
	mu      sync.Mutex
	plans   map[string]billing.Plan
	history map[eusaas.TenantID][]billing.PlanChange
}

var _ billing.PlanStore = (*PlanStore)(nil)

// NewPlanStore returns an empty store.
func NewPlanStore() *PlanStore {
	return &PlanStore{plans: map[string]billing.Plan{}, history: map[eusaas.TenantID][]billing.PlanChange{}}
}

func copyPlan(p billing.Plan) billing.Plan {
	p.Included = maps.Clone(p.Included)
	p.Prices = maps.Clone(p.Prices)
	for r, pm := range p.Prices {
		pm.Tiers = append([]billing.Tier(nil), pm.Tiers...)
		p.Prices[r] = pm
	}
	return p
}

// Plans implements billing.PlanStore.
func (s *PlanStore) Plans(ctx context.Context) ([]billing.Plan, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]billing.Plan, 0, len(s.plans))
	for _, p := range s.plans {
		out = append(out, copyPlan(p))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out, nil
}

// Plan implements billing.PlanStore.
func (s *PlanStore) Plan(ctx context.Context, code string) (billing.Plan, bool, error) {
	if err := ctx.Err(); err != nil {
		return billing.Plan{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.plans[code]
	return copyPlan(p), ok, nil
}

// CreatePlan implements billing.PlanStore.
func (s *PlanStore) CreatePlan(ctx context.Context, p billing.Plan) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.plans[p.Code]; ok {
		return eusaas.E(eusaas.AlreadyExists, "plan exists")
	}
	s.plans[p.Code] = copyPlan(p)
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.plans, p.Code)
	})
	return nil
}

// UpdatePlan implements billing.PlanStore.
func (s *PlanStore) UpdatePlan(ctx context.Context, p billing.Plan) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.plans[p.Code]
	if !ok {
		return billing.ErrPlanNotFound
	}
	s.plans[p.Code] = copyPlan(p)
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.plans[p.Code] = old
	})
	return nil
}

// PlanHistory implements billing.PlanStore.
func (s *PlanStore) PlanHistory(ctx context.Context, tenant eusaas.TenantID) ([]billing.PlanChange, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]billing.PlanChange(nil), s.history[tenant]...), nil
}

// AddPlanChange implements billing.PlanStore.
func (s *PlanStore) AddPlanChange(ctx context.Context, tenant eusaas.TenantID, c billing.PlanChange) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.history[tenant])
	s.history[tenant] = append(s.history[tenant], c)
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.history[tenant] = s.history[tenant][:n]
	})
	return nil
}
