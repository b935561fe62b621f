-- +goose Up
-- Custom billable metrics (issue 13 item 7), platform-wide: events whose resource_type is a
-- metric's code are metered under its aggregation. The built-in resources are not stored
-- here (they are code). price is the metric's default price model (JSON), NULL: free unless
-- a tenant override or plan prices it.
CREATE TABLE IF NOT EXISTS eusaas.billing_metrics (
    code        text        PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z0-9_]{1,63}$'),
    name        text        NOT NULL,
    unit        text        NOT NULL,
    aggregation text        NOT NULL CHECK (aggregation IN ('SUM', 'MAX', 'COUNT', 'UNIQUE_COUNT', 'LATEST')),
    field       text        NOT NULL DEFAULT '',
    price       jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE IF EXISTS eusaas.billing_metrics;
