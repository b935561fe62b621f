-- +goose Up
-- auth: platform operators and their refresh sessions (tenant users live in tenant schemas).
CREATE TABLE IF NOT EXISTS eusaas.auth_operators (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    full_name     text NOT NULL,
    password_hash text NOT NULL,
    is_active     boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    last_login_at timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS auth_operators_email_key ON eusaas.auth_operators (email);

CREATE TABLE IF NOT EXISTS eusaas.auth_operator_sessions (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL,
    counter       bigint NOT NULL CHECK (counter >= 0),
    token_hash    bytea NOT NULL,
    created_at    timestamptz NOT NULL,
    rotated_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoke_reason text
);
CREATE INDEX IF NOT EXISTS auth_operator_sessions_user_idx ON eusaas.auth_operator_sessions (user_id);

-- +goose Down
DROP TABLE IF EXISTS eusaas.auth_operator_sessions;
DROP TABLE IF EXISTS eusaas.auth_operators;
