-- +goose Up
-- Operators' second factor (issue 12 item 5), as for tenant users (tenant/0130).
ALTER TABLE eusaas.auth_operators ADD COLUMN IF NOT EXISTS totp_secret bytea;
ALTER TABLE eusaas.auth_operators ADD COLUMN IF NOT EXISTS totp_created_at timestamptz;
ALTER TABLE eusaas.auth_operators ADD COLUMN IF NOT EXISTS totp_confirmed_at timestamptz;
ALTER TABLE eusaas.auth_operators ADD COLUMN IF NOT EXISTS totp_last_step bigint NOT NULL DEFAULT 0;
ALTER TABLE eusaas.auth_operators ADD COLUMN IF NOT EXISTS totp_recovery bytea[] NOT NULL DEFAULT '{}';
