-- +goose Up
-- The tenant setting that refuses login to users with an unverified e-mail (issue 12).
ALTER TABLE eusaas.tenants ADD COLUMN IF NOT EXISTS require_email_verification boolean NOT NULL DEFAULT false;
