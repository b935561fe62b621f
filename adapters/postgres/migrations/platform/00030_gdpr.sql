-- +goose Up
-- GDPR requests live in the platform schema so they (and erasure certificates) outlive the
-- tenant's schema. The columns queried by jobs are columns; the rest of the record is doc.
CREATE TABLE IF NOT EXISTS eusaas.gdpr_requests (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('EXPORT', 'SUBJECT_ERASURE', 'TENANT_ERASURE')),
    status       text NOT NULL CHECK (status IN ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'EXPIRED')),
    subject_id   text,
    requested_at timestamptz NOT NULL,
    due_at       timestamptz NOT NULL,
    expires_at   timestamptz,
    doc          jsonb NOT NULL,
    -- The signed certificate is kept byte for byte (jsonb would reorder it and break the signature).
    certificate  bytea
);
-- One erasure saga per tenant: concurrent DELETEs converge on one record.
CREATE UNIQUE INDEX IF NOT EXISTS gdpr_requests_one_tenant_erasure ON eusaas.gdpr_requests (tenant_id) WHERE kind = 'TENANT_ERASURE';
CREATE INDEX IF NOT EXISTS gdpr_requests_by_tenant ON eusaas.gdpr_requests (tenant_id, kind, subject_id, requested_at);
CREATE INDEX IF NOT EXISTS gdpr_requests_open ON eusaas.gdpr_requests (kind, requested_at) WHERE status IN ('PENDING', 'PROCESSING');
CREATE INDEX IF NOT EXISTS gdpr_requests_expiring ON eusaas.gdpr_requests (expires_at) WHERE kind = 'EXPORT' AND status = 'COMPLETED';

CREATE TABLE IF NOT EXISTS eusaas.gdpr_retention_policies (
    tenant_id                uuid PRIMARY KEY,
    default_retention_days   integer NOT NULL CHECK (default_retention_days BETWEEN 1 AND 3650),
    audit_log_retention_days integer NOT NULL CHECK (audit_log_retention_days BETWEEN 30 AND 3650),
    backup_retention_days    integer NOT NULL CHECK (backup_retention_days BETWEEN 7 AND 365),
    pii_retention_days       integer NOT NULL CHECK (pii_retention_days BETWEEN 1 AND 3650),
    updated_at               timestamptz NOT NULL,
    updated_by               text NOT NULL DEFAULT ''
);

CREATE TABLE IF NOT EXISTS eusaas.gdpr_legal_holds (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL,
    reason     text NOT NULL,
    created_at timestamptz NOT NULL,
    created_by text NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS gdpr_legal_holds_by_tenant ON eusaas.gdpr_legal_holds (tenant_id, created_at);

-- Per-tenant backup keys (crypto-shredding). material is NULL once destroyed; when the
-- store has a key-encryption key, material is sealed with it.
CREATE TABLE IF NOT EXISTS eusaas.gdpr_backup_keys (
    tenant_id     uuid PRIMARY KEY,
    material      bytea,
    created_at    timestamptz NOT NULL,
    destroy_after timestamptz NOT NULL,
    destroyed_at  timestamptz
);

-- +goose Down
DROP TABLE IF EXISTS eusaas.gdpr_backup_keys;
DROP TABLE IF EXISTS eusaas.gdpr_legal_holds;
DROP TABLE IF EXISTS eusaas.gdpr_retention_policies;
DROP TABLE IF EXISTS eusaas.gdpr_requests;
