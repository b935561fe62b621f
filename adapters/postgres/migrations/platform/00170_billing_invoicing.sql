-- +goose Up
-- EU invoicing (ADR 0015): the seller identity printed on every invoice (one row), operator
-- overrides of the standard VAT rates, and the gap-free credit-note counters (same scheme
-- as billing_invoice_counters: incremented, row-locked, in the issuing transaction).
CREATE TABLE IF NOT EXISTS eusaas.billing_seller (
    singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    seller     jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS eusaas.billing_tax_rate_overrides (
    country    text    NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    valid_from date    NOT NULL,
    percent    numeric NOT NULL CHECK (percent >= 0 AND percent < 100),
    PRIMARY KEY (country, valid_from)
);

CREATE TABLE IF NOT EXISTS eusaas.billing_credit_note_counters (
    year        integer PRIMARY KEY CHECK (year BETWEEN 2000 AND 9999),
    last_number bigint  NOT NULL CHECK (last_number >= 0)
);

-- +goose Down
DROP TABLE IF EXISTS eusaas.billing_credit_note_counters;
DROP TABLE IF EXISTS eusaas.billing_tax_rate_overrides;
DROP TABLE IF EXISTS eusaas.billing_seller;
