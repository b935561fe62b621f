-- +goose Up
-- The outstanding password reset of each operator (issue 12), as for tenant users.
ALTER TABLE eusaas.auth_operators ADD COLUMN IF NOT EXISTS reset_token_hash bytea;
ALTER TABLE eusaas.auth_operators ADD COLUMN IF NOT EXISTS reset_expires_at timestamptz;
CREATE UNIQUE INDEX IF NOT EXISTS auth_operators_reset_token_key ON eusaas.auth_operators (reset_token_hash) WHERE reset_token_hash IS NOT NULL;
