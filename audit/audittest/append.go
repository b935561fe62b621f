package audittest

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
)

func testAppendAndVerify(t *testing.T, h Harness) {
	ctx := context.Background()
	t.Parallel()
	e := newEnv(t, h, audit.Options{})
	tenant := eusaas.NewTenantID()
	got := e.record(t, tenant, 5)
	for i, en := range got {
		require.Equal(t, int64(i+1), en.Seq)
		require.Equal(t, tenant, en.Chain)
		require.Equal(t, audit.EntryHash(&en), en.Hash)
		if i > 0 {
			require.Equal(t, got[i-1].Hash, en.PrevHash)
		}
	}
	require.Equal(t, audit.Hash{}, got[0].PrevHash)
	head, err := e.Store.Head(ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, int64(5), head.Size)
	require.Equal(t, got[4].Hash, head.Hash)
	require.True(t, head.HasTree())
	require.Equal(t, head.Frontier.Root(), head.Root)
	require.NotEmpty(t, head.Sig, "the writer signs the head it produced")
	require.True(t, ed25519.Verify(e.svc.PublicKey(), audit.HeadMessage(tenant, head), head.Sig))

	var scanned []audit.Entry
	sh, err := e.Store.Scan(ctx, tenant, func(en *audit.Entry) error {
		scanned = append(scanned, *en)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, head, sh)
	require.Len(t, scanned, 5)
	for i := range scanned {
		require.Equal(t, got[i].Hash, scanned[i].Hash)
		require.Equal(t, audit.EntryHash(&scanned[i]), scanned[i].Hash, "stored entry re-hashes to its hash")
		require.True(t, got[i].Timestamp.Equal(scanned[i].Timestamp))
		require.JSONEq(t, string(got[i].Changes), string(scanned[i].Changes))
	}
	requireOK(t, e.verify(t, tenant), 5)
	requireOK(t, e.verify(t, eusaas.NewTenantID()), 0)
}

func testConcurrent(t *testing.T, h Harness) {
	ctx := context.Background()
	t.Parallel()
	e := newEnv(t, h, audit.Options{CheckpointEvery: 100})
	tenant := eusaas.NewTenantID()
	const writers, each = 64, 8
	ids := make(chan uuid.UUID, writers*each)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				en, err := e.svc.RecordEntry(ctx, event(tenant, audit.ActionCreate, w*each+i))
				if err != nil {
					errs <- err
					return
				}
				ids <- en.ID
			}
		}()
	}
	wg.Wait()
	close(errs)
	close(ids)
	for err := range errs {
		require.NoError(t, err)
	}
	want := map[uuid.UUID]bool{}
	for id := range ids {
		want[id] = true
	}
	require.Len(t, want, writers*each)
	// No fork, no gap: seqs are exactly 1..N, each once, each linking to the previous.
	next := int64(1)
	var prev audit.Hash
	_, err := e.Store.Scan(ctx, tenant, func(en *audit.Entry) error {
		if en.Seq != next {
			return fmt.Errorf("seq %d where %d expected", en.Seq, next)
		}
		if en.PrevHash != prev {
			return fmt.Errorf("fork at seq %d", en.Seq)
		}
		if !want[en.ID] {
			return fmt.Errorf("unknown or duplicate entry %s at %d", en.ID, en.Seq)
		}
		delete(want, en.ID)
		prev = en.Hash
		next++
		return nil
	})
	require.NoError(t, err)
	require.Empty(t, want, "every appended entry is present")
	r := e.verify(t, tenant)
	requireOK(t, r, writers*each)
	require.NotNil(t, r.Checkpoint, "checkpoints were made along the way")
	require.GreaterOrEqual(t, r.Checkpoint.Size, int64(100))
	cp, err := e.svc.Checkpoint(ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, int64(writers*each), cp.Size)
	requireOK(t, e.verify(t, tenant), writers*each)
}

func testConcurrentChains(t *testing.T, h Harness) {
	ctx := context.Background()
	t.Parallel()
	e := newEnv(t, h, audit.Options{})
	tenants := []eusaas.TenantID{eusaas.NewTenantID(), eusaas.NewTenantID(), audit.PlatformChain}
	var wg sync.WaitGroup
	for w := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				require.NoError(t, e.svc.Record(ctx, event(tenants[w%3], audit.ActionCreate, i)))
			}
		}()
	}
	wg.Wait()
	for _, tn := range tenants {
		requireOK(t, e.verify(t, tn), 40)
	}
}

func testPlatformChain(t *testing.T, h Harness) {
	ctx := context.Background()
	t.Parallel()
	e := newEnv(t, h, audit.Options{})
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
	op := eusaas.Actor{Kind: eusaas.ActorOperator, ID: "op-1"}
	for _, tn := range []eusaas.TenantID{a, b, a} {
		require.NoError(t, e.svc.Record(ctx, eusaas.AuditEvent{Actor: op, Action: audit.ActionTenantSuspended,
			ResourceType: audit.ResourceTenant, ResourceID: tn.String()}))
	}
	require.NoError(t, e.svc.Record(ctx, eusaas.AuditEvent{Actor: op, Action: audit.ActionLogin, ResourceType: "session"}))
	l, err := e.svc.List(ctx, audit.PlatformChain, audit.Filter{}, eusaas.Page{})
	require.NoError(t, err)
	require.Equal(t, 4, l.Total)
	l, err = e.svc.List(ctx, audit.PlatformChain, audit.Filter{TenantID: a}, eusaas.Page{})
	require.NoError(t, err)
	require.Equal(t, []int64{3, 1}, seqs(l.Items))
	requireOK(t, e.verify(t, audit.PlatformChain), 4)
	chains, err := e.Store.Chains(ctx)
	require.NoError(t, err)
	require.Contains(t, chains, audit.PlatformChain)
	require.NotContains(t, chains, a, "platform entries about a tenant stay on the platform chain")
}

func testAppendContract(t *testing.T, h Harness) {
	ctx := context.Background()
	t.Parallel()
	e := newEnv(t, h, audit.Options{})
	tenant := eusaas.NewTenantID()
	got := e.record(t, tenant, 2)
	// An entry that does not continue the head is refused and nothing is stored.
	bad := got[1]
	bad.ID = uuid.New()
	err := e.Store.Append(ctx, tenant, func(audit.Head) (audit.Batch, error) {
		return audit.Batch{Entries: []audit.Entry{bad}, Head: audit.Head{Size: bad.Seq, Hash: bad.Hash}}, nil
	})
	require.ErrorIs(t, err, audit.ErrConflict)
	// A batch whose head is not its last entry's is refused too.
	head, err := e.Store.Head(ctx, tenant)
	require.NoError(t, err)
	next := got[1]
	next.ID, next.Seq, next.PrevHash = uuid.New(), 3, head.Hash
	next.Hash = audit.EntryHash(&next)
	err = e.Store.Append(ctx, tenant, func(audit.Head) (audit.Batch, error) {
		return audit.Batch{Entries: []audit.Entry{next}, Head: audit.Head{Size: 3, Hash: audit.Hash{9}}}, nil
	})
	require.ErrorIs(t, err, audit.ErrConflict)
	// A failing seal stores nothing and its error comes back.
	boom := errors.New("boom")
	err = e.Store.Append(ctx, tenant, func(audit.Head) (audit.Batch, error) { return audit.Batch{}, boom })
	require.ErrorIs(t, err, boom)
	requireOK(t, e.verify(t, tenant), 2)
	// Validation.
	err = e.svc.Record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: "lower"})
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	err = e.svc.Record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: "X",
		Personal: map[string]string{audit.FieldIPAddress: "1.2.3.4"}})
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
}
