-- +goose Up
-- Cursors of the audit exporters (SIEM streaming, issue 15): per exporter and chain, the
-- last seq the sink accepted. Only ever moves forward (GREATEST in the upsert).
CREATE TABLE eusaas.audit_export_cursors (
    name       text        NOT NULL,
    chain      uuid        NOT NULL,
    seq        bigint      NOT NULL CHECK (seq >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, chain)
);

-- +goose Down
DROP TABLE IF EXISTS eusaas.audit_export_cursors;
