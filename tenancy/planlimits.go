package tenancy

import (
	"context"

	"github.com/eusaas/eusaas"
)

// ApplyPlanLimits gives every ACTIVE or SUSPENDED tenant on plan that plan's current limits,
// as moving to the plan does (Update with PlanCode): an operator who edits a plan's
// entitlements edits them once, for every tenant on it, not tenant by tenant. Each tenant
// changed is updated (and audited) like any PATCH; tenants whose settings already match are
// left alone. It returns how many tenants changed.
func (s *Service) ApplyPlanLimits(ctx context.Context, plan string) (int, error) {
	if s.plans == nil || plan == "" {
		return 0, nil
	}
	lim, err := s.plans.Limits(ctx, plan)
	if err != nil {
		return 0, err
	}
	var sp SettingsPatch
	set := func(dst **int, v int) {
		if v > 0 {
			*dst = &v
		}
	}
	set(&sp.MaxUsers, lim.MaxUsers)
	set(&sp.StorageLimitGB, lim.StorageLimitGB)
	set(&sp.APIRateLimit, lim.APIRateLimit)
	if sp.MaxUsers == nil && sp.StorageLimitGB == nil && sp.APIRateLimit == nil {
		return 0, nil
	}
	var on []Tenant
	for p := 1; ; p++ {
		l, err := s.store.List(ctx, ListFilter{}, eusaas.Page{Page: p, Size: eusaas.MaxPageSize})
		if err != nil {
			return 0, err
		}
		for _, t := range l.Items {
			if t.PlanCode == plan && (t.Status == StatusActive || t.Status == StatusSuspended) {
				on = append(on, t)
			}
		}
		if len(l.Items) < eusaas.MaxPageSize || p*eusaas.MaxPageSize >= l.Total {
			break
		}
	}
	changed := 0
	for _, t := range on {
		saved, err := s.Update(ctx, t.ID, UpdateInput{Settings: &sp})
		if err != nil {
			return changed, err
		}
		if saved.Version != t.Version {
			changed++
		}
	}
	return changed, nil
}
