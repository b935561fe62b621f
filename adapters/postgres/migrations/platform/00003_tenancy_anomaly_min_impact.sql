-- +goose Up
-- Per-tenant minimum absolute impact (EUR) of a cost anomaly; existing tenants get the
-- default of new ones (tenancy.DefaultSettings), so no row ever holds 0.
ALTER TABLE eusaas.tenants ADD COLUMN IF NOT EXISTS anomaly_min_impact numeric(20, 2) NOT NULL DEFAULT 5;

-- +goose Down
ALTER TABLE eusaas.tenants DROP COLUMN IF EXISTS anomaly_min_impact;
