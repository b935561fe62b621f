-- Single sign-on per tenant with OpenID Connect (issue 12 item 8): at most one configuration
-- per tenant schema, hence the singleton key. The client secret is sealed by the auth service
-- (AES-256-GCM under APP_MFA_KEY when set) and never exported. No personal data.
CREATE TABLE IF NOT EXISTS auth_sso (
    singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    issuer          text NOT NULL,
    client_id       text NOT NULL,
    client_secret   bytea,
    allowed_domains text[] NOT NULL,
    default_role    text NOT NULL CHECK (default_role IN ('ADMIN', 'MEMBER', 'VIEWER')),
    enforce         boolean NOT NULL,
    updated_at      timestamptz NOT NULL
);
COMMENT ON COLUMN auth_sso.client_secret IS 'gdpr:secret';
