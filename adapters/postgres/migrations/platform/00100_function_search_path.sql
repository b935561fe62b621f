-- +goose Up
-- Every function runs with a fixed search_path, whatever the caller's (issue 20): a trigger
-- function resolving names through the session's path breaks, or can be hijacked, when
-- another path is in effect (a Citus worker's connection, a psql session). pg_catalog is
-- searched first implicitly; pg_temp last so a temporary table cannot shadow ours.
-- TestFunctionsHaveFixedSearchPath fails on any function of the platform schema without one.
ALTER FUNCTION eusaas.audit_reject_change() SET search_path = eusaas, pg_temp;
ALTER FUNCTION eusaas.audit_head_forward() SET search_path = eusaas, pg_temp;

-- +goose Down
ALTER FUNCTION eusaas.audit_head_forward() RESET search_path;
ALTER FUNCTION eusaas.audit_reject_change() RESET search_path;
