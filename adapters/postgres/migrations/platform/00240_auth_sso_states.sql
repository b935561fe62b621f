-- +goose Up
-- Started SSO sign-ins (issue 12 item 8): the callback does not know the tenant yet, so they
-- live in platform storage. Only the SHA-256 of the state parameter is kept; nonce and PKCE
-- verifier are single-use secrets of ten minutes. Consumption deletes the row.
CREATE TABLE IF NOT EXISTS eusaas.auth_sso_states (
    state_hash bytea PRIMARY KEY,
    tenant_id  uuid NOT NULL,
    nonce      text NOT NULL,
    verifier   text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS auth_sso_states_expires_at_idx ON eusaas.auth_sso_states (expires_at);
COMMENT ON COLUMN eusaas.auth_sso_states.nonce IS 'gdpr:secret';
COMMENT ON COLUMN eusaas.auth_sso_states.verifier IS 'gdpr:secret';

-- +goose Down
DROP TABLE IF EXISTS eusaas.auth_sso_states;
