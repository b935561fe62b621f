-- +goose Up
-- The tenant registry. A DELETED row is a tombstone: personal data (admin_email, metadata)
-- is removed and its slug is free for reuse, hence the partial unique index.
CREATE TABLE eusaas.tenants (
    id                      uuid PRIMARY KEY,
    name                    text NOT NULL,
    slug                    text NOT NULL CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) BETWEEN 2 AND 64),
    status                  text NOT NULL CHECK (status IN ('PENDING', 'PROVISIONING', 'ACTIVE', 'SUSPENDED', 'DEPROVISIONING', 'DELETED')),
    tier                    text NOT NULL CHECK (tier IN ('FREE', 'STARTER', 'PROFESSIONAL', 'ENTERPRISE')),
    schema_name             text NOT NULL UNIQUE,
    data_residency_region   text NOT NULL,
    admin_email             text NOT NULL,
    metadata                jsonb NOT NULL DEFAULT '{}',
    max_users               integer NOT NULL,
    storage_limit_gb        integer NOT NULL,
    api_rate_limit          integer NOT NULL,
    data_retention_days     integer NOT NULL,
    cost_alert_threshold    numeric(20, 2) NOT NULL,
    allow_self_registration boolean NOT NULL DEFAULT false,
    status_reason           text NOT NULL DEFAULT '',
    version                 bigint NOT NULL CHECK (version > 0),
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL,
    deleted_at              timestamptz
);
CREATE UNIQUE INDEX tenants_live_slug ON eusaas.tenants (slug) WHERE status <> 'DELETED';
CREATE INDEX tenants_created ON eusaas.tenants (created_at, id);
CREATE INDEX tenants_status_created ON eusaas.tenants (status, created_at, id);

-- One row per tenant schema: the state of its migrations. applied holds every tenant
-- migration version applied (module number ranges are merged out of order, so the highest
-- version alone cannot tell what is missing); version is the highest, for people.
-- A row exists exactly when the schema does: both are created and dropped in one
-- transaction. No foreign key to tenants: schemas are provisioned before the registry row
-- reaches ACTIVE and tests create schemas without tenants.
CREATE TABLE eusaas.tenant_schemas (
    tenant_id   uuid PRIMARY KEY,
    schema_name text NOT NULL UNIQUE,
    version     integer NOT NULL,
    applied     integer[] NOT NULL,
    state       text NOT NULL CHECK (state IN ('ready', 'migrating', 'failed')),
    last_error  text,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE IF EXISTS eusaas.tenant_schemas;
DROP TABLE IF EXISTS eusaas.tenants;
