-- +goose Up
-- The tenant setting that makes a second factor mandatory for its users (issue 12 item 5).
ALTER TABLE eusaas.tenants ADD COLUMN IF NOT EXISTS mfa_required boolean NOT NULL DEFAULT false;
