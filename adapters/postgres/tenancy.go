package postgres

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/tenancy"
)

// TenantStore is the tenant registry in eusaas.tenants.
type TenantStore struct {
	db *DB
}

// NewTenantStore returns the registry on db (platform migrations applied).
func NewTenantStore(db *DB) *TenantStore { return &TenantStore{db: db} }

var (
	_ tenancy.Store       = (*TenantStore)(nil)
	_ tenancy.Provisioner = (*TenantSchemas)(nil)
)

const tenancyColumns = `id, name, slug, status, tier, schema_name, data_residency_region, admin_email, metadata,
	max_users, storage_limit_gb, api_rate_limit, data_retention_days, cost_alert_threshold::text,
	anomaly_min_impact::text, allow_self_registration, status_reason, version, created_at, updated_at, deleted_at,
	require_email_verification, mfa_required, plan_code`

func tenancyScan(row pgx.Row) (tenancy.Tenant, error) {
	var t tenancy.Tenant
	var id uuid.UUID
	var threshold, minImpact string
	err := row.Scan(&id, &t.Name, &t.Slug, &t.Status, &t.Tier, &t.SchemaName, &t.Region, &t.AdminEmail, &t.Metadata,
		&t.Settings.MaxUsers, &t.Settings.StorageLimitGB, &t.Settings.APIRateLimit, &t.Settings.DataRetentionDays, &threshold,
		&minImpact, &t.Settings.AllowSelfRegistration, &t.StatusReason, &t.Version, &t.CreatedAt, &t.UpdatedAt, &t.DeletedAt,
		&t.Settings.RequireEmailVerification, &t.Settings.MFARequired, &t.PlanCode)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return tenancy.Tenant{}, tenancy.ErrNotFound
		}
		return tenancy.Tenant{}, translate(err)
	}
	t.ID = eusaas.TenantID(id)
	if t.Settings.CostAlertThreshold, err = decimal.NewFromString(threshold); err != nil {
		return tenancy.Tenant{}, err
	}
	if t.Settings.AnomalyMinImpact, err = decimal.NewFromString(minImpact); err != nil {
		return tenancy.Tenant{}, err
	}
	if t.Metadata == nil {
		t.Metadata = map[string]string{}
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	if t.DeletedAt != nil {
		d := t.DeletedAt.UTC()
		t.DeletedAt = &d
	}
	return t, nil
}

// tenancyWriteErr maps unique violations to the registry's errors by constraint name (a
// structured field of the error, not its text).
func tenancyWriteErr(err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23505" {
		if pg.ConstraintName == "tenants_live_slug" {
			return tenancy.ErrSlugTaken.Wrap(err)
		}
		return eusaas.E(eusaas.AlreadyExists, "tenant already exists").Wrap(err)
	}
	return translate(err)
}

func tenancyMetadata(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// Create implements tenancy.Store.
func (s *TenantStore) Create(ctx context.Context, t tenancy.Tenant) error {
	_, err := s.db.q(ctx).Exec(ctx, `INSERT INTO eusaas.tenants (id, name, slug, status, tier, schema_name, data_residency_region, admin_email,
		metadata, max_users, storage_limit_gb, api_rate_limit, data_retention_days, cost_alert_threshold,
		allow_self_registration, status_reason, version, created_at, updated_at, deleted_at, anomaly_min_impact, require_email_verification, mfa_required, plan_code)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::numeric, $15, $16, $17, $18, $19, $20, $21::numeric, $22, $23, $24)`,
		t.ID.UUID(), t.Name, t.Slug, t.Status, t.Tier, t.SchemaName, t.Region, t.AdminEmail, tenancyMetadata(t.Metadata),
		t.Settings.MaxUsers, t.Settings.StorageLimitGB, t.Settings.APIRateLimit, t.Settings.DataRetentionDays,
		t.Settings.CostAlertThreshold.String(), t.Settings.AllowSelfRegistration, t.StatusReason, t.Version,
		t.CreatedAt, t.UpdatedAt, t.DeletedAt, t.Settings.AnomalyMinImpact.String(), t.Settings.RequireEmailVerification, t.Settings.MFARequired, t.PlanCode)
	return tenancyWriteErr(err)
}

// Get implements tenancy.Store.
func (s *TenantStore) Get(ctx context.Context, id eusaas.TenantID) (tenancy.Tenant, error) {
	return tenancyScan(s.db.q(ctx).QueryRow(ctx, "SELECT "+tenancyColumns+" FROM eusaas.tenants WHERE id = $1", id.UUID()))
}

// GetBySlug implements tenancy.Store.
func (s *TenantStore) GetBySlug(ctx context.Context, slug string) (tenancy.Tenant, error) {
	return tenancyScan(s.db.q(ctx).QueryRow(ctx, "SELECT "+tenancyColumns+" FROM eusaas.tenants WHERE slug = $1 AND status <> 'DELETED'", slug))
}

// List implements tenancy.Store.
func (s *TenantStore) List(ctx context.Context, f tenancy.ListFilter, page eusaas.Page) (eusaas.List[tenancy.Tenant], error) {
	q := s.db.q(ctx)
	out := eusaas.List[tenancy.Tenant]{Items: []tenancy.Tenant{}}
	if err := q.QueryRow(ctx, "SELECT count(*) FROM eusaas.tenants WHERE ($1 = '' OR status = $1)", string(f.Status)).Scan(&out.Total); err != nil {
		return eusaas.List[tenancy.Tenant]{}, translate(err)
	}
	rows, err := q.Query(ctx, "SELECT "+tenancyColumns+` FROM eusaas.tenants WHERE ($1 = '' OR status = $1)
		ORDER BY created_at, id LIMIT $2 OFFSET $3`, string(f.Status), page.Size, page.Offset())
	if err != nil {
		return eusaas.List[tenancy.Tenant]{}, translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		t, err := tenancyScan(rows)
		if err != nil {
			return eusaas.List[tenancy.Tenant]{}, err
		}
		out.Items = append(out.Items, t)
	}
	return out, translate(rows.Err())
}

// Update implements tenancy.Store: a compare-and-swap on version.
func (s *TenantStore) Update(ctx context.Context, t tenancy.Tenant) (tenancy.Tenant, error) {
	q := s.db.q(ctx)
	saved, err := tenancyScan(q.QueryRow(ctx, `UPDATE eusaas.tenants SET
			name = $2, slug = $3, status = $4, tier = $5, data_residency_region = $6, admin_email = $7, metadata = $8,
			max_users = $9, storage_limit_gb = $10, api_rate_limit = $11, data_retention_days = $12,
			cost_alert_threshold = $13::numeric, allow_self_registration = $14, status_reason = $15,
			updated_at = $16, deleted_at = $17, anomaly_min_impact = $19::numeric, require_email_verification = $20, mfa_required = $21, plan_code = $22, version = version + 1
		WHERE id = $1 AND version = $18
		RETURNING `+tenancyColumns,
		t.ID.UUID(), t.Name, t.Slug, t.Status, t.Tier, t.Region, t.AdminEmail, tenancyMetadata(t.Metadata),
		t.Settings.MaxUsers, t.Settings.StorageLimitGB, t.Settings.APIRateLimit, t.Settings.DataRetentionDays,
		t.Settings.CostAlertThreshold.String(), t.Settings.AllowSelfRegistration, t.StatusReason,
		t.UpdatedAt, t.DeletedAt, t.Version, t.Settings.AnomalyMinImpact.String(), t.Settings.RequireEmailVerification, t.Settings.MFARequired, t.PlanCode))
	if errors.Is(err, tenancy.ErrNotFound) {
		// Nothing matched: tell a missing tenant from a lost compare-and-swap.
		var v int64
		if err := q.QueryRow(ctx, "SELECT version FROM eusaas.tenants WHERE id = $1", t.ID.UUID()).Scan(&v); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return tenancy.Tenant{}, tenancy.ErrNotFound
			}
			return tenancy.Tenant{}, translate(err)
		}
		return tenancy.Tenant{}, tenancy.ErrVersionConflict.Withf("stored version is %d, not %d", v, t.Version)
	}
	if err != nil {
		return tenancy.Tenant{}, tenancyWriteErr(err)
	}
	return saved, nil
}
