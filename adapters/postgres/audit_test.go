package postgres_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/audit/audittest"
	"github.com/eusaas/eusaas/internal/pgtest"
)

func auditDB(t testing.TB) *postgres.DB {
	t.Helper()
	db := postgres.New(pgtest.Pool(t))
	require.NoError(t, db.MigratePlatform(context.Background()))
	return db
}

func TestConformanceAudit(t *testing.T) {
	t.Parallel()
	audittest.Run(t, audittest.Harness{
		Features: audittest.Features{TxRollback: true},
		New: func(t *testing.T) audittest.Stores {
			db := auditDB(t)
			s := postgres.NewAuditStore(db)
			return audittest.Stores{
				Store:    s,
				Keys:     s,
				Tx:       db,
				Tamper:   auditPgTamper{db},
				Contains: func(ctx context.Context, v string) (bool, error) { return auditPgContains(ctx, db, v) },
			}
		},
	})
}

// auditPgContains searches every row of every table in the platform schema, all columns as
// text, for value.
func auditPgContains(ctx context.Context, db *postgres.DB, value string) (bool, error) {
	rows, err := db.Pool.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'eusaas' AND table_type = 'BASE TABLE'`)
	if err != nil {
		return false, err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return false, err
	}
	if len(tables) < 5 {
		return false, nil
	}
	for _, tb := range tables {
		var n int
		q := `SELECT count(*) FROM eusaas.` + pgx.Identifier{tb}.Sanitize() + ` x WHERE strpos(x::text, $1) > 0`
		if err := db.Pool.QueryRow(ctx, q, value).Scan(&n); err != nil {
			return false, err
		}
		if n > 0 {
			return true, nil
		}
	}
	return false, nil
}

// auditPgTamper edits the tables as an attacker with superuser access would: in a
// transaction with session_replication_role = replica, which disables the append-only
// triggers (and foreign keys).
type auditPgTamper struct{ db *postgres.DB }

func (p auditPgTamper) exec(ctx context.Context, stmts ...string) func(args ...[]any) error {
	return func(args ...[]any) error {
		return p.db.InTx(ctx, func(ctx context.Context) error {
			tx, _ := postgres.Tx(ctx)
			if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
				return err
			}
			for i, s := range stmts {
				if _, err := tx.Exec(ctx, s, args[i]...); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

func (p auditPgTamper) EditAction(ctx context.Context, chain eusaas.TenantID, seq int64, action string) error {
	return p.exec(ctx, `UPDATE eusaas.audit_entries SET action = $3 WHERE chain = $1 AND seq = $2`)([]any{chain.UUID(), seq, action})
}

func (p auditPgTamper) Delete(ctx context.Context, chain eusaas.TenantID, seq int64) error {
	return p.exec(ctx, `DELETE FROM eusaas.audit_entries WHERE chain = $1 AND seq = $2`)([]any{chain.UUID(), seq})
}

const auditPgShift = 1_000_000_000

func (p auditPgTamper) Renumber(ctx context.Context, chain eusaas.TenantID, from, delta int64) error {
	// Through a far-away range, so the primary key never sees two rows on one seq.
	return p.exec(ctx,
		`UPDATE eusaas.audit_entries SET seq = seq + $3 + `+"1000000000"+` WHERE chain = $1 AND seq >= $2`,
		`UPDATE eusaas.audit_entries SET seq = seq - 1000000000 WHERE chain = $1 AND seq >= $2`,
	)([]any{chain.UUID(), from, delta}, []any{chain.UUID(), int64(auditPgShift)})
}

func (p auditPgTamper) Insert(ctx context.Context, e audit.Entry) error {
	return p.exec(ctx, `INSERT INTO eusaas.audit_entries (chain, seq, id, tenant_id, actor_kind, actor_id, actor_tenant,
action, resource_type, resource_id, subject, changes, personal_names, personal_commitments, occurred_at, prev_hash, hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, '{}', '{}', $13, $14, $15)`)(
		[]any{e.Chain.UUID(), e.Seq, e.ID, e.TenantID.UUID(), string(e.Actor.Kind), e.Actor.ID, e.Actor.TenantID.UUID(),
			e.Action, e.ResourceType, e.ResourceID, e.Subject, string(e.Changes), e.Timestamp, e.PrevHash[:], e.Hash[:]})
}

func (p auditPgTamper) Swap(ctx context.Context, chain eusaas.TenantID, a, b int64) error {
	return p.exec(ctx,
		`UPDATE eusaas.audit_entries SET seq = $3 WHERE chain = $1 AND seq = $2`,
		`UPDATE eusaas.audit_entries SET seq = $3 WHERE chain = $1 AND seq = $2`,
		`UPDATE eusaas.audit_entries SET seq = $3 WHERE chain = $1 AND seq = $2`,
	)([]any{chain.UUID(), a, int64(auditPgShift)}, []any{chain.UUID(), b, a}, []any{chain.UUID(), int64(auditPgShift), b})
}

func (p auditPgTamper) EditPersonal(ctx context.Context, entry uuid.UUID, name, value string) error {
	return p.exec(ctx, `UPDATE eusaas.audit_personal SET value = $3 WHERE entry_id = $1 AND name = $2`)([]any{entry, name, value})
}

func (p auditPgTamper) Rollback(ctx context.Context, chain eusaas.TenantID, size int64) error {
	return p.exec(ctx,
		`DELETE FROM eusaas.audit_entries WHERE chain = $1 AND seq > $2`,
		`UPDATE eusaas.audit_chains c SET size = $2, head_hash = e.hash FROM eusaas.audit_entries e
		 WHERE c.chain = $1 AND e.chain = $1 AND e.seq = $2`,
	)([]any{chain.UUID(), size}, []any{chain.UUID(), size})
}

// Rewrite is the forging attack of issue 15 done the way an attacker with SQL access would:
// triggers disabled for the transaction, every column of the entries rewritten, the head
// row moved (its signature column left alone: the attacker cannot make a new one).
func (p auditPgTamper) Rewrite(ctx context.Context, chain eusaas.TenantID, entries []audit.Entry, head *audit.Head) error {
	var stmts []string
	var args [][]any
	for _, e := range entries {
		names := make([]string, len(e.Personal))
		commits := make([][]byte, len(e.Personal))
		for j, f := range e.Personal {
			names[j], commits[j] = f.Name, f.Commitment[:]
		}
		stmts = append(stmts, `UPDATE eusaas.audit_entries SET id = $3, tenant_id = $4, actor_kind = $5, actor_id = $6,
actor_tenant = $7, action = $8, resource_type = $9, resource_id = $10, subject = $11, changes = $12, personal_names = $13,
personal_commitments = $14, occurred_at = $15, prev_hash = $16, hash = $17, tree_hashes = $18 WHERE chain = $1 AND seq = $2`)
		args = append(args, []any{chain.UUID(), e.Seq, e.ID, e.TenantID.UUID(), string(e.Actor.Kind), e.Actor.ID, e.Actor.TenantID.UUID(),
			e.Action, e.ResourceType, e.ResourceID, e.Subject, string(e.Changes), names, commits, e.Timestamp, e.PrevHash[:], e.Hash[:],
			treeBytes(e.TreeHashes)})
	}
	if head != nil {
		var frontier []byte
		for _, h := range head.Frontier {
			frontier = append(frontier, h[:]...)
		}
		stmts = append(stmts, `UPDATE eusaas.audit_chains SET size = $2, head_hash = $3, tree_root = $4, tree_frontier = $5 WHERE chain = $1`)
		args = append(args, []any{chain.UUID(), head.Size, head.Hash[:], head.Root[:], frontier})
	}
	return p.exec(ctx, stmts...)(args...)
}

// The application cannot change or remove chained rows, checkpoints or move a head back:
// the triggers refuse. Personal values and keys can be deleted (erasure), not changed.
func TestAuditAppendOnlyTriggers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := auditDB(t)
	store := postgres.NewAuditStore(db)
	svc, err := audit.NewService(audit.Deps{Store: store, Keys: store}, audit.Options{Signer: ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))})
	require.NoError(t, err)
	tenant := eusaas.NewTenantID()
	for range 3 {
		require.NoError(t, svc.Record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.Actor{Kind: eusaas.ActorUser, ID: "u1"},
			Action: audit.ActionLogin, Meta: eusaas.RequestMeta{IP: "198.51.100.1"}}))
	}
	_, err = svc.Checkpoint(ctx, tenant)
	require.NoError(t, err)
	for _, stmt := range []string{
		`UPDATE eusaas.audit_entries SET action = 'READ' WHERE chain = $1`,
		`DELETE FROM eusaas.audit_entries WHERE chain = $1`,
		`TRUNCATE eusaas.audit_entries CASCADE`,
		`UPDATE eusaas.audit_checkpoints SET size = 1 WHERE chain = $1`,
		`DELETE FROM eusaas.audit_checkpoints WHERE chain = $1`,
		`UPDATE eusaas.audit_chains SET size = 1 WHERE chain = $1`,
		`DELETE FROM eusaas.audit_chains WHERE chain = $1`,
		`UPDATE eusaas.audit_personal SET value = 'x' WHERE tenant_id = $1`,
		`UPDATE eusaas.audit_subject_keys SET key = 'x' WHERE tenant_id = $1`,
		// The upgrade's one allowed change (NULL tree hashes filled in) allows nothing else.
		`UPDATE eusaas.audit_entries SET tree_hashes = decode(repeat('00', 32), 'hex') WHERE chain = $1`,
		`UPDATE eusaas.audit_entries SET tree_hashes = NULL WHERE chain = $1`,
	} {
		var args []any
		if hasParam(stmt) {
			args = []any{tenant.UUID()}
		}
		_, err := db.Pool.Exec(ctx, stmt, args...)
		require.Error(t, err, stmt)
	}
	r, err := svc.Verify(ctx, tenant)
	require.NoError(t, err)
	require.True(t, r.OK)
	tag, err := db.Pool.Exec(ctx, `DELETE FROM eusaas.audit_personal WHERE tenant_id = $1`, tenant.UUID())
	require.NoError(t, err)
	require.EqualValues(t, 3, tag.RowsAffected())
	tag, err = db.Pool.Exec(ctx, `DELETE FROM eusaas.audit_subject_keys WHERE tenant_id = $1`, tenant.UUID())
	require.NoError(t, err)
	require.EqualValues(t, 1, tag.RowsAffected())
}

func hasParam(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '$' {
			return true
		}
	}
	return false
}

// Two services on one database stand for two server processes: their group commits race for
// the same chain, and the head lock still assigns every seq exactly once.
func TestAuditTwoProcessesNoFork(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := auditDB(t)
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	var svcs []*audit.Service
	for range 2 {
		svc, err := audit.NewService(audit.Deps{Store: postgres.NewAuditStore(db), Keys: postgres.NewAuditStore(db)}, audit.Options{Signer: key, CheckpointEvery: 50})
		require.NoError(t, err)
		svcs = append(svcs, svc)
	}
	tenant := eusaas.NewTenantID()
	errs := make(chan error, 64)
	for w := range 64 {
		go func() {
			var err error
			for range 6 {
				if err = svcs[w%2].Record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: audit.ActionCreate}); err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range 64 {
		require.NoError(t, <-errs)
	}
	r, err := svcs[0].Verify(ctx, tenant)
	require.NoError(t, err)
	require.Nil(t, r.Finding)
	require.Equal(t, int64(384), r.Entries)
	require.Equal(t, int64(384), r.Head.Size)
}

// A database from before migration 00021: chains without tree hashes, heads without tree or
// writer signature, checkpoints in the old format only. The server's start (Service.Upgrade)
// verifies each chain, builds its tree once, verifies again and checkpoints it in the
// signed-note format; a tampered old chain is left alone and reported.
func TestAuditUpgradeLegacyChains(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := auditDB(t)
	store := postgres.NewAuditStore(db)
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	svc, err := audit.NewService(audit.Deps{Store: store, Keys: store}, audit.Options{Signer: key, CheckpointEvery: 8})
	require.NoError(t, err)
	good, bad := eusaas.NewTenantID(), eusaas.NewTenantID()
	for i := range 30 {
		for _, tn := range []eusaas.TenantID{good, bad} {
			require.NoError(t, svc.Record(ctx, eusaas.AuditEvent{TenantID: tn, Actor: eusaas.System, Action: audit.ActionCreate,
				ResourceID: fmt.Sprint(i), Meta: eusaas.RequestMeta{IP: "198.51.100.9"}}))
		}
	}
	// Back to the old format, as migration 00021 leaves an old database.
	tamper := auditPgTamper{db}
	require.NoError(t, tamper.exec(ctx,
		`UPDATE eusaas.audit_entries SET tree_hashes = NULL`,
		`UPDATE eusaas.audit_chains SET tree_root = NULL, tree_frontier = NULL, head_sig = NULL`,
		`UPDATE eusaas.audit_checkpoints SET root_hash = NULL, note = NULL`,
	)(nil, nil, nil))
	require.NoError(t, tamper.EditAction(ctx, bad, 3, audit.ActionRead))

	svc2, err := audit.NewService(audit.Deps{Store: store, Keys: store}, audit.Options{Signer: key, CheckpointEvery: 8})
	require.NoError(t, err)
	r, err := svc2.Verify(ctx, good)
	require.NoError(t, err)
	require.True(t, r.OK, "old chains verify as they are (before)")
	err = svc2.Record(ctx, eusaas.AuditEvent{TenantID: good, Actor: eusaas.System, Action: audit.ActionCreate})
	require.ErrorIs(t, err, audit.ErrUpgrade, "no appends to an old chain before its tree is built")

	n, err := svc2.Upgrade(ctx)
	require.Equal(t, 1, n)
	require.Error(t, err, "the tampered chain is reported")
	require.Contains(t, err.Error(), bad.String())
	n, err = svc2.Upgrade(ctx)
	require.Zero(t, n, "idempotent")
	require.Error(t, err)

	r, err = svc2.Verify(ctx, good)
	require.NoError(t, err)
	require.True(t, r.OK, "after: %v", r.Finding)
	require.NotEmpty(t, r.Checkpoint.Note, "checkpointed in the signed-note format")
	require.Equal(t, int64(30), r.Checkpoint.Size)
	require.NoError(t, svc2.Record(ctx, eusaas.AuditEvent{TenantID: good, Actor: eusaas.System, Action: audit.ActionCreate}))
	var first audit.Entry
	_, err = store.Scan(ctx, good, func(e *audit.Entry) error {
		if e.Seq == 1 {
			first = *e
		}
		return nil
	})
	require.NoError(t, err)
	p, err := svc2.Prove(ctx, good, first.ID)
	require.NoError(t, err)
	require.Equal(t, int64(30), p.TreeSize, "against the latest checkpoint, which covers it")
	require.True(t, audittest.RFCVerifyInclusion(0, p.TreeSize, p.LeafHash[:], proofBytes(p.Proof), p.Root[:]))
	// The old checkpoints still verify, and the chain is consistent with them.
	cps, err := store.Checkpoints(ctx, good)
	require.NoError(t, err)
	require.True(t, audit.VerifyCheckpoint(key.Public().(ed25519.PublicKey), cps[0]))
	require.Empty(t, cps[0].Note)
}

func proofBytes(hs []audit.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

// The attack of issue 15 with the default cadence (a checkpoint per 1,000 entries or 60 s):
// an attacker with SQL access rewrites an entry of the un-checkpointed window, re-hashes
// forward and moves the head, with triggers disabled. The periodic checkpointer does not sign
// it; the alert is an error log line, the counter the server exports, and the hook.
func TestAuditForgeryAttackAlert(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := auditDB(t)
	store := postgres.NewAuditStore(db)
	var logs bytes.Buffer
	var hooked []string
	clock := eusaas.NewFakeClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	svc, err := audit.NewService(audit.Deps{Store: store, Keys: store}, audit.Options{
		Signer: ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)), Clock: clock,
		Logger:    slog.New(slog.NewJSONHandler(&logs, nil)),
		OnForgery: func(chain eusaas.TenantID, detail string) { hooked = append(hooked, detail) }})
	require.NoError(t, err)
	tenant := eusaas.NewTenantID()
	for i := range 30 {
		require.NoError(t, svc.Record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: audit.ActionCreate,
			ResourceType: "invoice", ResourceID: fmt.Sprint(i)}))
		clock.Advance(time.Second)
	}
	cps, err := store.Checkpoints(ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, []int64{1}, []int64{cps[len(cps)-1].Size}, "only the first append was checkpointed: 2..30 are in the window")

	var all []audit.Entry
	_, err = store.Scan(ctx, tenant, func(e *audit.Entry) error { all = append(all, *e); return nil })
	require.NoError(t, err)
	forged, head := audittest.Forge(all, 17, func(e *audit.Entry) { e.ResourceID = "inv-never-issued" })
	require.NoError(t, auditPgTamper{db}.Rewrite(ctx, tenant, forged[16:], &head))

	clock.Advance(2 * time.Minute)
	n, err := svc.CheckpointDue(ctx) // what Run does every interval
	require.ErrorIs(t, err, audit.ErrForged)
	require.Zero(t, n)
	cps, err = store.Checkpoints(ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, int64(1), cps[len(cps)-1].Size, "the forged head was never signed")
	require.Equal(t, uint64(1), svc.ForgeriesDetected())
	require.Len(t, hooked, 1)
	require.Contains(t, logs.String(), "FORGERY DETECTED")
	require.Contains(t, logs.String(), tenant.String())
	r, err := svc.Verify(ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, audit.KindForged, r.Finding.Kind, "%s", r.Finding)
	err = svc.Record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: audit.ActionCreate})
	require.ErrorIs(t, err, audit.ErrForged, "nothing is written on top of the forgery")
}

// The periodic checkpoint job asks the store which chains moved since their checkpoint
// (one query) and checkpoints exactly those, whichever process wrote them.
func TestAuditUncheckpointedChains(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := auditDB(t)
	store := postgres.NewAuditStore(db)
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	writer, err := audit.NewService(audit.Deps{Store: store, Keys: store}, audit.Options{Signer: key, CheckpointEvery: 1_000_000})
	require.NoError(t, err)
	worker, err := audit.NewService(audit.Deps{Store: postgres.NewAuditStore(db), Keys: postgres.NewAuditStore(db)}, audit.Options{Signer: key, CheckpointEvery: 1_000_000})
	require.NoError(t, err)
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
	// (A chain's first entry is checkpointed at once; the later ones wait.)
	for _, tn := range []eusaas.TenantID{a, a, a, b, b} {
		require.NoError(t, writer.Record(ctx, eusaas.AuditEvent{TenantID: tn, Actor: eusaas.System, Action: audit.ActionCreate}))
	}
	dirty, err := store.UncheckpointedChains(ctx)
	require.NoError(t, err)
	require.Subset(t, dirty, []eusaas.TenantID{a, b})
	n, err := worker.CheckpointStored(ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 2)
	dirty, err = store.UncheckpointedChains(ctx)
	require.NoError(t, err)
	require.NotContains(t, dirty, a)
	require.NotContains(t, dirty, b)
	require.NoError(t, writer.Record(ctx, eusaas.AuditEvent{TenantID: b, Actor: eusaas.System, Action: audit.ActionCreate}))
	dirty, err = store.UncheckpointedChains(ctx)
	require.NoError(t, err)
	require.NotContains(t, dirty, a)
	// b moved: listed, unless the writer checkpointed it inline already.
	bcps, err := store.Checkpoints(ctx, b)
	require.NoError(t, err)
	if bcps[len(bcps)-1].Size != 3 {
		h, _ := store.Head(ctx, b)
		require.Contains(t, dirty, b, "head %d, checkpoints %d, last %d", h.Size, len(bcps), bcps[len(bcps)-1].Size)
	}
	cps, err := store.Checkpoints(ctx, a)
	require.NoError(t, err)
	require.Equal(t, int64(3), cps[len(cps)-1].Size, "a's latest checkpoint covers its head")
}
