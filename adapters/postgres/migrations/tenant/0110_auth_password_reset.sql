-- The outstanding password reset of each user (issue 12): only the SHA-256 of the token and
-- its end, on the user's own row, so erasing the user erases it. Both columns are
-- credentials, never exported.
ALTER TABLE auth_users ADD COLUMN IF NOT EXISTS reset_token_hash bytea;
ALTER TABLE auth_users ADD COLUMN IF NOT EXISTS reset_expires_at timestamptz;
CREATE UNIQUE INDEX IF NOT EXISTS auth_users_reset_token_key ON auth_users (reset_token_hash) WHERE reset_token_hash IS NOT NULL;
COMMENT ON COLUMN auth_users.reset_token_hash IS 'gdpr:secret';
COMMENT ON COLUMN auth_users.reset_expires_at IS 'gdpr:secret';
