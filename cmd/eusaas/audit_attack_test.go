package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
)

// auditHead is an attacker's copy of a chain's head row (size, hashes, tree, signature).
type auditHead struct {
	size                int64
	hash, root, fr, sig []byte
}

// snapshotAuditHead copies the chain's head row as it is now.
func snapshotAuditHead(t *testing.T, db *postgres.DB, tenant eusaas.TenantID) auditHead {
	t.Helper()
	var h auditHead
	require.NoError(t, db.Pool.QueryRow(context.Background(), `SELECT size, head_hash, tree_root, tree_frontier, head_sig FROM eusaas.audit_chains WHERE chain = $1`,
		tenant.UUID()).Scan(&h.size, &h.hash, &h.root, &h.fr, &h.sig))
	return h
}

// rollBackAuditChain is the truncation attack the checkpoint copies must expose: with the
// append-only triggers off, it deletes the chain's entries and checkpoints after the copy and
// restores the old head row, so the database alone is consistent again.
func rollBackAuditChain(t *testing.T, db *postgres.DB, tenant eusaas.TenantID, backup auditHead) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"SET LOCAL session_replication_role = replica", nil},
		{`DELETE FROM eusaas.audit_entries WHERE chain = $1 AND seq > $2`, []any{tenant.UUID(), backup.size}},
		{`DELETE FROM eusaas.audit_checkpoints WHERE chain = $1 AND size > $2`, []any{tenant.UUID(), backup.size}},
		{`UPDATE eusaas.audit_chains SET size = $2, head_hash = $3, tree_root = $4, tree_frontier = $5, head_sig = $6 WHERE chain = $1`,
			[]any{tenant.UUID(), backup.size, backup.hash, backup.root, backup.fr, backup.sig}},
	} {
		_, err := tx.Exec(ctx, q.sql, q.args...)
		require.NoError(t, err, q.sql)
	}
	require.NoError(t, tx.Commit(ctx))
}
