-- auth: tenant users, their refresh sessions (one row per session, not per token) and
-- invitations (token stored as SHA-256 only). Living in the tenant schema, they go with it
-- when the tenant is erased.
CREATE TABLE IF NOT EXISTS auth_users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    full_name     text NOT NULL,
    role          text NOT NULL CHECK (role IN ('OWNER', 'ADMIN', 'MEMBER', 'VIEWER')),
    password_hash text NOT NULL,
    is_active     boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    last_login_at timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS auth_users_email_key ON auth_users (email);

CREATE TABLE IF NOT EXISTS auth_sessions (
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
CREATE INDEX IF NOT EXISTS auth_sessions_user_idx ON auth_sessions (user_id);

CREATE TABLE IF NOT EXISTS auth_invitations (
    id         uuid PRIMARY KEY,
    email      text NOT NULL,
    role       text NOT NULL CHECK (role IN ('OWNER', 'ADMIN', 'MEMBER', 'VIEWER')),
    token_hash bytea NOT NULL UNIQUE,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX IF NOT EXISTS auth_invitations_email_idx ON auth_invitations (email);
