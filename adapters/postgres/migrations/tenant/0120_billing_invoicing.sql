-- EU invoicing (ADR 0015). The tenant's buyer identity (one row, with its VIES evidence);
-- the Art. 226 content frozen at issue (parties, VAT treatment, breakdown, line VAT, stored
-- documents) as one jsonb per invoice; credit notes with one row per credited line amount.
CREATE TABLE IF NOT EXISTS billing_profile (
    singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    profile    jsonb       NOT NULL,
    updated_at timestamptz NOT NULL
);

ALTER TABLE billing_invoices ADD COLUMN IF NOT EXISTS content jsonb;
ALTER TABLE billing_invoices DROP CONSTRAINT IF EXISTS billing_invoices_status_check;
ALTER TABLE billing_invoices ADD CONSTRAINT billing_invoices_status_check
    CHECK (status IN ('DRAFT', 'ISSUED', 'PAID', 'OVERDUE', 'VOID', 'CREDITED'));

-- The immutability trigger now covers the issue content as well; recreated with the fixed
-- search_path of 0100_function_search_path (pg_temp last, so no temporary table shadows).
-- A fresh schema runs every migration in one transaction, where 0100 already appended it.
SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true)
WHERE current_setting('search_path') NOT LIKE '%pg_temp%';
CREATE OR REPLACE FUNCTION billing_invoice_immutable() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    IF OLD.status <> 'DRAFT' AND (
        NEW.number IS DISTINCT FROM OLD.number OR NEW.period_start <> OLD.period_start OR
        NEW.period_end <> OLD.period_end OR NEW.currency <> OLD.currency OR
        NEW.subtotal <> OLD.subtotal OR NEW.tax_rate <> OLD.tax_rate OR
        NEW.tax_amount <> OLD.tax_amount OR NEW.total_amount <> OLD.total_amount OR
        NEW.rounding_rule <> OLD.rounding_rule OR NEW.issued_at IS DISTINCT FROM OLD.issued_at OR
        NEW.due_date IS DISTINCT FROM OLD.due_date OR NEW.created_at <> OLD.created_at OR
        NEW.content IS DISTINCT FROM OLD.content) THEN
        RAISE EXCEPTION 'issued invoice % is immutable', OLD.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TABLE IF NOT EXISTS billing_credit_notes (
    id         uuid        PRIMARY KEY,
    number     text        NOT NULL UNIQUE,
    invoice_id uuid        NOT NULL,
    created_at timestamptz NOT NULL,
    doc        jsonb       NOT NULL
);
CREATE INDEX IF NOT EXISTS billing_credit_notes_invoice_idx ON billing_credit_notes (invoice_id);

CREATE TABLE IF NOT EXISTS billing_credit_note_lines (
    credit_note_id uuid    NOT NULL REFERENCES billing_credit_notes (id),
    invoice_id     uuid    NOT NULL,
    credited_line  integer NOT NULL,
    amount         numeric NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (credit_note_id, credited_line)
);
CREATE INDEX IF NOT EXISTS billing_credit_note_lines_invoice_idx ON billing_credit_note_lines (invoice_id);
