-- +goose Up
-- Issue 15: the Merkle tree (RFC 6962) over each audit chain, the writer's signature over
-- every head it moves, and checkpoints in the signed-note format. See package audit
-- (tree.go) for the layout.

-- The head row carries the tree: its root, its frontier (the complete subtrees' roots,
-- largest first, 32 bytes each) and the writer's Ed25519 signature over (chain, size, head
-- hash, root). NULL for chains written before this migration until `eusaas audit upgrade`
-- (or the server's start) builds their tree.
ALTER TABLE eusaas.audit_chains ADD COLUMN tree_root bytea CHECK (length(tree_root) = 32);
ALTER TABLE eusaas.audit_chains ADD COLUMN tree_frontier bytea CHECK (length(tree_frontier) % 32 = 0);
ALTER TABLE eusaas.audit_chains ADD COLUMN head_sig bytea;

-- The tree hashes appending the entry stored (tlog's stored hashes: leaf, then the subtrees
-- it completes), 32 bytes each. Written with the entry; NULL for entries from before this
-- migration until the upgrade fills them in, once.
ALTER TABLE eusaas.audit_entries ADD COLUMN tree_hashes bytea CHECK (length(tree_hashes) % 32 = 0);

ALTER TABLE eusaas.audit_checkpoints ADD COLUMN root_hash bytea CHECK (length(root_hash) = 32);
ALTER TABLE eusaas.audit_checkpoints ADD COLUMN note text;

-- Entries stay append-only; the only change allowed is the one-time upgrade filling in the
-- tree hashes of an entry that has none, every other column unchanged.
-- +goose StatementBegin
CREATE FUNCTION eusaas.audit_entries_guard() RETURNS trigger LANGUAGE plpgsql
SET search_path = eusaas, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.tree_hashes IS NULL AND NEW.tree_hashes IS NOT NULL
       AND (to_jsonb(NEW) - 'tree_hashes') = (to_jsonb(OLD) - 'tree_hashes') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit: % on %.% is not allowed: audit records are append-only',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd

DROP TRIGGER audit_entries_append_only ON eusaas.audit_entries;
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON eusaas.audit_entries
    FOR EACH ROW EXECUTE FUNCTION eusaas.audit_entries_guard();

-- +goose Down
DROP TRIGGER audit_entries_append_only ON eusaas.audit_entries;
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON eusaas.audit_entries
    FOR EACH ROW EXECUTE FUNCTION eusaas.audit_reject_change();
DROP FUNCTION eusaas.audit_entries_guard();
ALTER TABLE eusaas.audit_checkpoints DROP COLUMN note;
ALTER TABLE eusaas.audit_checkpoints DROP COLUMN root_hash;
ALTER TABLE eusaas.audit_entries DROP COLUMN tree_hashes;
ALTER TABLE eusaas.audit_chains DROP COLUMN head_sig;
ALTER TABLE eusaas.audit_chains DROP COLUMN tree_frontier;
ALTER TABLE eusaas.audit_chains DROP COLUMN tree_root;
