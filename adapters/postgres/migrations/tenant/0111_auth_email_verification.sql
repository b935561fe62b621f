-- E-mail verification (issue 12): whether the user proved the address, and the outstanding
-- verification token's SHA-256 and end on the user's row. Users from before were invited
-- (the invitation reached the address) or self-registered without verification existing;
-- they count as verified rather than being locked out by a tenant that starts requiring it.
ALTER TABLE auth_users ADD COLUMN IF NOT EXISTS email_verified boolean NOT NULL DEFAULT true;
ALTER TABLE auth_users ADD COLUMN IF NOT EXISTS verify_token_hash bytea;
ALTER TABLE auth_users ADD COLUMN IF NOT EXISTS verify_expires_at timestamptz;
CREATE UNIQUE INDEX IF NOT EXISTS auth_users_verify_token_key ON auth_users (verify_token_hash) WHERE verify_token_hash IS NOT NULL;
COMMENT ON COLUMN auth_users.verify_token_hash IS 'gdpr:secret';
COMMENT ON COLUMN auth_users.verify_expires_at IS 'gdpr:secret';
