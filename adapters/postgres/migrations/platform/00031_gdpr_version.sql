-- +goose Up
-- Optimistic concurrency for GDPR requests: an update names the version it read.
ALTER TABLE eusaas.gdpr_requests ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE eusaas.gdpr_requests DROP COLUMN IF EXISTS version;
