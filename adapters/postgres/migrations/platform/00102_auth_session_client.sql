-- +goose Up
-- The client an operator session was opened from, for the operator's session list (issue 12).
ALTER TABLE eusaas.auth_operator_sessions ADD COLUMN IF NOT EXISTS user_agent text NOT NULL DEFAULT '';
ALTER TABLE eusaas.auth_operator_sessions ADD COLUMN IF NOT EXISTS ip text NOT NULL DEFAULT '';
