-- +goose Up
-- auth: service accounts (machine principals, client-credentials grant). Platform data: they
-- belong to no tenant. Rows are kept on revocation so revoked credentials stay refused.
CREATE TABLE IF NOT EXISTS eusaas.auth_service_accounts (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    client_id   text NOT NULL,
    secret_hash bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    created_by  text NOT NULL,
    revoked_at  timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS auth_service_accounts_client_id_key ON eusaas.auth_service_accounts (client_id);

-- +goose Down
DROP TABLE IF EXISTS eusaas.auth_service_accounts;
