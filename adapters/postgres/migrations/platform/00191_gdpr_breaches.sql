-- +goose Up
-- The Art. 33 breach register (platform-wide: a breach may concern many tenants).
CREATE TABLE IF NOT EXISTS eusaas.gdpr_breaches (
    id                  uuid PRIMARY KEY,
    detected_at         timestamptz NOT NULL,
    notify_authority_by timestamptz NOT NULL,
    status              text NOT NULL CHECK (status IN ('OPEN', 'NOTIFIED')),
    doc                 jsonb NOT NULL,
    version             bigint NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS gdpr_breaches_open ON eusaas.gdpr_breaches (notify_authority_by) WHERE status = 'OPEN';

-- +goose Down
DROP TABLE IF EXISTS eusaas.gdpr_breaches;
