-- Every function of a tenant schema runs with the schema's own search_path, whatever the
-- caller's (issue 20). On Citus the triggers fire on the worker holding the schema, whose
-- connection has another search_path: billing_invoice_lines_immutable() then failed with
-- 'relation "billing_invoices" does not exist'. The functions are recreated (same bodies as
-- 0040_billing, which stays as it was for the schemas it already ran on) with
-- SET search_path FROM CURRENT: Citus propagates a created function from its catalog
-- definition, where the captured path is a literal. The migrator's path is the tenant schema
-- alone; pg_temp is appended first so a temporary table cannot shadow a tenant table.
-- TestFunctionsHaveFixedSearchPath fails on any tenant function without a fixed path.
SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

CREATE OR REPLACE FUNCTION billing_invoice_immutable() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
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

CREATE OR REPLACE FUNCTION billing_invoice_lines_immutable() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    st text;
BEGIN
    SELECT status INTO st FROM billing_invoices WHERE id = COALESCE(NEW.invoice_id, OLD.invoice_id);
    IF st IS NOT NULL AND st <> 'DRAFT' THEN
        RAISE EXCEPTION 'lines of issued invoice are immutable' USING ERRCODE = 'check_violation';
    END IF;
    RETURN COALESCE(NEW, OLD);
END $$;
