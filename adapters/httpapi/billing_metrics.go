package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/eusaas/eusaas/billing"
)

// billingPrice is a price model on the wire (metrics, plans), as the price routes take it.
type billingPrice struct {
	Model     string             `json:"model" enum:"per_unit,graduated,volume"`
	UnitPrice string             `json:"unit_price,omitempty" doc:"EUR per unit (per_unit)"`
	Tiers     []billingPriceTier `json:"tiers,omitempty" maxItems:"32"`
}

func billingPriceOut(p billing.PriceModel) billingPrice {
	out := billingPrice{Model: string(p.Kind)}
	if p.Kind == billing.PriceModelPerUnit {
		out.UnitPrice = p.UnitPrice.String()
	}
	for _, t := range p.Tiers {
		bt := billingPriceTier{UnitPrice: t.UnitPrice.String()}
		if t.UpTo != nil {
			u := t.UpTo.String()
			bt.UpTo = &u
		}
		out.Tiers = append(out.Tiers, bt)
	}
	return out
}

func (p billingPrice) parse(loc string) (billing.PriceModel, error) {
	return billingParsePriceAt(loc, p.Model, p.UnitPrice, p.Tiers)
}

type billingMetric struct {
	Code        string        `json:"code" doc:"The resource_type usage events carry"`
	Name        string        `json:"name"`
	Unit        string        `json:"unit"`
	Aggregation string        `json:"aggregation" enum:"SUM,MAX,COUNT,UNIQUE_COUNT,LATEST"`
	Field       string        `json:"field,omitempty" doc:"The attribute holding the value (SUM, MAX, LATEST) or whose distinct values are counted (UNIQUE_COUNT); without it the event's quantity is the value"`
	Price       *billingPrice `json:"price,omitempty" doc:"Default price; tenant overrides and plan prices replace it"`
	BuiltIn     bool          `json:"built_in"`
	CreatedAt   *time.Time    `json:"created_at,omitempty"`
}

func billingMetricOut(m billing.Metric) billingMetric {
	out := billingMetric{Code: string(m.Code), Name: m.Name, Unit: m.Unit, Aggregation: string(m.Aggregation), Field: m.Field, BuiltIn: m.BuiltIn}
	if m.Price != nil {
		p := billingPriceOut(*m.Price)
		out.Price = &p
	}
	if !m.CreatedAt.IsZero() {
		t := m.CreatedAt
		out.CreatedAt = &t
	}
	return out
}

type billingMetricsOutput struct {
	Body struct {
		Items []billingMetric `json:"items"`
	}
}

type billingMetricInput struct {
	Body struct {
		Code        string        `json:"code" pattern:"^[A-Z][A-Z0-9_]{1,63}$" doc:"Upper-case identifier; events with this resource_type are metered under the metric"`
		Name        string        `json:"name" minLength:"1" maxLength:"200"`
		Unit        string        `json:"unit" minLength:"1" maxLength:"64"`
		Aggregation string        `json:"aggregation" enum:"SUM,MAX,COUNT,UNIQUE_COUNT,LATEST"`
		Field       string        `json:"field,omitempty" maxLength:"256"`
		Price       *billingPrice `json:"price,omitempty"`
	}
}

type billingMetricOutput struct{ Body billingMetric }

// registerBillingMetrics adds the metric catalogue (operators).
func registerBillingMetrics(s *Server, svc *billing.Service) {
	tags := []string{"Billing"}
	Register(s, huma.Operation{
		OperationID: "list-metrics", Method: http.MethodGet, Path: "/api/v1/billing/metrics", Tags: tags,
		Security: BearerAuth, Summary: "Billable metrics: the five built-in resources and the custom metrics (operators)",
	}, func(ctx context.Context, _ *struct{}) (*billingMetricsOutput, error) {
		if _, err := s.Operator(ctx); err != nil {
			return nil, err
		}
		ms, err := svc.Metrics(ctx)
		if err != nil {
			return nil, err
		}
		out := &billingMetricsOutput{}
		out.Body.Items = make([]billingMetric, 0, len(ms))
		for _, m := range ms {
			out.Body.Items = append(out.Body.Items, billingMetricOut(m))
		}
		return out, nil
	})
	Register(s, huma.Operation{
		OperationID: "create-metric", Method: http.MethodPost, Path: "/api/v1/billing/metrics", Tags: tags,
		Security: BearerAuth, Summary: "Create a custom billable metric (operators)",
		Description: "SUM adds the values (the quantity, or attribute `field`), MAX bills the month's largest value, COUNT the " +
			"number of events, UNIQUE_COUNT the number of distinct values of attribute `field`, LATEST the value of the month's " +
			"latest event. A code already in use is a 409.",
		DefaultStatus: http.StatusCreated,
		Errors:        []int{http.StatusConflict, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *billingMetricInput) (*billingMetricOutput, error) {
		if _, err := s.Operator(ctx); err != nil {
			return nil, err
		}
		m := billing.Metric{Code: billing.ResourceType(in.Body.Code), Name: in.Body.Name, Unit: in.Body.Unit,
			Aggregation: billing.Aggregation(in.Body.Aggregation), Field: in.Body.Field}
		if in.Body.Price != nil {
			p, err := in.Body.Price.parse("body.price")
			if err != nil {
				return nil, err
			}
			m.Price = &p
		}
		m, err := svc.CreateMetric(ctx, m)
		if err != nil {
			return nil, err
		}
		return &billingMetricOutput{Body: billingMetricOut(m)}, nil
	})
}
