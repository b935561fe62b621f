package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
)

// AuditStore keeps the audit log in the platform schema (tables eusaas.audit_*, migration
// 00020_audit.sql). It implements audit.Store and audit.KeyStore.
//
// Appends lock the chain's row in eusaas.audit_chains with SELECT ... FOR UPDATE, insert the
// batch with COPY and move the head, all in one transaction; when the context carries a
// transaction (DB.InTx) the append joins it. Triggers make the chained table and the
// checkpoints append-only; only personal values and subject keys can be deleted.
type AuditStore struct {
	db *DB
}

var (
	_ audit.Store          = (*AuditStore)(nil)
	_ audit.KeyStore       = (*AuditStore)(nil)
	_ audit.PersonalPruner = (*AuditStore)(nil)
	_ audit.LinkedEraser   = (*AuditStore)(nil)
	_ audit.TreeUpgrader   = (*AuditStore)(nil)
)

// NewAuditStore returns the store on db. Run db.MigratePlatform first.
func NewAuditStore(db *DB) *AuditStore { return &AuditStore{db: db} }

// auditEntryColumns is the column list of eusaas.audit_entries in the order auditScanEntry
// and the COPY use.
var auditEntryColumns = []string{"chain", "seq", "id", "tenant_id", "actor_kind", "actor_id", "actor_tenant",
	"action", "resource_type", "resource_id", "subject", "changes", "personal_names", "personal_commitments",
	"occurred_at", "prev_hash", "hash"}

// auditSelect reads entries with their personal values. The side table is only visited for
// entries that have personal fields (the CASE), so chains of plain entries scan at the speed
// of the entries table. Each value comes as "name=value": names never contain "=" (see
// audit.ValidateEvent), so the first "=" splits them.
var auditSelect = "SELECT " + "e." + strings.Join(auditEntryColumns, ", e.") +
	`, CASE WHEN cardinality(e.personal_names) > 0 THEN ARRAY(
    SELECT ap.name || '=' || ap.value FROM eusaas.audit_personal ap WHERE ap.entry_id = e.id) END
FROM eusaas.audit_entries e`

// InTx implements audit.Store.
func (s *AuditStore) InTx(ctx context.Context) bool {
	_, ok := Tx(ctx)
	return ok
}

// Append implements audit.Store.
//
// Outside a caller's transaction an append is two pipelined round trips on one connection:
// [BEGIN; SELECT head FOR UPDATE], then [INSERT each entry and personal value; UPDATE head;
// COMMIT]. Any failure leaves the connection inside a transaction, and the pool discards
// such a connection on release, which rolls it back.
func (s *AuditStore) Append(ctx context.Context, chain eusaas.TenantID, seal func(audit.Head) (audit.Batch, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if tx, ok := Tx(ctx); ok {
		head, err := auditLockHead(ctx, tx, chain)
		if err != nil {
			return err
		}
		b, err := auditSealBatch(chain, head, seal)
		if err != nil || b == nil {
			return err
		}
		return auditRunBatch(ctx, tx, b)
	}
	conn, err := s.db.Pool.Acquire(ctx)
	if err != nil {
		return translate(err)
	}
	defer conn.Release()
	first := &pgx.Batch{}
	first.Queue("BEGIN")
	first.Queue(auditLockHeadSQL, [16]byte(chain))
	br := conn.SendBatch(ctx, first)
	_, err = br.Exec()
	var head audit.Head
	found := false
	if err == nil {
		head, err = auditScanHead(br.QueryRow())
		found = err == nil
		if errors.Is(err, pgx.ErrNoRows) {
			err = nil
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return translate(err)
	}
	if !found { // a new chain
		if head, err = auditLockHead(ctx, conn, chain); err != nil {
			return err
		}
	}
	b, err := auditSealBatch(chain, head, seal)
	if err != nil {
		return err
	}
	if b == nil {
		b = &pgx.Batch{}
	}
	b.Queue("COMMIT")
	return auditRunBatch(ctx, conn, b)
}

const auditHeadColumns = `size, head_hash, tree_root, tree_frontier, head_sig`

const auditLockHeadSQL = `SELECT ` + auditHeadColumns + ` FROM eusaas.audit_chains WHERE chain = $1 FOR UPDATE`

// auditScanHead reads the head columns (auditHeadColumns).
func auditScanHead(row pgx.Row) (audit.Head, error) {
	var h audit.Head
	var hash, root, frontier []byte
	if err := row.Scan(&h.Size, &hash, &root, &frontier, &h.Sig); err != nil {
		return h, err
	}
	copy(h.Hash[:], hash)
	copy(h.Root[:], root)
	h.Frontier = auditSplitHashes(frontier)
	return h, nil
}

// auditSplitHashes splits concatenated 32-byte hashes.
func auditSplitHashes(b []byte) []audit.Hash {
	if len(b) == 0 {
		return nil
	}
	out := make([]audit.Hash, len(b)/audit.HashSize)
	for i := range out {
		copy(out[i][:], b[i*audit.HashSize:])
	}
	return out
}

// auditJoinHashes concatenates hashes; nil for none (a NULL column).
func auditJoinHashes(hs []audit.Hash) []byte {
	if len(hs) == 0 {
		return nil
	}
	b := make([]byte, 0, len(hs)*audit.HashSize)
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}

func auditNullHash(h audit.Hash, set bool) []byte {
	if !set {
		return nil
	}
	return h[:]
}

const auditInsertEntrySQL = `INSERT INTO eusaas.audit_entries (chain, seq, id, tenant_id, actor_kind, actor_id, actor_tenant,
action, resource_type, resource_id, subject, changes, personal_names, personal_commitments, occurred_at, prev_hash, hash, tree_hashes)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`

const auditInsertPersonalSQL = `INSERT INTO eusaas.audit_personal (entry_id, name, tenant_id, subject, value) VALUES ($1, $2, $3, $4, $5)`

// auditSealBatch calls seal, checks the entries continue head and queues their inserts and
// the head move. nil when seal returned nothing.
func auditSealBatch(chain eusaas.TenantID, head audit.Head, seal func(audit.Head) (audit.Batch, error)) (*pgx.Batch, error) {
	sealed, err := seal(head)
	entries := sealed.Entries
	if err != nil || len(entries) == 0 {
		return nil, err
	}
	b := &pgx.Batch{}
	prev := head
	for i := range entries {
		e := &entries[i]
		if e.Chain != chain || e.Seq != prev.Size+1 || e.PrevHash != prev.Hash {
			return nil, audit.ErrConflict
		}
		prev = audit.Head{Size: e.Seq, Hash: e.Hash}
		names := make([]string, len(e.Personal))
		commits := make([][]byte, len(e.Personal))
		for j, f := range e.Personal {
			names[j], commits[j] = f.Name, f.Commitment[:]
		}
		b.Queue(auditInsertEntrySQL, [16]byte(e.Chain), e.Seq, [16]byte(e.ID), [16]byte(e.TenantID), string(e.Actor.Kind), e.Actor.ID,
			[16]byte(e.Actor.TenantID), e.Action, e.ResourceType, e.ResourceID, e.Subject, string(e.Changes),
			names, commits, e.Timestamp, e.PrevHash[:], e.Hash[:], auditJoinHashes(e.TreeHashes))
		for _, f := range e.Personal {
			b.Queue(auditInsertPersonalSQL, [16]byte(e.ID), f.Name, [16]byte(e.TenantID), e.Subject, f.Value)
		}
	}
	nh := sealed.Head
	if nh.Size != prev.Size || nh.Hash != prev.Hash {
		return nil, audit.ErrConflict
	}
	b.Queue(auditUpdateHeadSQL, [16]byte(chain), nh.Size, nh.Hash[:], auditNullHash(nh.Root, len(nh.Frontier) > 0),
		auditJoinHashes(nh.Frontier), nh.Sig)
	return b, nil
}

const auditUpdateHeadSQL = `UPDATE eusaas.audit_chains SET size = $2, head_hash = $3, tree_root = $4, tree_frontier = $5,
head_sig = $6, updated_at = now() WHERE chain = $1`

// auditRunBatch sends b in one round trip and reports its first error.
func auditRunBatch(ctx context.Context, q interface {
	SendBatch(context.Context, *pgx.Batch) pgx.BatchResults
}, b *pgx.Batch) error {
	br := q.SendBatch(ctx, b)
	var err error
	for range b.Len() {
		if _, err = br.Exec(); err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return translate(err)
}

// auditLockHead locks the chain's head row, creating it for a new chain.
func auditLockHead(ctx context.Context, q interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
	QueryRow(context.Context, string, ...any) pgx.Row
}, chain eusaas.TenantID) (audit.Head, error) {
	for range 2 {
		h, err := auditScanHead(q.QueryRow(ctx, auditLockHeadSQL, [16]byte(chain)))
		if err == nil {
			return h, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return audit.Head{}, translate(err)
		}
		// A new chain. Concurrent creators race on the primary key; the loser's insert
		// does nothing and its second SELECT waits for the winner's lock.
		var zero audit.Hash
		if _, err := q.Exec(ctx, `INSERT INTO eusaas.audit_chains (chain, size, head_hash) VALUES ($1, 0, $2) ON CONFLICT (chain) DO NOTHING`,
			[16]byte(chain), zero[:]); err != nil {
			return audit.Head{}, translate(err)
		}
	}
	return audit.Head{}, eusaas.E(eusaas.Internal, "audit: chain head missing")
}

// Head implements audit.Store.
func (s *AuditStore) Head(ctx context.Context, chain eusaas.TenantID) (audit.Head, error) {
	return auditHead(ctx, s.db.q(ctx), chain)
}

func auditHead(ctx context.Context, q querier, chain eusaas.TenantID) (audit.Head, error) {
	h, err := auditScanHead(q.QueryRow(ctx, `SELECT `+auditHeadColumns+` FROM eusaas.audit_chains WHERE chain = $1`, [16]byte(chain)))
	if errors.Is(err, pgx.ErrNoRows) {
		return audit.Head{}, nil
	}
	if err != nil {
		return audit.Head{}, translate(err)
	}
	return h, nil
}

// ScanRange implements audit.Store.
func (s *AuditStore) ScanRange(ctx context.Context, chain eusaas.TenantID, from, to int64, fn func(*audit.Entry) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rows, err := s.db.q(ctx).Query(ctx, auditSelect+` WHERE e.chain = $1 AND e.seq BETWEEN $2 AND $3 ORDER BY e.seq`, [16]byte(chain), from, to)
	if err != nil {
		return translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := auditScanEntry(rows)
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return translate(rows.Err())
}

// TreeHashes implements audit.Store.
func (s *AuditStore) TreeHashes(ctx context.Context, chain eusaas.TenantID, records []int64) (map[int64][]audit.Hash, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	seqs := make([]int64, len(records))
	for i, r := range records {
		seqs[i] = r + 1
	}
	rows, err := s.db.q(ctx).Query(ctx, `SELECT seq, tree_hashes FROM eusaas.audit_entries WHERE chain = $1 AND seq = ANY($2)`, [16]byte(chain), seqs)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := make(map[int64][]audit.Hash, len(records))
	for rows.Next() {
		var seq int64
		var b []byte
		if err := rows.Scan(&seq, &b); err != nil {
			return nil, translate(err)
		}
		if b != nil {
			out[seq-1] = auditSplitHashes(b)
		}
	}
	return out, translate(rows.Err())
}

// UpgradeTree implements audit.TreeUpgrader: in one transaction, under the head lock, it
// fills in the tree hashes of every entry (the trigger allows exactly this change once) and
// stores the new head.
func (s *AuditStore) UpgradeTree(ctx context.Context, chain eusaas.TenantID, expect audit.Head, trees [][]audit.Hash, head audit.Head) error {
	return s.db.InTx(ctx, func(ctx context.Context) error {
		tx, _ := Tx(ctx)
		h, err := auditLockHead(ctx, tx, chain)
		if err != nil {
			return err
		}
		if h.Size != expect.Size || h.Hash != expect.Hash || int64(len(trees)) != h.Size {
			return audit.ErrConflict
		}
		const chunk = 10000
		for lo := 0; lo < len(trees); lo += chunk {
			hi := min(lo+chunk, len(trees))
			seqs := make([]int64, 0, hi-lo)
			hashes := make([][]byte, 0, hi-lo)
			for i := lo; i < hi; i++ {
				seqs = append(seqs, int64(i)+1)
				hashes = append(hashes, auditJoinHashes(trees[i]))
			}
			if _, err := tx.Exec(ctx, `UPDATE eusaas.audit_entries e SET tree_hashes = u.h
FROM unnest($2::bigint[], $3::bytea[]) AS u(seq, h) WHERE e.chain = $1 AND e.seq = u.seq AND e.tree_hashes IS NULL`,
				[16]byte(chain), seqs, hashes); err != nil {
				return translate(err)
			}
		}
		_, err = tx.Exec(ctx, auditUpdateHeadSQL, [16]byte(chain), head.Size, head.Hash[:], auditNullHash(head.Root, len(head.Frontier) > 0),
			auditJoinHashes(head.Frontier), head.Sig)
		return translate(err)
	})
}

// auditScanEntry reads one row of auditSelect.
func auditScanEntry(rows pgx.Rows) (*audit.Entry, error) {
	var (
		e                          audit.Entry
		chain, id, tenant, actorTn [16]byte
		kind, changes              string
		names, pvals               []string
		commits                    [][]byte
		prev, hash                 []byte
	)
	if err := rows.Scan(&chain, &e.Seq, &id, &tenant, &kind, &e.Actor.ID, &actorTn, &e.Action, &e.ResourceType,
		&e.ResourceID, &e.Subject, &changes, &names, &commits, &e.Timestamp, &prev, &hash, &pvals); err != nil {
		return nil, translate(err)
	}
	e.Chain, e.ID, e.TenantID, e.Actor.TenantID = eusaas.TenantID(chain), uuid.UUID(id), eusaas.TenantID(tenant), eusaas.TenantID(actorTn)
	e.Actor.Kind = eusaas.ActorKind(kind)
	e.Timestamp = e.Timestamp.UTC()
	if changes != "" {
		e.Changes = []byte(changes)
	}
	copy(e.PrevHash[:], prev)
	copy(e.Hash[:], hash)
	if len(names) > 0 {
		e.Personal = make([]audit.PersonalField, len(names))
		for i, n := range names {
			f := audit.PersonalField{Name: n, Erased: true}
			if i < len(commits) {
				copy(f.Commitment[:], commits[i])
			}
			for _, pv := range pvals {
				if name, value, ok := strings.Cut(pv, "="); ok && name == n {
					f.Value, f.Erased = value, false
					break
				}
			}
			e.Personal[i] = f
		}
	}
	return &e, nil
}

// Scan implements audit.Store. Outside a transaction it opens a read-only REPEATABLE READ
// one, so the head and the rows come from one snapshot.
func (s *AuditStore) Scan(ctx context.Context, chain eusaas.TenantID, fn func(*audit.Entry) error) (audit.Head, error) {
	if err := ctx.Err(); err != nil {
		return audit.Head{}, err
	}
	q, ok := Tx(ctx)
	if !ok {
		tx, err := s.db.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return audit.Head{}, translate(err)
		}
		defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
		q = tx
	}
	head, err := auditHead(ctx, q, chain)
	if err != nil {
		return head, err
	}
	rows, err := q.Query(ctx, auditSelect+` WHERE e.chain = $1 ORDER BY e.seq`, [16]byte(chain))
	if err != nil {
		return head, translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := auditScanEntry(rows)
		if err != nil {
			return head, err
		}
		if err := fn(e); err != nil {
			return head, err
		}
	}
	return head, translate(rows.Err())
}

// List implements audit.Store.
func (s *AuditStore) List(ctx context.Context, chain eusaas.TenantID, f audit.Filter, p eusaas.Page) (eusaas.List[audit.Entry], error) {
	var out eusaas.List[audit.Entry]
	if err := ctx.Err(); err != nil {
		return out, err
	}
	where := []string{"e.chain = $1"}
	args := []any{[16]byte(chain)}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.Action != "" {
		add("e.action = ?", f.Action)
	}
	if f.ResourceType != "" {
		add("e.resource_type = ?", f.ResourceType)
	}
	if f.UserID != "" {
		add("e.actor_id = ?", f.UserID)
	}
	if !f.Since.IsZero() {
		add("e.occurred_at >= ?", f.Since)
	}
	if !f.Until.IsZero() {
		add("e.occurred_at < ?", f.Until)
	}
	if !f.TenantID.IsZero() {
		add("e.tenant_id = ?", [16]byte(f.TenantID))
	}
	if f.ID != uuid.Nil {
		add("e.id = ?", [16]byte(f.ID))
	}
	cond := strings.Join(where, " AND ")
	q := s.db.q(ctx)
	if err := q.QueryRow(ctx, `SELECT count(*) FROM eusaas.audit_entries e WHERE `+cond, args...).Scan(&out.Total); err != nil {
		return out, translate(err)
	}
	if out.Total == 0 {
		return out, nil
	}
	args = append(args, p.Size, p.Offset())
	rows, err := q.Query(ctx, auditSelect+` WHERE `+cond+` ORDER BY e.seq DESC LIMIT $`+strconv.Itoa(len(args)-1)+` OFFSET $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return out, translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := auditScanEntry(rows)
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, *e)
	}
	return out, translate(rows.Err())
}

// Chains implements audit.Store.
func (s *AuditStore) Chains(ctx context.Context) ([]eusaas.TenantID, error) {
	rows, err := s.db.q(ctx).Query(ctx, `SELECT chain FROM eusaas.audit_chains UNION SELECT chain FROM eusaas.audit_checkpoints ORDER BY 1`)
	if err != nil {
		return nil, translate(err)
	}
	ids, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (eusaas.TenantID, error) {
		var b [16]byte
		err := r.Scan(&b)
		return eusaas.TenantID(b), err
	})
	return ids, translate(err)
}

var _ audit.UncheckpointedLister = (*AuditStore)(nil)

// UncheckpointedChains implements audit.UncheckpointedLister: one query (the checkpoints'
// primary key answers each max), so the periodic checkpoint over 10,000 chains does not
// read 10,000 heads.
func (s *AuditStore) UncheckpointedChains(ctx context.Context) ([]eusaas.TenantID, error) {
	rows, err := s.db.q(ctx).Query(ctx, `SELECT c.chain FROM eusaas.audit_chains c
WHERE c.size <> COALESCE((SELECT max(k.size) FROM eusaas.audit_checkpoints k WHERE k.chain = c.chain), 0) ORDER BY 1`)
	if err != nil {
		return nil, translate(err)
	}
	ids, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (eusaas.TenantID, error) {
		var b [16]byte
		err := r.Scan(&b)
		return eusaas.TenantID(b), err
	})
	return ids, translate(err)
}

// PutCheckpoint implements audit.Store.
func (s *AuditStore) PutCheckpoint(ctx context.Context, c audit.Checkpoint) error {
	// (chain, size) is the primary key: replicas racing to checkpoint the same size store
	// one checkpoint, and each publishes the stored one (see Service.Checkpoint).
	var note *string
	if len(c.Note) > 0 {
		n := string(c.Note)
		note = &n
	}
	_, err := s.db.q(ctx).Exec(ctx, `INSERT INTO eusaas.audit_checkpoints (chain, size, head_hash, signed_at, key_id, signature, root_hash, note)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (chain, size) DO NOTHING`,
		[16]byte(c.Chain), c.Size, c.Head[:], c.Time, c.KeyID, c.Signature, auditNullHash(c.Root, len(c.Note) > 0), note)
	return translate(err)
}

// Checkpoints implements audit.Store.
func (s *AuditStore) Checkpoints(ctx context.Context, chain eusaas.TenantID) ([]audit.Checkpoint, error) {
	rows, err := s.db.q(ctx).Query(ctx, `SELECT size, head_hash, signed_at, key_id, signature, root_hash, note
FROM eusaas.audit_checkpoints WHERE chain = $1 ORDER BY size`, [16]byte(chain))
	if err != nil {
		return nil, translate(err)
	}
	cps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Checkpoint, error) {
		c := audit.Checkpoint{Chain: chain}
		var head, root []byte
		var note *string
		err := r.Scan(&c.Size, &head, &c.Time, &c.KeyID, &c.Signature, &root, &note)
		copy(c.Head[:], head)
		copy(c.Root[:], root)
		if note != nil {
			c.Note = []byte(*note)
		}
		c.Time = c.Time.UTC()
		return c, err
	})
	return cps, translate(err)
}

// DeletePersonal implements audit.Store.
func (s *AuditStore) DeletePersonal(ctx context.Context, tenant eusaas.TenantID, subject string) (int, error) {
	tag, err := s.db.q(ctx).Exec(ctx, `DELETE FROM eusaas.audit_personal WHERE tenant_id = $1 AND subject = $2`, [16]byte(tenant), subject)
	if err != nil {
		return 0, translate(err)
	}
	return int(tag.RowsAffected()), nil
}

// DeleteLinkedPersonal implements audit.LinkedEraser.
func (s *AuditStore) DeleteLinkedPersonal(ctx context.Context, tenant eusaas.TenantID, subject, name string) (int, error) {
	tag, err := s.db.q(ctx).Exec(ctx, `DELETE FROM eusaas.audit_personal
		WHERE tenant_id = $1 AND subject <> $2 AND value IN (
			SELECT value FROM eusaas.audit_personal WHERE tenant_id = $1 AND subject = $2 AND name = $3)`,
		[16]byte(tenant), subject, name)
	if err != nil {
		return 0, translate(err)
	}
	return int(tag.RowsAffected()), nil
}

// DeletePersonalBefore implements audit.PersonalPruner.
func (s *AuditStore) DeletePersonalBefore(ctx context.Context, tenant eusaas.TenantID, before time.Time, keep []string) (int, error) {
	if keep == nil {
		keep = []string{}
	}
	tag, err := s.db.q(ctx).Exec(ctx, `DELETE FROM eusaas.audit_personal p USING eusaas.audit_entries e
		WHERE p.entry_id = e.id AND p.tenant_id = $1 AND e.occurred_at < $2
		  AND (p.subject IS NULL OR p.subject = '' OR NOT p.subject = ANY($3))`, [16]byte(tenant), before, keep)
	if err != nil {
		return 0, translate(err)
	}
	return int(tag.RowsAffected()), nil
}

// SubjectKey implements audit.KeyStore.
func (s *AuditStore) SubjectKey(ctx context.Context, tenant eusaas.TenantID, subject string, create bool) ([]byte, bool, error) {
	q := s.db.q(ctx)
	for range 2 {
		var key []byte
		err := q.QueryRow(ctx, `SELECT key FROM eusaas.audit_subject_keys WHERE tenant_id = $1 AND subject = $2`, [16]byte(tenant), subject).Scan(&key)
		if err == nil {
			return key, true, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, false, translate(err)
		}
		if !create {
			return nil, false, nil
		}
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, false, err
		}
		err = q.QueryRow(ctx, `INSERT INTO eusaas.audit_subject_keys (tenant_id, subject, key) VALUES ($1, $2, $3)
ON CONFLICT (tenant_id, subject) DO NOTHING RETURNING key`, [16]byte(tenant), subject, key).Scan(&key)
		if err == nil {
			return key, true, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, false, translate(err)
		}
		// Lost a race with a concurrent creator: read its key.
	}
	return nil, false, eusaas.E(eusaas.Aborted, "audit: subject key contention, retry")
}

// DeleteSubjectKey implements audit.KeyStore.
func (s *AuditStore) DeleteSubjectKey(ctx context.Context, tenant eusaas.TenantID, subject string) (bool, error) {
	tag, err := s.db.q(ctx).Exec(ctx, `DELETE FROM eusaas.audit_subject_keys WHERE tenant_id = $1 AND subject = $2`, [16]byte(tenant), subject)
	if err != nil {
		return false, translate(err)
	}
	return tag.RowsAffected() > 0, nil
}

var _ audit.CursorStore = (*AuditStore)(nil)

// ExportCursor implements audit.CursorStore.
func (s *AuditStore) ExportCursor(ctx context.Context, name string, chain eusaas.TenantID) (int64, error) {
	var seq int64
	err := s.db.q(ctx).QueryRow(ctx, `SELECT seq FROM eusaas.audit_export_cursors WHERE name = $1 AND chain = $2`, name, [16]byte(chain)).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return seq, translate(err)
}

// SetExportCursor implements audit.CursorStore.
func (s *AuditStore) SetExportCursor(ctx context.Context, name string, chain eusaas.TenantID, seq int64) error {
	_, err := s.db.q(ctx).Exec(ctx, `INSERT INTO eusaas.audit_export_cursors (name, chain, seq) VALUES ($1, $2, $3)
ON CONFLICT (name, chain) DO UPDATE SET seq = GREATEST(eusaas.audit_export_cursors.seq, EXCLUDED.seq), updated_at = now()`,
		name, [16]byte(chain), seq)
	return translate(err)
}
