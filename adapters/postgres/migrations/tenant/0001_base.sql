-- Base of every tenant schema. Later versions add the modules' tables.
CREATE TABLE IF NOT EXISTS tenant_info (
    key   text PRIMARY KEY,
    value text NOT NULL
);
