-- +goose Up
-- Spare tenant schemas, created and fully migrated ahead of need (issue 19): provisioning a
-- tenant renames one (ALTER SCHEMA ... RENAME, a catalog update) instead of running every
-- tenant migration's DDL while requests wait for the same CPU. A row exists exactly while
-- its schema is spare; taking one deletes the row in the transaction that renames the schema.
CREATE TABLE IF NOT EXISTS eusaas.tenant_schema_pool (
    schema_name text PRIMARY KEY,
    applied int[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE IF EXISTS eusaas.tenant_schema_pool;
