-- Billing: usage dedup rows, daily buckets, monthly running quantities, invoices, prices.

-- One row per accepted event id: the idempotency record. Rows are purged after the dedup
-- retention (>= 35 days, by received_at); buckets keep the aggregate forever.
CREATE TABLE IF NOT EXISTS billing_usage_events (
    event_id      text        PRIMARY KEY,
    resource_type text        NOT NULL,
    quantity      numeric     NOT NULL CHECK (quantity >= 0),
    occurred_at   timestamptz NOT NULL,
    attributes    jsonb,
    received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS billing_usage_events_received_idx ON billing_usage_events (received_at);

-- Pre-aggregated usage per UTC day and resource; every read is proportional to these.
CREATE TABLE IF NOT EXISTS billing_usage_buckets (
    day           date    NOT NULL,
    resource_type text    NOT NULL,
    quantity      numeric NOT NULL,
    amount        numeric NOT NULL,
    PRIMARY KEY (day, resource_type)
);

-- Running quantity per month and resource. Its row lock serialises the rating of concurrent
-- batches for the same month so tiered amounts add up exactly.
CREATE TABLE IF NOT EXISTS billing_usage_months (
    month         date    NOT NULL,
    resource_type text    NOT NULL,
    quantity      numeric NOT NULL,
    PRIMARY KEY (month, resource_type)
);

CREATE TABLE IF NOT EXISTS billing_invoices (
    id            uuid        PRIMARY KEY,
    number        text        UNIQUE,
    status        text        NOT NULL CHECK (status IN ('DRAFT', 'ISSUED', 'PAID', 'OVERDUE', 'VOID')),
    period_start  date        NOT NULL,
    period_end    date        NOT NULL,
    currency      text        NOT NULL,
    subtotal      numeric     NOT NULL,
    tax_rate      numeric     NOT NULL,
    tax_amount    numeric     NOT NULL,
    total_amount  numeric     NOT NULL,
    rounding_rule text        NOT NULL,
    created_at    timestamptz NOT NULL,
    issued_at     timestamptz,
    due_date      date,
    paid_at       timestamptz,
    voided_at     timestamptz,
    issued_by     text        NOT NULL DEFAULT ''
);
-- At most one live (non-void) invoice per period.
CREATE UNIQUE INDEX IF NOT EXISTS billing_invoices_period_live_idx ON billing_invoices (period_start) WHERE status <> 'VOID';
CREATE INDEX IF NOT EXISTS billing_invoices_status_idx ON billing_invoices (status, period_start);

CREATE TABLE IF NOT EXISTS billing_invoice_lines (
    invoice_id    uuid    NOT NULL REFERENCES billing_invoices (id),
    line_no       integer NOT NULL,
    resource_type text    NOT NULL,
    description   text    NOT NULL,
    unit          text    NOT NULL,
    quantity      numeric NOT NULL,
    amount        numeric NOT NULL,
    usage_month   date    NOT NULL,
    adjustment    boolean NOT NULL,
    PRIMARY KEY (invoice_id, line_no)
);

-- Defence in depth: an invoice past DRAFT keeps its content whatever the application does.
-- Only status, paid_at, voided_at and (for pseudonymisation) issued_by may change.
CREATE OR REPLACE FUNCTION billing_invoice_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'DRAFT' AND (
        NEW.number IS DISTINCT FROM OLD.number OR NEW.period_start <> OLD.period_start OR
        NEW.period_end <> OLD.period_end OR NEW.currency <> OLD.currency OR
        NEW.subtotal <> OLD.subtotal OR NEW.tax_rate <> OLD.tax_rate OR
        NEW.tax_amount <> OLD.tax_amount OR NEW.total_amount <> OLD.total_amount OR
        NEW.rounding_rule <> OLD.rounding_rule OR NEW.issued_at IS DISTINCT FROM OLD.issued_at OR
        NEW.due_date IS DISTINCT FROM OLD.due_date OR NEW.created_at <> OLD.created_at) THEN
        RAISE EXCEPTION 'issued invoice % is immutable', OLD.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS billing_invoice_immutable ON billing_invoices;
CREATE TRIGGER billing_invoice_immutable BEFORE UPDATE ON billing_invoices
    FOR EACH ROW EXECUTE FUNCTION billing_invoice_immutable();

CREATE OR REPLACE FUNCTION billing_invoice_lines_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    st text;
BEGIN
    SELECT status INTO st FROM billing_invoices WHERE id = COALESCE(NEW.invoice_id, OLD.invoice_id);
    IF st IS NOT NULL AND st <> 'DRAFT' THEN
        RAISE EXCEPTION 'lines of issued invoice are immutable' USING ERRCODE = 'check_violation';
    END IF;
    RETURN COALESCE(NEW, OLD);
END $$;
DROP TRIGGER IF EXISTS billing_invoice_lines_immutable ON billing_invoice_lines;
CREATE TRIGGER billing_invoice_lines_immutable BEFORE INSERT OR UPDATE OR DELETE ON billing_invoice_lines
    FOR EACH ROW EXECUTE FUNCTION billing_invoice_lines_immutable();

-- Per-tenant price overrides; tiers as [{"up_to": "100" | null, "unit_price": "0.02"}].
CREATE TABLE IF NOT EXISTS billing_prices (
    resource_type text    PRIMARY KEY,
    kind          text    NOT NULL CHECK (kind IN ('per_unit', 'graduated', 'volume')),
    unit_price    numeric NOT NULL DEFAULT 0,
    tiers         jsonb   NOT NULL DEFAULT '[]'
);

CREATE TABLE IF NOT EXISTS billing_settings (
    key   text PRIMARY KEY,
    value text NOT NULL
);
