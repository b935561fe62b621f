-- +goose Up
-- Gap-free invoice numbers: one counter row per year, incremented (row-locked) in the same
-- transaction that issues the invoice, so a rolled-back issue leaves no gap.
CREATE TABLE IF NOT EXISTS eusaas.billing_invoice_counters (
    year        integer PRIMARY KEY CHECK (year BETWEEN 2000 AND 9999),
    last_number bigint  NOT NULL CHECK (last_number >= 0)
);

-- +goose Down
DROP TABLE IF EXISTS eusaas.billing_invoice_counters;
