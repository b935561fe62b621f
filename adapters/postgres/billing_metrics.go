package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas/billing"
)

// billingPriceJSON is a price model as stored in jsonb columns (decimal strings, never JSON
// numbers, so no value passes through a float).
type billingPriceJSON struct {
	Kind      string            `json:"kind"`
	UnitPrice string            `json:"unit_price"`
	Tiers     []billingTierJSON `json:"tiers"`
}

func encodePrice(p billing.PriceModel) billingPriceJSON {
	j := billingPriceJSON{Kind: string(p.Kind), UnitPrice: p.UnitPrice.String(), Tiers: []billingTierJSON{}}
	for _, t := range p.Tiers {
		tj := billingTierJSON{UnitPrice: t.UnitPrice.String()}
		if t.UpTo != nil {
			u := t.UpTo.String()
			tj.UpTo = &u
		}
		j.Tiers = append(j.Tiers, tj)
	}
	return j
}

func (j billingPriceJSON) decode() (billing.PriceModel, error) {
	p := billing.PriceModel{Kind: billing.PriceKind(j.Kind)}
	var err error
	if p.UnitPrice, err = decimal.NewFromString(j.UnitPrice); err != nil {
		return p, err
	}
	for _, t := range j.Tiers {
		var tier billing.Tier
		if tier.UnitPrice, err = decimal.NewFromString(t.UnitPrice); err != nil {
			return p, err
		}
		if t.UpTo != nil {
			u, err := decimal.NewFromString(*t.UpTo)
			if err != nil {
				return p, err
			}
			tier.UpTo = &u
		}
		p.Tiers = append(p.Tiers, tier)
	}
	return p, nil
}

// BillingMetricStore implements billing.MetricStore in the platform schema.
type BillingMetricStore struct{ db *DB }

var _ billing.MetricStore = (*BillingMetricStore)(nil)

// NewBillingMetricStore returns the store.
func NewBillingMetricStore(db *DB) *BillingMetricStore { return &BillingMetricStore{db: db} }

// Metrics implements billing.MetricStore.
func (s *BillingMetricStore) Metrics(ctx context.Context) ([]billing.Metric, error) {
	var out []billing.Metric
	err := s.db.InTx(ctx, func(ctx context.Context) error {
		rows, err := s.db.q(ctx).Query(ctx, `SELECT code, name, unit, aggregation, field, price::text, created_at FROM eusaas.billing_metrics ORDER BY code`)
		if err != nil {
			return err
		}
		var m billing.Metric
		var code, agg string
		var price *string
		_, err = pgx.ForEachRow(rows, []any{&code, &m.Name, &m.Unit, &agg, &m.Field, &price, &m.CreatedAt}, func() error {
			x := m
			x.Code, x.Aggregation, x.CreatedAt = billing.ResourceType(code), billing.Aggregation(agg), m.CreatedAt.UTC()
			if price != nil {
				var j billingPriceJSON
				if err := json.Unmarshal([]byte(*price), &j); err != nil {
					return err
				}
				p, err := j.decode()
				if err != nil {
					return err
				}
				x.Price = &p
			}
			out = append(out, x)
			return nil
		})
		return err
	})
	return out, translate(err)
}

// CreateMetric implements billing.MetricStore.
func (s *BillingMetricStore) CreateMetric(ctx context.Context, m billing.Metric) error {
	var price *string
	if m.Price != nil {
		b, err := json.Marshal(encodePrice(*m.Price))
		if err != nil {
			return err
		}
		p := string(b)
		price = &p
	}
	return s.db.InTx(ctx, func(ctx context.Context) error {
		_, err := s.db.q(ctx).Exec(ctx, `INSERT INTO eusaas.billing_metrics (code, name, unit, aggregation, field, price, created_at)
			VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)`, string(m.Code), m.Name, m.Unit, string(m.Aggregation), m.Field, price, m.CreatedAt)
		return translate(err)
	})
}
