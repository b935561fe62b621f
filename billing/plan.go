package billing

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
)

// Entitlements are what a plan gives a tenant beyond metered usage; they become the tenant's
// limits when it moves to the plan. Zero means "not set by the plan" (the tenant keeps its
// own setting).
type Entitlements struct {
	MaxUsers       int
	StorageLimitGB int
	APIRateLimit   int // requests per minute
}

// Plan is a subscription plan (issue 13 item 6): a monthly fee, quantities of metrics
// included in it, its prices for usage beyond them, and entitlements.
type Plan struct {
	Code         string
	Name         string
	MonthlyFee   decimal.Decimal
	Included     map[ResourceType]decimal.Decimal
	Prices       map[ResourceType]PriceModel
	Entitlements Entitlements
	// HardLimits: the entitlements are enforced by refusing usage over them (storage),
	// not only reported.
	HardLimits bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// PlanChange is a tenant moving to a plan at a time (its plan history).
type PlanChange struct {
	Plan string
	At   time.Time
}

// PlanStore keeps the plans (platform-wide) and each tenant's plan history.
type PlanStore interface {
	// Plans returns every plan, ordered by code.
	Plans(ctx context.Context) ([]Plan, error)
	// Plan returns one plan (ok=false when there is none).
	Plan(ctx context.Context, code string) (Plan, bool, error)
	// CreatePlan stores a new plan; AlreadyExists when the code is taken.
	CreatePlan(ctx context.Context, p Plan) error
	// UpdatePlan replaces a stored plan; NotFound when there is none.
	UpdatePlan(ctx context.Context, p Plan) error
	// PlanHistory returns the tenant's plan changes, oldest first.
	PlanHistory(ctx context.Context, tenant eusaas.TenantID) ([]PlanChange, error)
	// AddPlanChange appends to the tenant's history (in the ctx transaction).
	AddPlanChange(ctx context.Context, tenant eusaas.TenantID, c PlanChange) error
}

// Plan errors.
var (
	ErrPlanNotFound = eusaas.Sentinel(eusaas.NotFound, "plan_not_found", "plan not found")
	ErrPlanExists   = eusaas.Sentinel(eusaas.AlreadyExists, "plan_exists", "a plan with this code exists")
	ErrUnknownPlan  = eusaas.Sentinel(eusaas.InvalidArgument, "unknown_plan", "no such plan")
	ErrNoPlanStore  = eusaas.Sentinel(eusaas.FailedPrecondition, "plans_not_configured", "plans are not configured on this server")
)

// errPlanFieldsLoc is where plan fields are reported (the request body of the plan routes).
const errPlanFieldsLoc = "body"

var planCode = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func (s *Service) needPlans() error {
	if s.plans == nil {
		return ErrNoPlanStore
	}
	return nil
}

// validatePlan checks p against the metric catalogue.
func (s *Service) validatePlan(ctx context.Context, p Plan) error {
	var v eusaas.Violations
	if len(p.Code) < 2 || len(p.Code) > 64 || !planCode.MatchString(p.Code) {
		v.Add(errPlanFieldsLoc+".code", "must be 2..64 characters of ^[a-z0-9]+(-[a-z0-9]+)*$")
	}
	checkText(&v, errPlanFieldsLoc+".name", p.Name, true)
	if p.MonthlyFee.IsNegative() || p.MonthlyFee.Exponent() < -2 || p.MonthlyFee.GreaterThan(decimal.New(1, 9)) {
		v.Add(errPlanFieldsLoc+".monthly_fee", "must be a non-negative amount with at most 2 decimals")
	}
	ms, err := s.metricBook(ctx)
	if err != nil {
		return err
	}
	for r, q := range p.Included {
		if _, ok := ms[r]; !ok {
			v.Add(fmt.Sprintf("%s.included.%s", errPlanFieldsLoc, r), "unknown metric")
		} else if q.IsNegative() || q.GreaterThan(maxQuantity) {
			v.Add(fmt.Sprintf("%s.included.%s", errPlanFieldsLoc, r), "must be a non-negative quantity")
		}
	}
	for r, pm := range p.Prices {
		if _, ok := ms[r]; !ok {
			v.Add(fmt.Sprintf("%s.prices.%s", errPlanFieldsLoc, r), "unknown metric")
			continue
		}
		for _, f := range eusaas.FieldsOf(pm.Validate(fmt.Sprintf("%s.prices.%s", errPlanFieldsLoc, r))) {
			v.Add(f.Location, f.Message)
		}
	}
	e := p.Entitlements
	if e.MaxUsers < 0 || e.StorageLimitGB < 0 || e.APIRateLimit < 0 {
		v.Add(errPlanFieldsLoc+".entitlements", "limits must not be negative (0: not set by the plan)")
	}
	return v.Err()
}

// Plans lists the plans.
func (s *Service) Plans(ctx context.Context) ([]Plan, error) {
	if err := s.needPlans(); err != nil {
		return nil, err
	}
	return s.plans.Plans(ctx)
}

// Plan returns one plan; ErrPlanNotFound when there is none.
func (s *Service) Plan(ctx context.Context, code string) (Plan, error) {
	if err := s.needPlans(); err != nil {
		return Plan{}, err
	}
	p, ok, err := s.plans.Plan(ctx, code)
	if err == nil && !ok {
		err = ErrPlanNotFound.Withf("no plan %q", code)
	}
	return p, err
}

// CreatePlan validates and stores a new plan.
func (s *Service) CreatePlan(ctx context.Context, p Plan) (Plan, error) {
	if err := s.needPlans(); err != nil {
		return Plan{}, err
	}
	if err := s.validatePlan(ctx, p); err != nil {
		return Plan{}, err
	}
	now := s.o.Clock.Now().UTC()
	p.CreatedAt, p.UpdatedAt = now, now
	if err := s.plans.CreatePlan(ctx, p); err != nil {
		if eusaas.KindOf(err) == eusaas.AlreadyExists {
			return Plan{}, ErrPlanExists.Withf("plan %s exists", p.Code)
		}
		return Plan{}, err
	}
	return p, nil
}

// UpdatePlan applies change to the stored plan and stores the result when it validates.
// Invoices drafted from then on use the changed plan for the months they bill (issued
// invoices never change); tenants' limits are set from entitlements when they move to it,
// and again when a change of entitlements commits (Options.EntitlementsChanged).
// A change that fails (a transport's parse error) stores nothing.
func (s *Service) UpdatePlan(ctx context.Context, code string, change func(*Plan) error) (Plan, error) {
	var out Plan
	entitlements := false
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.Plan(ctx, code)
		if err != nil {
			return err
		}
		before := p.Entitlements
		if err := change(&p); err != nil {
			return err
		}
		p.Code = code
		if err := s.validatePlan(ctx, p); err != nil {
			return err
		}
		p.UpdatedAt = s.o.Clock.Now().UTC()
		out = p
		entitlements = p.Entitlements != before
		return s.plans.UpdatePlan(ctx, p)
	})
	if err == nil && entitlements && s.o.EntitlementsChanged != nil {
		err = s.o.EntitlementsChanged(ctx, code)
	}
	return out, err
}

// PlanEntitlements returns the plan's entitlements, or ErrUnknownPlan (a 4xx: the caller
// named a plan that does not exist). Tenancy calls it before it changes anything.
func (s *Service) PlanEntitlements(ctx context.Context, code string) (Entitlements, error) {
	if err := s.needPlans(); err != nil {
		return Entitlements{}, err
	}
	p, ok, err := s.plans.Plan(ctx, code)
	if err != nil {
		return Entitlements{}, err
	}
	if !ok {
		return Entitlements{}, ErrUnknownPlan.Withf("no plan %q (GET /billing/plans)", code)
	}
	return p.Entitlements, nil
}

// ChangePlan records that the tenant moves to plan code now. Invoices prorate the months of
// a change by day: the day of the change is the new plan's.
func (s *Service) ChangePlan(ctx context.Context, tenant eusaas.TenantID, code string) error {
	if _, err := s.PlanEntitlements(ctx, code); err != nil {
		return err
	}
	return s.plans.AddPlanChange(ctx, tenant, PlanChange{Plan: code, At: s.o.Clock.Now().UTC()})
}

// CurrentPlan returns the plan the tenant is on ("" when none).
func (s *Service) CurrentPlan(ctx context.Context, tenant eusaas.TenantID) (string, error) {
	if s.plans == nil {
		return "", nil
	}
	h, err := s.plans.PlanHistory(ctx, tenant)
	if err != nil || len(h) == 0 {
		return "", err
	}
	return h[len(h)-1].Plan, nil
}

// planSegment is a run of days of a month on one plan.
type planSegment struct {
	plan        Plan
	from, to    time.Time // days, inclusive
	days, month int
}

// planSegments splits the month starting ps by the tenant's plan history (days before the
// first change are on no plan and have no segment).
func (s *Service) planSegments(ctx context.Context, tenant eusaas.TenantID, ps time.Time) ([]planSegment, error) {
	if s.plans == nil {
		return nil, nil
	}
	h, err := s.plans.PlanHistory(ctx, tenant)
	if err != nil || len(h) == 0 {
		return nil, err
	}
	sort.SliceStable(h, func(i, j int) bool { return h[i].At.Before(h[j].At) })
	pe := MonthEnd(ps)
	n := pe.Day()
	// The plan of each day: the last change made on or before that day.
	byDay := make([]string, n)
	for d := 0; d < n; d++ {
		day := ps.AddDate(0, 0, d)
		for _, c := range h {
			if !Day(c.At).After(day) {
				byDay[d] = c.Plan
			}
		}
	}
	var out []planSegment
	cache := map[string]Plan{}
	for d := 0; d < n; {
		code := byDay[d]
		e := d
		for e+1 < n && byDay[e+1] == code {
			e++
		}
		if code != "" {
			p, ok := cache[code]
			if !ok {
				var found bool
				if p, found, err = s.plans.Plan(ctx, code); err != nil {
					return nil, err
				} else if !found {
					return nil, eusaas.Errorf(eusaas.FailedPrecondition, "the tenant's plan %q no longer exists", code)
				}
				cache[code] = p
			}
			out = append(out, planSegment{plan: p, from: ps.AddDate(0, 0, d), to: ps.AddDate(0, 0, e), days: e - d + 1, month: n})
		}
		d = e + 1
	}
	return out, nil
}

// planTerms are what plans make of a month: fee lines, the included quantity per metric
// (each plan's inclusion prorated by its days) and the prices of the plan in force on the
// month's last planned day.
type planTerms struct {
	fees     []InvoiceLine
	included map[ResourceType]decimal.Decimal
	prices   map[ResourceType]PriceModel
	plan     string
}

func (s *Service) monthPlanTerms(ctx context.Context, tenant eusaas.TenantID, ps time.Time) (*planTerms, error) {
	segs, err := s.planSegments(ctx, tenant, ps)
	if err != nil || len(segs) == 0 {
		return nil, err
	}
	t := &planTerms{included: map[ResourceType]decimal.Decimal{}}
	incl := map[ResourceType]decimal.Decimal{} // sum of included x days, divided once
	for _, sg := range segs {
		n, days := decimal.NewFromInt(int64(sg.month)), decimal.NewFromInt(int64(sg.days))
		fee := roundMoney(sg.plan.MonthlyFee.Mul(days).Div(n))
		desc := fmt.Sprintf("Plan %s (%s) monthly fee", sg.plan.Name, sg.plan.Code)
		if sg.days != sg.month {
			desc += fmt.Sprintf(", %s to %s (%d of %d days)", sg.from.Format("2006-01-02"), sg.to.Format("2006-01-02"), sg.days, sg.month)
		}
		t.fees = append(t.fees, InvoiceLine{Resource: PlanFee, Plan: sg.plan.Code, Description: desc, Unit: "day",
			Quantity: days, Amount: fee, UsageMonth: ps})
		for r, q := range sg.plan.Included {
			incl[r] = incl[r].Add(q.Mul(days))
		}
		t.prices, t.plan = sg.plan.Prices, sg.plan.Code
	}
	n := decimal.NewFromInt(int64(segs[0].month))
	for r, q := range incl {
		t.included[r] = q.DivRound(n, 6)
	}
	return t, nil
}

// StorageLimitSource is an optional interface of Deps.Thresholds: the tenant's
// storage_limit_gb (0: none). The wiring adapts tenancy's settings, which a plan's
// entitlements set.
type StorageLimitSource interface {
	StorageLimitGB(ctx context.Context, tenant eusaas.TenantID) (int, error)
}

// UsageLocker is an optional interface of a UsageStore: LockMonths locks the running
// quantities of the given (month, resource) pairs until the caller's transaction ends, so a
// check made on the usage of those months holds when the batch records. A store whose
// transactions are serialised anyway (the memory adapter's) needs none.
type UsageLocker interface {
	LockMonths(ctx context.Context, tenant eusaas.TenantID, months []time.Time, resource ResourceType) error
}

// checkStorage applies the storage limit to the batch's STORAGE events (GB-days: a day's
// total is the GB stored that day). An event that would take its day beyond the limit is
// refused when the tenant's plan has hard_limits, else accepted with a warning. It runs in
// the recording transaction, after the months' STORAGE totals are locked (UsageLocker), so
// concurrent batches check one after the other and never pass the limit together.
func (s *Service) checkStorage(ctx context.Context, tenant eusaas.TenantID, res *IngestResult, valid []UsageEvent, idx []int) ([]UsageEvent, []int, error) {
	src, ok := s.thresholds.(StorageLimitSource)
	if !ok {
		return valid, idx, nil
	}
	var months []time.Time
	for j, e := range valid {
		if e.ResourceType == Storage {
			r := &res.Results[idx[j]] // this attempt's verdict (a retried transaction checks anew)
			r.Status, r.Reason, r.Warning = "", "", ""
			if m := MonthStart(e.Timestamp); !slices.ContainsFunc(months, m.Equal) {
				months = append(months, m)
			}
		}
	}
	if len(months) == 0 {
		return valid, idx, nil
	}
	limit, err := src.StorageLimitGB(ctx, tenant)
	if err != nil || limit <= 0 {
		return valid, idx, err
	}
	hard := false
	if code, err := s.CurrentPlan(ctx, tenant); err != nil {
		return nil, nil, err
	} else if code != "" {
		p, ok, err := s.plans.Plan(ctx, code)
		if err != nil {
			return nil, nil, err
		}
		hard = ok && p.HardLimits
	}
	if l, ok := s.usage.(UsageLocker); ok {
		slices.SortFunc(months, time.Time.Compare)
		if err := l.LockMonths(ctx, tenant, months, Storage); err != nil {
			return nil, nil, err
		}
	}
	lim := decimal.NewFromInt(int64(limit))
	used := map[time.Time]decimal.Decimal{}
	keptV, keptI := valid[:0:0], idx[:0:0]
	for j, e := range valid {
		if e.ResourceType != Storage {
			keptV, keptI = append(keptV, e), append(keptI, idx[j])
			continue
		}
		day := Day(e.Timestamp)
		u, seen := used[day]
		if !seen {
			bs, err := s.usage.Buckets(ctx, tenant, day, day)
			if err != nil {
				return nil, nil, err
			}
			for _, b := range bs {
				if b.Resource == Storage {
					u = u.Add(b.Quantity)
				}
			}
		}
		msg := fmt.Sprintf("storage on %s would be %s GB, over the limit of %d GB", day.Format("2006-01-02"), u.Add(e.Quantity).String(), limit)
		if u.Add(e.Quantity).GreaterThan(lim) {
			if hard {
				res.Results[idx[j]].Status, res.Results[idx[j]].Reason = Rejected, "storage_limit_exceeded: "+msg+" (the plan's hard limit)"
				used[day] = u
				continue
			}
			res.Results[idx[j]].Warning = "storage_limit_exceeded: " + msg
		}
		used[day] = u.Add(e.Quantity)
		keptV, keptI = append(keptV, e), append(keptI, idx[j])
	}
	return keptV, keptI, nil
}
