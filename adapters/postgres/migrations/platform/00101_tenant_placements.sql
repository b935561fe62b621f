-- +goose Up
-- Where each tenant's schema was placed on a Citus cluster (issue 20): the node holding it
-- and the data residency region it was placed for, written (and audited as TENANT_PLACED)
-- on every distribution and move. One row per tenant, the current placement; the history is
-- the tenant's audit chain. No foreign key to eusaas.tenants: `eusaas citus distribute`
-- also places schemas whose registry row is gone. The row goes with the schema
-- (TenantSchemas.Drop). On vanilla PostgreSQL the table stays empty.
CREATE TABLE IF NOT EXISTS eusaas.tenant_placements (
    tenant_id uuid PRIMARY KEY,
    node text NOT NULL,
    region text NOT NULL,
    placed_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE IF EXISTS eusaas.tenant_placements;
