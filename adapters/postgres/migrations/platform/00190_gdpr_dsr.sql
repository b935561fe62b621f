-- +goose Up
-- Data-subject requests (GDPR Art. 15-21) live in the platform schema beside gdpr_requests:
-- they are the controller's accountability record and outlive the subject's erasure. The
-- columns queried by the list filters and the deadline gauges are columns; the rest is doc.
CREATE TABLE IF NOT EXISTS eusaas.gdpr_dsrs (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL,
    type            text NOT NULL CHECK (type IN ('ACCESS', 'RECTIFICATION', 'ERASURE', 'RESTRICTION', 'OBJECTION', 'PORTABILITY')),
    status          text NOT NULL CHECK (status IN ('RECEIVED', 'IDENTITY_PENDING', 'IN_PROGRESS', 'EXTENDED', 'COMPLETED', 'REJECTED')),
    received_at     timestamptz NOT NULL,
    -- The deadline in force: due_at, or the extended one once extended.
    deadline        timestamptz NOT NULL,
    job_id          uuid,
    doc             jsonb NOT NULL,
    -- The signed evidence bundle is kept byte for byte (jsonb would reorder it and break the signature).
    evidence        bytea,
    version         bigint NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS gdpr_dsrs_by_tenant ON eusaas.gdpr_dsrs (tenant_id, id);
CREATE INDEX IF NOT EXISTS gdpr_dsrs_by_job ON eusaas.gdpr_dsrs (tenant_id, job_id) WHERE job_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS gdpr_dsrs_open ON eusaas.gdpr_dsrs (deadline) WHERE status NOT IN ('COMPLETED', 'REJECTED');

-- +goose Down
DROP TABLE IF EXISTS eusaas.gdpr_dsrs;
