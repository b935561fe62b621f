package postgres

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
)

// BillingPlanStore implements billing.PlanStore in the platform schema.
type BillingPlanStore struct{ db *DB }

var _ billing.PlanStore = (*BillingPlanStore)(nil)

// NewBillingPlanStore returns the store.
func NewBillingPlanStore(db *DB) *BillingPlanStore { return &BillingPlanStore{db: db} }

const billingPlanColumns = `code, name, monthly_fee::text, included::text, prices::text, max_users, storage_limit_gb, api_rate_limit, hard_limits, created_at, updated_at`

func scanPlan(row pgx.Row) (billing.Plan, error) {
	var p billing.Plan
	var fee, included, prices string
	if err := row.Scan(&p.Code, &p.Name, &fee, &included, &prices, &p.Entitlements.MaxUsers, &p.Entitlements.StorageLimitGB,
		&p.Entitlements.APIRateLimit, &p.HardLimits, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return p, err
	}
	var err error
	if p.MonthlyFee, err = decimal.NewFromString(fee); err != nil {
		return p, err
	}
	var inc map[string]string
	if err := json.Unmarshal([]byte(included), &inc); err != nil {
		return p, err
	}
	p.Included = map[billing.ResourceType]decimal.Decimal{}
	for r, q := range inc {
		if p.Included[billing.ResourceType(r)], err = decimal.NewFromString(q); err != nil {
			return p, err
		}
	}
	var pr map[string]billingPriceJSON
	if err := json.Unmarshal([]byte(prices), &pr); err != nil {
		return p, err
	}
	p.Prices = map[billing.ResourceType]billing.PriceModel{}
	for r, j := range pr {
		if p.Prices[billing.ResourceType(r)], err = j.decode(); err != nil {
			return p, err
		}
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, nil
}

func planJSON(p billing.Plan) (included, prices string, err error) {
	inc := map[string]string{}
	for r, q := range p.Included {
		inc[string(r)] = q.String()
	}
	pr := map[string]billingPriceJSON{}
	for r, m := range p.Prices {
		pr[string(r)] = encodePrice(m)
	}
	a, err := json.Marshal(inc)
	if err != nil {
		return "", "", err
	}
	b, err := json.Marshal(pr)
	return string(a), string(b), err
}

// Plans implements billing.PlanStore.
func (s *BillingPlanStore) Plans(ctx context.Context) ([]billing.Plan, error) {
	var out []billing.Plan
	err := s.db.InTx(ctx, func(ctx context.Context) error {
		rows, err := s.db.q(ctx).Query(ctx, `SELECT `+billingPlanColumns+` FROM eusaas.billing_plans ORDER BY code`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p, err := scanPlan(rows)
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		return rows.Err()
	})
	return out, translate(err)
}

// Plan implements billing.PlanStore.
func (s *BillingPlanStore) Plan(ctx context.Context, code string) (billing.Plan, bool, error) {
	p, err := scanPlan(s.db.q(ctx).QueryRow(ctx, `SELECT `+billingPlanColumns+` FROM eusaas.billing_plans WHERE code = $1`, code))
	if errors.Is(err, pgx.ErrNoRows) {
		return billing.Plan{}, false, nil
	}
	if err != nil {
		return billing.Plan{}, false, translate(err)
	}
	return p, true, nil
}

// CreatePlan implements billing.PlanStore.
func (s *BillingPlanStore) CreatePlan(ctx context.Context, p billing.Plan) error {
	inc, pr, err := planJSON(p)
	if err != nil {
		return err
	}
	_, err = s.db.q(ctx).Exec(ctx, `INSERT INTO eusaas.billing_plans (code, name, monthly_fee, included, prices, max_users, storage_limit_gb,
		api_rate_limit, hard_limits, created_at, updated_at) VALUES ($1, $2, $3::numeric, $4::jsonb, $5::jsonb, $6, $7, $8, $9, $10, $11)`,
		p.Code, p.Name, p.MonthlyFee.String(), inc, pr, p.Entitlements.MaxUsers, p.Entitlements.StorageLimitGB, p.Entitlements.APIRateLimit,
		p.HardLimits, p.CreatedAt, p.UpdatedAt)
	return translate(err)
}

// UpdatePlan implements billing.PlanStore.
func (s *BillingPlanStore) UpdatePlan(ctx context.Context, p billing.Plan) error {
	inc, pr, err := planJSON(p)
	if err != nil {
		return err
	}
	tag, err := s.db.q(ctx).Exec(ctx, `UPDATE eusaas.billing_plans SET name = $2, monthly_fee = $3::numeric, included = $4::jsonb, prices = $5::jsonb,
		max_users = $6, storage_limit_gb = $7, api_rate_limit = $8, hard_limits = $9, updated_at = $10 WHERE code = $1`,
		p.Code, p.Name, p.MonthlyFee.String(), inc, pr, p.Entitlements.MaxUsers, p.Entitlements.StorageLimitGB, p.Entitlements.APIRateLimit,
		p.HardLimits, p.UpdatedAt)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return billing.ErrPlanNotFound
	}
	return nil
}

// PlanHistory implements billing.PlanStore.
func (s *BillingPlanStore) PlanHistory(ctx context.Context, tenant eusaas.TenantID) ([]billing.PlanChange, error) {
	rows, err := s.db.q(ctx).Query(ctx, `SELECT plan_code, effective_at FROM eusaas.billing_tenant_plans WHERE tenant_id = $1 ORDER BY seq`, tenant.UUID())
	if err != nil {
		return nil, translate(err)
	}
	var out []billing.PlanChange
	var c billing.PlanChange
	_, err = pgx.ForEachRow(rows, []any{&c.Plan, &c.At}, func() error {
		out = append(out, billing.PlanChange{Plan: c.Plan, At: c.At.UTC()})
		return nil
	})
	return out, translate(err)
}

// AddPlanChange implements billing.PlanStore.
func (s *BillingPlanStore) AddPlanChange(ctx context.Context, tenant eusaas.TenantID, c billing.PlanChange) error {
	_, err := s.db.q(ctx).Exec(ctx, `INSERT INTO eusaas.billing_tenant_plans (tenant_id, plan_code, effective_at) VALUES ($1, $2, $3)`,
		tenant.UUID(), c.Plan, c.At)
	return translate(err)
}
