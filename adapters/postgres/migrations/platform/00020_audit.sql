-- +goose Up
-- The audit log lives in the platform schema so it survives the deletion of a tenant's schema.
-- See package audit (hash.go) for the canonical encoding the hash column covers.

-- One row per chain (a tenant's id, or the zero uuid for the platform chain): its size and the
-- hash of its last entry. Appends lock this row (SELECT ... FOR UPDATE), which serialises
-- sequence assignment per chain.
CREATE TABLE eusaas.audit_chains (
    chain      uuid        PRIMARY KEY,
    size       bigint      NOT NULL CHECK (size >= 0),
    head_hash  bytea       NOT NULL CHECK (length(head_hash) = 32),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The chained entries. Append-only: a trigger rejects UPDATE, DELETE and TRUNCATE.
CREATE TABLE eusaas.audit_entries (
    chain                uuid        NOT NULL,
    seq                  bigint      NOT NULL CHECK (seq >= 1),
    id                   uuid        NOT NULL UNIQUE,
    tenant_id            uuid        NOT NULL,
    actor_kind           text        NOT NULL,
    actor_id             text        NOT NULL,
    actor_tenant         uuid        NOT NULL,
    action               text        NOT NULL,
    resource_type        text        NOT NULL,
    resource_id          text        NOT NULL,
    subject              text        NOT NULL,
    changes              text        NOT NULL, -- the exact JSON bytes hashed; '' when none
    personal_names       text[]      NOT NULL, -- sorted; the values live in audit_personal
    personal_commitments bytea[]     NOT NULL, -- HMAC-SHA256 under the subject key, same order
    occurred_at          timestamptz NOT NULL,
    prev_hash            bytea       NOT NULL,
    hash                 bytea       NOT NULL,
    PRIMARY KEY (chain, seq)
);
CREATE INDEX audit_entries_time ON eusaas.audit_entries (chain, occurred_at);
CREATE INDEX audit_entries_tenant ON eusaas.audit_entries (chain, tenant_id, seq);
CREATE INDEX audit_entries_actor ON eusaas.audit_entries (chain, actor_id, seq);

-- Personal values beside the chain. Rows may be deleted (erasure), never changed.
CREATE TABLE eusaas.audit_personal (
    entry_id  uuid NOT NULL REFERENCES eusaas.audit_entries (id),
    name      text NOT NULL,
    tenant_id uuid NOT NULL,
    subject   text NOT NULL,
    value     text NOT NULL,
    PRIMARY KEY (entry_id, name)
);
CREATE INDEX audit_personal_subject ON eusaas.audit_personal (tenant_id, subject);

-- Per-subject commitment keys. Deleting a key makes the subject's commitments unlinkable.
CREATE TABLE eusaas.audit_subject_keys (
    tenant_id  uuid        NOT NULL,
    subject    text        NOT NULL,
    key        bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, subject)
);

-- Signed checkpoints (Ed25519 over chain, size, head hash, time). Append-only.
CREATE TABLE eusaas.audit_checkpoints (
    chain     uuid        NOT NULL,
    size      bigint      NOT NULL,
    head_hash bytea       NOT NULL,
    signed_at timestamptz NOT NULL,
    key_id    text        NOT NULL,
    signature bytea       NOT NULL,
    PRIMARY KEY (chain, size)
);

-- +goose StatementBegin
CREATE FUNCTION eusaas.audit_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit: % on %.% is not allowed: audit records are append-only',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION eusaas.audit_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.chain <> OLD.chain OR NEW.size < OLD.size
       OR (NEW.size = OLD.size AND NEW.head_hash <> OLD.head_hash) THEN
        RAISE EXCEPTION 'audit: a chain head only moves forward'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON eusaas.audit_entries
    FOR EACH ROW EXECUTE FUNCTION eusaas.audit_reject_change();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON eusaas.audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION eusaas.audit_reject_change();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON eusaas.audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION eusaas.audit_reject_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON eusaas.audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION eusaas.audit_reject_change();
CREATE TRIGGER audit_personal_no_update BEFORE UPDATE ON eusaas.audit_personal
    FOR EACH ROW EXECUTE FUNCTION eusaas.audit_reject_change();
CREATE TRIGGER audit_subject_keys_no_update BEFORE UPDATE ON eusaas.audit_subject_keys
    FOR EACH ROW EXECUTE FUNCTION eusaas.audit_reject_change();
CREATE TRIGGER audit_chains_forward BEFORE UPDATE OR DELETE ON eusaas.audit_chains
    FOR EACH ROW EXECUTE FUNCTION eusaas.audit_head_forward();
CREATE TRIGGER audit_chains_no_truncate BEFORE TRUNCATE ON eusaas.audit_chains
    FOR EACH STATEMENT EXECUTE FUNCTION eusaas.audit_reject_change();

-- +goose Down
DROP TABLE IF EXISTS eusaas.audit_checkpoints;
DROP TABLE IF EXISTS eusaas.audit_subject_keys;
DROP TABLE IF EXISTS eusaas.audit_personal;
DROP TABLE IF EXISTS eusaas.audit_entries;
DROP TABLE IF EXISTS eusaas.audit_chains;
DROP FUNCTION IF EXISTS eusaas.audit_head_forward();
DROP FUNCTION IF EXISTS eusaas.audit_reject_change();
