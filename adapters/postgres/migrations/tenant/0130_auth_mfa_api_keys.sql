-- Second factor and tenant API keys (issue 12 items 5 and 7).
-- The TOTP enrolment lives on the user's row, so erasing the user erases it. The secret is
-- sealed by the auth service (AES-256-GCM under APP_MFA_KEY when set); the secret, the last
-- used step and the recovery code hashes are credentials, never exported.
ALTER TABLE auth_users ADD COLUMN IF NOT EXISTS totp_secret bytea;
ALTER TABLE auth_users ADD COLUMN IF NOT EXISTS totp_created_at timestamptz;
ALTER TABLE auth_users ADD COLUMN IF NOT EXISTS totp_confirmed_at timestamptz;
ALTER TABLE auth_users ADD COLUMN IF NOT EXISTS totp_last_step bigint NOT NULL DEFAULT 0;
ALTER TABLE auth_users ADD COLUMN IF NOT EXISTS totp_recovery bytea[] NOT NULL DEFAULT '{}';
COMMENT ON COLUMN auth_users.totp_secret IS 'gdpr:secret';
COMMENT ON COLUMN auth_users.totp_created_at IS 'gdpr:secret';
COMMENT ON COLUMN auth_users.totp_confirmed_at IS 'gdpr:secret';
COMMENT ON COLUMN auth_users.totp_last_step IS 'gdpr:secret';
COMMENT ON COLUMN auth_users.totp_recovery IS 'gdpr:secret';

-- A tenant's API keys: only the SHA-256 of the key is stored. Rows stay on revocation so a
-- revoked key is refused rather than looked up in vain. scopes are space-separated, as
-- OAuth 2.0 writes them.
CREATE TABLE IF NOT EXISTS auth_api_keys (
    id           uuid PRIMARY KEY,
    name         text NOT NULL,
    scopes       text NOT NULL,
    prefix       text NOT NULL,
    key_hash     bytea NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS auth_api_keys_key_hash_key ON auth_api_keys (key_hash);
COMMENT ON COLUMN auth_api_keys.key_hash IS 'gdpr:secret';
