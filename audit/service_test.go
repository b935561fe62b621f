package audit_test

import (
	"context"
	"crypto/ed25519"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/audit/memaudit"
)

// gateStore blocks the first Append until released, and can fail Appends with a kind.
type gateStore struct {
	*memaudit.Store
	entered chan struct{}
	release chan struct{}
	calls   atomic.Int32
	fail    atomic.Int32 // fail this many Appends with Aborted
}

func (g *gateStore) Append(ctx context.Context, chain eusaas.TenantID, seal func(audit.Head) (audit.Batch, error)) error {
	if g.calls.Add(1) == 1 && g.release != nil {
		close(g.entered)
		<-g.release
	}
	if g.fail.Add(-1) >= 0 {
		return eusaas.E(eusaas.Aborted, "deadlock detected")
	}
	return g.Store.Append(ctx, chain, seal)
}

// A caller whose context ends while its entry is still queued gets its error and the entry
// is never appended; callers already in a batch are not affected by it.
func TestCanceledWhileQueued(t *testing.T) {
	ctx := context.Background()
	mem := memaudit.NewStore()
	g := &gateStore{Store: mem, entered: make(chan struct{}), release: make(chan struct{})}
	g.fail.Store(-1 << 20)
	svc := newService(t, audit.Deps{Store: g, Keys: mem}, audit.Options{})
	tenant := eusaas.NewTenantID()
	ev := eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: "A"}
	first := make(chan error, 1)
	go func() { first <- svc.Record(ctx, ev) }()
	<-g.entered // the first caller leads a batch that is now stuck in the store
	cctx, cancel := context.WithCancel(ctx)
	second := make(chan error, 1)
	go func() { second <- svc.Record(cctx, ev) }()
	time.Sleep(20 * time.Millisecond) // let it queue behind the stuck batch
	cancel()
	require.ErrorIs(t, <-second, context.Canceled)
	close(g.release)
	require.NoError(t, <-first)
	require.NoError(t, svc.Record(ctx, ev), "the chain goes on")
	r, err := svc.Verify(ctx, tenant)
	require.NoError(t, err)
	require.True(t, r.OK)
	require.Equal(t, int64(2), r.Entries, "the withdrawn entry was never appended")
}

// A batch rolled back by a deadlock or serialization failure is sealed again and retried.
func TestAbortedBatchRetried(t *testing.T) {
	ctx := context.Background()
	mem := memaudit.NewStore()
	g := &gateStore{Store: mem}
	g.fail.Store(2)
	svc := newService(t, audit.Deps{Store: g, Keys: mem}, audit.Options{})
	tenant := eusaas.NewTenantID()
	require.NoError(t, svc.Record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: "A"}))
	require.Equal(t, int32(3), g.calls.Load())
	g.fail.Store(5)
	err := svc.Record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: "A"})
	require.Equal(t, eusaas.Aborted, eusaas.KindOf(err), "gives up after three attempts")
	r, err := svc.Verify(ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, int64(1), r.Entries)
}

// After a key rotation, checkpoints signed with the old key verify as long as it is listed
// among the previous keys, and are reported otherwise.
func TestCheckpointKeyRotation(t *testing.T) {
	ctx := context.Background()
	mem := memaudit.NewStore()
	oldKey := ed25519.NewKeyFromSeed(make([]byte, 32))
	newKey := ed25519.NewKeyFromSeed(append(make([]byte, 31), 1))
	tenant := eusaas.NewTenantID()
	ev := eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: "A"}
	before := newService(t, audit.Deps{Store: mem, Keys: mem}, audit.Options{Signer: oldKey})
	require.NoError(t, before.Record(ctx, ev))
	_, err := before.Checkpoint(ctx, tenant)
	require.NoError(t, err)

	rotatedBad := newService(t, audit.Deps{Store: mem, Keys: mem}, audit.Options{Signer: newKey})
	r, err := rotatedBad.Verify(ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, audit.KindBadCheckpoint, r.Finding.Kind, "an unknown key is not trusted")

	after := newService(t, audit.Deps{Store: mem, Keys: mem}, audit.Options{Signer: newKey, PreviousKeys: []ed25519.PublicKey{oldKey.Public().(ed25519.PublicKey)}})
	require.NoError(t, after.Record(ctx, ev))
	cp, err := after.Checkpoint(ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, audit.KeyID(after.PublicKey()), cp.KeyID)
	r, err = after.Verify(ctx, tenant)
	require.NoError(t, err)
	require.True(t, r.OK, "%v", r.Finding)
	require.Equal(t, int64(2), r.Checkpoint.Size)
}

// newService builds a Service the test expects to be valid.
func newService(t *testing.T, d audit.Deps, o audit.Options) *audit.Service {
	t.Helper()
	svc, err := audit.NewService(d, o)
	require.NoError(t, err)
	return svc
}

// A wiring mistake must be an error at start-up naming what is missing, not a nil
// dereference on the first event.
func TestNewServiceRefusesMissingPorts(t *testing.T) {
	svc, err := audit.NewService(audit.Deps{}, audit.Options{})
	require.Nil(t, svc)
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	require.ErrorContains(t, err, "audit: missing required ports: [Store Keys]")

	_, err = audit.NewService(audit.Deps{Store: memaudit.NewStore()}, audit.Options{})
	require.ErrorContains(t, err, "missing required ports: [Keys]")
}

// Two processes on one store: entries one records are checkpointed by the other's
// CheckpointStored (the periodic job may run on any worker), and both see one sequence.
func TestCheckpointStoredCoversOtherProcesses(t *testing.T) {
	ctx := context.Background()
	mem := memaudit.NewStore()
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	writer := newService(t, audit.Deps{Store: mem, Keys: mem}, audit.Options{Signer: key})
	worker := newService(t, audit.Deps{Store: mem, Keys: mem}, audit.Options{Signer: key})
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
	for _, tn := range []eusaas.TenantID{a, a, b} {
		require.NoError(t, writer.Record(ctx, eusaas.AuditEvent{TenantID: tn, Actor: eusaas.System, Action: "A"}))
	}
	n, err := worker.CheckpointStored(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n, "one checkpoint per chain with new entries")
	n, err = worker.CheckpointStored(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "nothing new, nothing signed")
	// The writer's own checkpoint of the same size adopts the stored one.
	cp, err := writer.Checkpoint(ctx, a)
	require.NoError(t, err)
	require.Equal(t, int64(2), cp.Size)
	cps, err := mem.Checkpoints(ctx, a)
	require.NoError(t, err)
	// One sequence: sizes strictly increase (no size signed twice), and the writer's
	// checkpoint at 2 is the one the worker stored.
	for i := 1; i < len(cps); i++ {
		require.Greater(t, cps[i].Size, cps[i-1].Size)
	}
	require.Equal(t, int64(2), cps[len(cps)-1].Size)
	require.Equal(t, cps[len(cps)-1].Signature, cp.Signature)
}
