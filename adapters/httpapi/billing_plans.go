package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
)

type billingEntitlements struct {
	MaxUsers       int `json:"max_users" minimum:"0" doc:"0: not set by the plan"`
	StorageLimitGB int `json:"storage_limit_gb" minimum:"0" doc:"0: not set by the plan"`
	APIRateLimit   int `json:"api_rate_limit" minimum:"0" doc:"Requests per minute; 0: not set by the plan"`
}

type billingPlan struct {
	Code         string                  `json:"code"`
	Name         string                  `json:"name"`
	MonthlyFee   string                  `json:"monthly_fee" doc:"EUR per month, prorated by day when a tenant changes plan mid-month"`
	Included     map[string]string       `json:"included" doc:"Quantity of each metric included in the fee per month"`
	Prices       map[string]billingPrice `json:"prices" doc:"The plan's price of each metric for usage beyond the included quantity (tenant price overrides still win)"`
	Entitlements billingEntitlements     `json:"entitlements"`
	HardLimits   bool                    `json:"hard_limits" doc:"Storage usage beyond storage_limit_gb is refused (else only reported)"`
	CreatedAt    time.Time               `json:"created_at"`
	UpdatedAt    time.Time               `json:"updated_at"`
}

func billingPlanOut(p billing.Plan) billingPlan {
	out := billingPlan{Code: p.Code, Name: p.Name, MonthlyFee: p.MonthlyFee.StringFixed(2), Included: map[string]string{}, Prices: map[string]billingPrice{},
		Entitlements: billingEntitlements{MaxUsers: p.Entitlements.MaxUsers, StorageLimitGB: p.Entitlements.StorageLimitGB, APIRateLimit: p.Entitlements.APIRateLimit},
		HardLimits:   p.HardLimits, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	for r, q := range p.Included {
		out.Included[string(r)] = q.String()
	}
	for r, m := range p.Prices {
		out.Prices[string(r)] = billingPriceOut(m)
	}
	return out
}

// billingPlanFields are the writable fields; in a PATCH every one is optional and the maps
// replace the stored ones whole.
type billingPlanFields struct {
	Name         *string                 `json:"name,omitempty" minLength:"1" maxLength:"200"`
	MonthlyFee   *string                 `json:"monthly_fee,omitempty" doc:"EUR, at most 2 decimals"`
	Included     map[string]string       `json:"included,omitempty" doc:"metric code -> quantity"`
	Prices       map[string]billingPrice `json:"prices,omitempty" doc:"metric code -> price model"`
	Entitlements *billingEntitlements    `json:"entitlements,omitempty"`
	HardLimits   *bool                   `json:"hard_limits,omitempty"`
}

// apply parses f onto p, reporting every malformed field at once.
func (f billingPlanFields) apply(p *billing.Plan) error {
	var v eusaas.Violations
	if f.Name != nil {
		p.Name = *f.Name
	}
	if f.MonthlyFee != nil {
		d, err := decimal.NewFromString(*f.MonthlyFee)
		if err != nil {
			v.Add("body.monthly_fee", "must be a decimal string")
		}
		p.MonthlyFee = d
	}
	if f.Included != nil {
		p.Included = map[billing.ResourceType]decimal.Decimal{}
		for r, q := range f.Included {
			d, err := billing.ParseQuantity(q)
			if err != nil {
				v.Add("body.included."+r, "must be a non-negative decimal string")
			}
			p.Included[billing.ResourceType(r)] = d
		}
	}
	if f.Prices != nil {
		p.Prices = map[billing.ResourceType]billing.PriceModel{}
		keys := make([]string, 0, len(f.Prices))
		for r := range f.Prices {
			keys = append(keys, r)
		}
		sort.Strings(keys)
		for _, r := range keys {
			m, err := f.Prices[r].parse(fmt.Sprintf("body.prices.%s", r))
			for _, fv := range eusaas.FieldsOf(err) {
				v.Add(fv.Location, fv.Message)
			}
			p.Prices[billing.ResourceType(r)] = m
		}
	}
	if e := f.Entitlements; e != nil {
		p.Entitlements = billing.Entitlements{MaxUsers: e.MaxUsers, StorageLimitGB: e.StorageLimitGB, APIRateLimit: e.APIRateLimit}
	}
	if f.HardLimits != nil {
		p.HardLimits = *f.HardLimits
	}
	return v.Err()
}

type billingPlanCreateInput struct {
	Body struct {
		Code         string                  `json:"code" minLength:"2" maxLength:"64" pattern:"^[a-z0-9]+(-[a-z0-9]+)*$"`
		Name         string                  `json:"name" minLength:"1" maxLength:"200"`
		MonthlyFee   string                  `json:"monthly_fee" doc:"EUR, at most 2 decimals"`
		Included     map[string]string       `json:"included,omitempty" doc:"metric code -> quantity"`
		Prices       map[string]billingPrice `json:"prices,omitempty" doc:"metric code -> price model"`
		Entitlements *billingEntitlements    `json:"entitlements,omitempty"`
		HardLimits   bool                    `json:"hard_limits,omitempty"`
	}
}

type billingPlanPatchInput struct {
	Code string `path:"code"`
	Body billingPlanFields
}

type billingPlanCodeInput struct {
	Code string `path:"code"`
}

type billingPlanOutput struct{ Body billingPlan }

type billingPlansOutput struct {
	Body struct {
		Items []billingPlan `json:"items"`
	}
}

// registerBillingPlans adds the plan catalogue (operators).
func registerBillingPlans(s *Server, svc *billing.Service) {
	tags := []string{"Billing"}
	Register(s, huma.Operation{
		OperationID: "list-plans", Method: http.MethodGet, Path: "/api/v1/billing/plans", Tags: tags,
		Security: BearerAuth, Summary: "Subscription plans (operators)",
	}, func(ctx context.Context, _ *struct{}) (*billingPlansOutput, error) {
		if _, err := s.Operator(ctx); err != nil {
			return nil, err
		}
		ps, err := svc.Plans(ctx)
		if err != nil {
			return nil, err
		}
		out := &billingPlansOutput{}
		out.Body.Items = make([]billingPlan, 0, len(ps))
		for _, p := range ps {
			out.Body.Items = append(out.Body.Items, billingPlanOut(p))
		}
		return out, nil
	})
	Register(s, huma.Operation{
		OperationID: "create-plan", Method: http.MethodPost, Path: "/api/v1/billing/plans", Tags: tags,
		Security: BearerAuth, Summary: "Create a subscription plan (operators)",
		Description: "A tenant is put on a plan with PATCH /tenants/{id} {plan_code}. Its invoice then shows the monthly fee " +
			"(prorated by day in a month with a plan change, one line per plan), the included quantity of each metric and the usage " +
			"beyond it priced at the plan's price. A code already in use is a 409.",
		DefaultStatus: http.StatusCreated,
		Errors:        []int{http.StatusConflict, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *billingPlanCreateInput) (*billingPlanOutput, error) {
		if _, err := s.Operator(ctx); err != nil {
			return nil, err
		}
		b := in.Body
		hard := b.HardLimits
		p := billing.Plan{Code: b.Code}
		if err := (billingPlanFields{Name: &b.Name, MonthlyFee: &b.MonthlyFee, Included: b.Included, Prices: b.Prices,
			Entitlements: b.Entitlements, HardLimits: &hard}).apply(&p); err != nil {
			return nil, err
		}
		p, err := svc.CreatePlan(ctx, p)
		if err != nil {
			return nil, err
		}
		return &billingPlanOutput{Body: billingPlanOut(p)}, nil
	})
	Register(s, huma.Operation{
		OperationID: "get-plan", Method: http.MethodGet, Path: "/api/v1/billing/plans/{code}", Tags: tags,
		Security: BearerAuth, Summary: "One subscription plan (operators)",
	}, func(ctx context.Context, in *billingPlanCodeInput) (*billingPlanOutput, error) {
		if _, err := s.Operator(ctx); err != nil {
			return nil, err
		}
		p, err := svc.Plan(ctx, in.Code)
		if err != nil {
			return nil, err
		}
		return &billingPlanOutput{Body: billingPlanOut(p)}, nil
	})
	Register(s, huma.Operation{
		OperationID: "update-plan", Method: http.MethodPatch, Path: "/api/v1/billing/plans/{code}", Tags: tags,
		Security: BearerAuth, Summary: "Change a subscription plan (operators)",
		Description: "Only the given fields change; included and prices replace the stored maps whole. Invoices drafted from " +
			"then on bill with the changed plan; issued invoices never change. Tenants' limits follow entitlements when a tenant " +
			"is moved to the plan.",
		Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *billingPlanPatchInput) (*billingPlanOutput, error) {
		if _, err := s.Operator(ctx); err != nil {
			return nil, err
		}
		p, err := svc.UpdatePlan(ctx, in.Code, in.Body.apply)
		if err != nil {
			return nil, err
		}
		return &billingPlanOutput{Body: billingPlanOut(p)}, nil
	})
}
