package audittest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
)

// Tamper edits stored audit data bypassing every guard (triggers, the service).
type Tamper interface {
	// EditAction overwrites the action of the entry at seq, leaving its hash alone.
	EditAction(ctx context.Context, chain eusaas.TenantID, seq int64, action string) error
	// Delete removes the entry at seq.
	Delete(ctx context.Context, chain eusaas.TenantID, seq int64) error
	// Renumber adds delta to the seq of every entry with seq >= from.
	Renumber(ctx context.Context, chain eusaas.TenantID, from, delta int64) error
	// Insert stores e as given (personal values ignored).
	Insert(ctx context.Context, e audit.Entry) error
	// Swap exchanges the seqs of the entries at a and b.
	Swap(ctx context.Context, chain eusaas.TenantID, a, b int64) error
	// Rollback deletes the entries after size and moves the head back to the entry at size.
	Rollback(ctx context.Context, chain eusaas.TenantID, size int64) error
	// EditPersonal overwrites a personal value in the side data.
	EditPersonal(ctx context.Context, entry uuid.UUID, name, value string) error
	// Rewrite replaces the stored entries that have the seqs of entries (every column:
	// content, hashes and tree hashes; personal values stay) and, when head is not nil,
	// sets the chain head's size, hash, root and frontier, leaving its signature as it is.
	Rewrite(ctx context.Context, chain eusaas.TenantID, entries []audit.Entry, head *audit.Head) error
}

// runTamper has one subtest per kind of tampering; each starts from a verified chain of 10
// entries with a checkpoint at 10.
func runTamper(t *testing.T, h Harness) {
	ctx := context.Background()
	setup := func(t *testing.T) (*env, eusaas.TenantID, []audit.Entry) {
		e := newEnv(t, h, audit.Options{CheckpointEvery: 1000, CheckpointInterval: time.Hour})
		tenant := eusaas.NewTenantID()
		got := e.record(t, tenant, 10)
		_, err := e.svc.Checkpoint(ctx, tenant)
		require.NoError(t, err)
		requireOK(t, e.verify(t, tenant), 10)
		return e, tenant, got
	}
	t.Run("EditField", func(t *testing.T) {
		t.Parallel()
		e, tenant, _ := setup(t)
		require.NoError(t, e.Tamper.EditAction(ctx, tenant, 4, audit.ActionRead))
		requireFinding(t, e.verify(t, tenant), audit.KindModified, 4)
	})
	t.Run("DeleteRow", func(t *testing.T) {
		t.Parallel()
		e, tenant, _ := setup(t)
		require.NoError(t, e.Tamper.Delete(ctx, tenant, 6))
		requireFinding(t, e.verify(t, tenant), audit.KindDeleted, 6)
	})
	t.Run("DeleteRowAndRenumber", func(t *testing.T) {
		t.Parallel()
		e, tenant, _ := setup(t)
		require.NoError(t, e.Tamper.Delete(ctx, tenant, 6))
		require.NoError(t, e.Tamper.Renumber(ctx, tenant, 7, -1))
		requireFinding(t, e.verify(t, tenant), audit.KindDeleted, 6)
	})
	t.Run("InsertRow", func(t *testing.T) {
		t.Parallel()
		e, tenant, got := setup(t)
		// A forged entry with a correct hash, linked to entry 4, slotted in at 5.
		forged := got[4]
		forged.ID = uuid.New()
		forged.Action = audit.ActionDelete
		forged.Personal = nil
		forged.Hash = audit.EntryHash(&forged)
		require.NoError(t, e.Tamper.Renumber(ctx, tenant, 5, 1))
		require.NoError(t, e.Tamper.Insert(ctx, forged))
		requireFinding(t, e.verify(t, tenant), audit.KindInserted, 5)
	})
	t.Run("InsertRowCarelessly", func(t *testing.T) {
		t.Parallel()
		e, tenant, got := setup(t)
		forged := got[2]
		forged.ID = uuid.New()
		forged.Personal = nil
		forged.Hash = audit.Hash{1} // not even a valid hash
		require.NoError(t, e.Tamper.Renumber(ctx, tenant, 3, 1))
		require.NoError(t, e.Tamper.Insert(ctx, forged))
		requireFinding(t, e.verify(t, tenant), audit.KindInserted, 3)
	})
	t.Run("InsertAfterHead", func(t *testing.T) {
		t.Parallel()
		e, tenant, got := setup(t)
		forged := got[9]
		forged.ID = uuid.New()
		forged.Seq = 11
		forged.PrevHash = got[9].Hash
		forged.Personal = nil
		forged.Hash = audit.EntryHash(&forged)
		require.NoError(t, e.Tamper.Insert(ctx, forged))
		requireFinding(t, e.verify(t, tenant), audit.KindInserted, 11)
	})
	t.Run("SwapTwo", func(t *testing.T) {
		t.Parallel()
		e, tenant, _ := setup(t)
		require.NoError(t, e.Tamper.Swap(ctx, tenant, 3, 7))
		requireFinding(t, e.verify(t, tenant), audit.KindReordered, 3)
	})
	t.Run("SwapAdjacent", func(t *testing.T) {
		t.Parallel()
		e, tenant, _ := setup(t)
		require.NoError(t, e.Tamper.Swap(ctx, tenant, 8, 9))
		requireFinding(t, e.verify(t, tenant), audit.KindReordered, 8)
	})
	t.Run("DropTail", func(t *testing.T) {
		t.Parallel()
		e, tenant, _ := setup(t)
		// The attacker also moves the head back: only the signed checkpoint tells.
		require.NoError(t, e.Tamper.Rollback(ctx, tenant, 7))
		requireFinding(t, e.verify(t, tenant), audit.KindTruncated, 8)
	})
	t.Run("DropTailLeavingHead", func(t *testing.T) {
		t.Parallel()
		e, tenant, _ := setup(t)
		require.NoError(t, e.Tamper.Delete(ctx, tenant, 10))
		requireFinding(t, e.verify(t, tenant), audit.KindTruncated, 10)
	})
	t.Run("EditPersonalValue", func(t *testing.T) {
		t.Parallel()
		e, tenant, _ := setup(t)
		ev := event(tenant, audit.ActionLogin, 11)
		ev.Meta = eusaas.RequestMeta{IP: "198.51.100.23"}
		en, err := e.svc.RecordEntry(ctx, ev)
		require.NoError(t, err)
		requireOK(t, e.verify(t, tenant), 11)
		require.NoError(t, e.Tamper.EditPersonal(ctx, en.ID, audit.FieldIPAddress, "10.0.0.1"))
		requireFinding(t, e.verify(t, tenant), audit.KindModified, 11)
	})
	t.Run("ForgeUncheckpointed", func(t *testing.T) { t.Parallel(); testForge(t, h, true) })
	t.Run("ForgeUncheckpointedLeavingHead", func(t *testing.T) { t.Parallel(); testForge(t, h, false) })
	t.Run("RollbackAndRewrite", func(t *testing.T) {
		t.Parallel()
		e, tenant, _ := setup(t)
		// Roll back to 7 and try to go on from there: the writer knows the head was at 10
		// and refuses to write (or sign) over a head it did not produce.
		require.NoError(t, e.Tamper.Rollback(ctx, tenant, 7))
		before := e.svc.ForgeriesDetected()
		err := e.svc.Record(ctx, event(tenant, audit.ActionUpdate, 11))
		require.ErrorIs(t, err, audit.ErrForged)
		require.Greater(t, e.svc.ForgeriesDetected(), before, "alert raised")
		requireFinding(t, e.verify(t, tenant), audit.KindTruncated, 8)
	})
}

// testForge is the attack of issue 15: with write access to the store, rewrite an entry no
// checkpoint covers yet, re-hash the chain (hashes, links, tree) forward from it and, with
// moveHead, move the head to the forged end. The periodic checkpointer must not sign it, on
// this process or on another replica that never saw the writes, and the alert is raised.
func testForge(t *testing.T, h Harness, moveHead bool) {
	ctx := context.Background()
	e := newEnv(t, h, audit.Options{CheckpointEvery: 1000, CheckpointInterval: time.Hour})
	tenant := eusaas.NewTenantID()
	e.record(t, tenant, 10)
	cp, err := e.svc.Checkpoint(ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, int64(10), cp.Size)
	e.record(t, tenant, 5) // 11..15: in the window no checkpoint covers
	head, err := e.Store.Head(ctx, tenant)
	require.NoError(t, err)

	// The attacker reads the chain, changes entry 12 and recomputes everything after it.
	var all []audit.Entry
	_, err = e.Store.Scan(ctx, tenant, func(en *audit.Entry) error { all = append(all, *en); return nil })
	require.NoError(t, err)
	require.Len(t, all, 15)
	forged, forgedHead := Forge(all, 12, func(en *audit.Entry) {
		en.Action = audit.ActionDelete
		en.ResourceID = "inv-forged"
	})
	forgedHead.Sig = head.Sig
	all = forged
	var hp *audit.Head
	if moveHead {
		hp = &forgedHead
	}
	require.NoError(t, e.Tamper.Rewrite(ctx, tenant, all[11:], hp))

	// Another replica: same key and stores, none of this process's memory.
	replica, err := audit.NewService(audit.Deps{Store: e.Store, Keys: e.Keys, Sink: e.sink, Tx: e.Tx},
		audit.Options{Signer: testSigner, Clock: e.clock, CheckpointEvery: 1000, CheckpointInterval: time.Hour})
	require.NoError(t, err)
	for _, svc := range []*audit.Service{e.svc, replica} {
		before := svc.ForgeriesDetected()
		_, err := svc.Checkpoint(ctx, tenant)
		require.ErrorIs(t, err, audit.ErrForged, "the forged head must never be signed")
		require.Equal(t, before+1, svc.ForgeriesDetected(), "alert raised")
		e.clock.Advance(2 * time.Hour)
		_, err = svc.CheckpointDue(ctx)
		if svc == e.svc {
			require.ErrorIs(t, err, audit.ErrForged, "the periodic checkpointer refuses too")
		}
	}
	cps, err := e.Store.Checkpoints(ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, int64(10), cps[len(cps)-1].Size, "nothing signed after the forgery")
	for _, c := range e.sink.All() {
		require.LessOrEqual(t, c.Size, int64(10), "nothing forged published")
	}
	if moveHead {
		// Writers refuse to build on a head they did not sign.
		err = e.svc.Record(ctx, event(tenant, audit.ActionUpdate, 16))
		require.ErrorIs(t, err, audit.ErrForged)
		requireFinding(t, e.verify(t, tenant), audit.KindForged, 15)
	} else {
		requireFinding(t, e.verify(t, tenant), audit.KindTruncated, 15)
	}
}

// Forge is what an attacker who can read and write the store computes: entries (a whole
// chain, by seq from 1) with the one at seq changed by mutate and everything from it on
// re-hashed consistently (hashes, links, tree hashes), and the head such a chain would have.
// The head carries no signature: only a writer holding the key can make one.
func Forge(entries []audit.Entry, seq int64, mutate func(*audit.Entry)) ([]audit.Entry, audit.Head) {
	out := append([]audit.Entry(nil), entries...)
	var f audit.Frontier
	prev := audit.Hash{}
	for i := range out {
		en := &out[i]
		if en.Seq == seq {
			mutate(en)
		}
		en.PrevHash = prev
		en.Hash = audit.EntryHash(en)
		en.TreeHashes = f.Append(en.Seq-1, audit.LeafHash(en.Hash))
		prev = en.Hash
	}
	return out, audit.Head{Size: int64(len(out)), Hash: prev, Root: f.Root(), Frontier: f}
}
