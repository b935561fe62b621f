-- The client a refresh session was opened from, for the user's session list (issue 12).
ALTER TABLE auth_sessions ADD COLUMN IF NOT EXISTS user_agent text NOT NULL DEFAULT '';
ALTER TABLE auth_sessions ADD COLUMN IF NOT EXISTS ip text NOT NULL DEFAULT '';
