-- +goose Up
-- Plans (issue 13 item 6): a monthly fee, included quantities and prices per metric (jsonb
-- objects of decimal strings / price models), entitlements that become a tenant's limits.
-- billing_tenant_plans is each tenant's plan history (invoices prorate a month by it); the
-- tenant's current plan is also on eusaas.tenants.plan_code (tenancy), written in the same
-- transaction.
CREATE TABLE IF NOT EXISTS eusaas.billing_plans (
    code             text        PRIMARY KEY CHECK (code ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name             text        NOT NULL,
    monthly_fee      numeric     NOT NULL CHECK (monthly_fee >= 0),
    included         jsonb       NOT NULL DEFAULT '{}',
    prices           jsonb       NOT NULL DEFAULT '{}',
    max_users        integer     NOT NULL DEFAULT 0 CHECK (max_users >= 0),
    storage_limit_gb integer     NOT NULL DEFAULT 0 CHECK (storage_limit_gb >= 0),
    api_rate_limit   integer     NOT NULL DEFAULT 0 CHECK (api_rate_limit >= 0),
    hard_limits      boolean     NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS eusaas.billing_tenant_plans (
    tenant_id    uuid        NOT NULL,
    seq          bigserial,
    plan_code    text        NOT NULL REFERENCES eusaas.billing_plans (code),
    effective_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

ALTER TABLE eusaas.tenants ADD COLUMN IF NOT EXISTS plan_code text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE eusaas.tenants DROP COLUMN IF EXISTS plan_code;
DROP TABLE IF EXISTS eusaas.billing_tenant_plans;
DROP TABLE IF EXISTS eusaas.billing_plans;
