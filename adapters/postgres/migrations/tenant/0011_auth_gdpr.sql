-- GDPR conventions for the auth tables (see GDPRData): the user row's id is the data subject;
-- credential material is never part of an Article 20 export.
COMMENT ON COLUMN auth_users.id IS 'gdpr:subject';
COMMENT ON COLUMN auth_users.password_hash IS 'gdpr:secret';
COMMENT ON COLUMN auth_sessions.token_hash IS 'gdpr:secret';
COMMENT ON COLUMN auth_invitations.token_hash IS 'gdpr:secret';
