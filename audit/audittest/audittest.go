// Package audittest is the conformance suite of the audit ports. An adapter passes it by
// providing a Harness; see audit/memaudit and adapters/postgres for examples.
//
// The suite drives the stores through audit.Service, the way the platform uses them, and
// checks the properties the audit log promises: gap-free, fork-free chains under concurrent
// appends, tenant isolation, cancellation, erasure that keeps chains verifiable, and
// detection (and naming) of each kind of tampering.
package audittest

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
)

// The suite is one file per area, as River's riverdrivertest is: append.go (appending and
// sequencing), checkpoint.go, personal.go (personal data and erasure), list.go and
// tamper.go; sink.go is the suite of checkpoint sinks (RunSink). This file holds the harness,
// the shared helpers and the checks that span every area (tenant isolation, cancellation,
// rollback).

// Harness makes fresh stores for each subtest.
type Harness struct {
	New      func(t *testing.T) Stores
	Features Features
}

// Features reports optional behaviour.
type Features struct {
	// TxRollback: Stores.Tx runs transactions that audit appends join, so an entry recorded
	// in a rolled-back transaction disappears (and the chain stays gap-free).
	TxRollback bool
}

// Stores is what the harness provides per subtest.
type Stores struct {
	Store audit.Store
	Keys  audit.KeyStore
	// Tx is the adapter's transaction runner (required with Features.TxRollback).
	Tx eusaas.TxRunner
	// Tamper changes stored data behind the service's back, as an attacker with write
	// access to the storage would.
	Tamper Tamper
	// Contains reports whether value occurs anywhere in the adapter's storage.
	Contains func(ctx context.Context, value string) (bool, error)
}

// testSigner is a fixed key so failures are reproducible.
var testSigner = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

type env struct {
	Stores
	svc   *audit.Service
	clock *eusaas.FakeClock
	sink  *Sink
}

func newEnv(t *testing.T, h Harness, opts audit.Options) *env {
	st := h.New(t)
	e := &env{Stores: st, clock: eusaas.NewFakeClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)), sink: &Sink{}}
	opts.Clock = e.clock
	if opts.Signer == nil {
		opts.Signer = testSigner
	}
	svc, err := audit.NewService(audit.Deps{Store: st.Store, Keys: st.Keys, Sink: e.sink, Tx: st.Tx}, opts)
	require.NoError(t, err)
	e.svc = svc
	return e
}

func event(tenant eusaas.TenantID, action string, i int) eusaas.AuditEvent {
	return eusaas.AuditEvent{
		TenantID:     tenant,
		Actor:        eusaas.Actor{Kind: eusaas.ActorUser, ID: "user-1", TenantID: tenant},
		Action:       action,
		ResourceType: "invoice",
		ResourceID:   fmt.Sprintf("inv-%d", i),
		Changes:      map[string]any{"n": i, "status": "ISSUED"},
	}
}

func (e *env) record(t *testing.T, tenant eusaas.TenantID, n int) []audit.Entry {
	t.Helper()
	out := make([]audit.Entry, 0, n)
	for i := range n {
		en, err := e.svc.RecordEntry(context.Background(), event(tenant, audit.ActionUpdate, i))
		require.NoError(t, err)
		out = append(out, en)
		e.clock.Advance(time.Second)
	}
	return out
}

func (e *env) verify(t *testing.T, chain eusaas.TenantID) audit.Report {
	t.Helper()
	r, err := e.svc.Verify(context.Background(), chain)
	require.NoError(t, err)
	return r
}

func requireOK(t *testing.T, r audit.Report, entries int64) {
	t.Helper()
	require.Nil(t, r.Finding, "unexpected finding")
	require.True(t, r.OK)
	require.Equal(t, entries, r.Entries)
}

func requireFinding(t *testing.T, r audit.Report, kind audit.FindingKind, seq int64) {
	t.Helper()
	require.False(t, r.OK, "tampering not detected")
	require.NotNil(t, r.Finding)
	require.Equal(t, kind, r.Finding.Kind, "finding: %s", r.Finding)
	require.Equal(t, seq, r.Finding.Seq, "finding: %s", r.Finding)
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	t.Run("AppendAndVerify", func(t *testing.T) { testAppendAndVerify(t, h) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, h) })
	t.Run("ConcurrentChains", func(t *testing.T) { testConcurrentChains(t, h) })
	t.Run("TenantIsolation", func(t *testing.T) { testTenantIsolation(t, h) })
	t.Run("ListFiltersAndPages", func(t *testing.T) { testListFiltersAndPages(t, h) })
	t.Run("PlatformChain", func(t *testing.T) { testPlatformChain(t, h) })
	t.Run("ContextCanceled", func(t *testing.T) { testContextCanceled(t, h) })
	t.Run("AppendContract", func(t *testing.T) { testAppendContract(t, h) })
	t.Run("Checkpoints", func(t *testing.T) { testCheckpoints(t, h) })
	t.Run("Proofs", func(t *testing.T) { testProofs(t, h) })
	t.Run("Segment", func(t *testing.T) { testSegment(t, h) })
	t.Run("Export", func(t *testing.T) { testExport(t, h) })
	t.Run("EraseSubject", func(t *testing.T) { testEraseSubject(t, h) })
	t.Run("EraseSubjectLinked", func(t *testing.T) { testEraseSubjectLinked(t, h) })
	t.Run("PersonalRetention", func(t *testing.T) { testPersonalRetention(t, h) })
	t.Run("TxRollback", func(t *testing.T) { testTxRollback(t, h) })
	t.Run("Tamper", func(t *testing.T) {
		t.Parallel()
		runTamper(t, h)
	})
}

func testTenantIsolation(t *testing.T, h Harness) {
	ctx := context.Background()
	t.Parallel()
	e := newEnv(t, h, audit.Options{})
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
	e.record(t, a, 3)
	e.record(t, b, 2)
	la, err := e.svc.List(ctx, a, audit.Filter{}, eusaas.Page{})
	require.NoError(t, err)
	require.Equal(t, 3, la.Total)
	for _, en := range la.Items {
		require.Equal(t, a, en.Chain)
		require.Equal(t, a, en.TenantID)
	}
	lb, err := e.svc.List(ctx, b, audit.Filter{}, eusaas.Page{})
	require.NoError(t, err)
	require.Equal(t, 2, lb.Total)
	for _, en := range lb.Items {
		require.Equal(t, b, en.Chain)
	}
	// Each chain counts from 1 on its own.
	require.Equal(t, int64(2), lb.Items[0].Seq)
	// Platform chain and an unknown tenant see nothing of either.
	lp, err := e.svc.List(ctx, audit.PlatformChain, audit.Filter{}, eusaas.Page{})
	require.NoError(t, err)
	require.Zero(t, lp.Total)
	lu, err := e.svc.List(ctx, eusaas.NewTenantID(), audit.Filter{}, eusaas.Page{})
	require.NoError(t, err)
	require.Zero(t, lu.Total)
	// A subject key of tenant a is not tenant b's.
	ka, _, err := e.Keys.SubjectKey(ctx, a, "u", true)
	require.NoError(t, err)
	kb, ok, err := e.Keys.SubjectKey(ctx, b, "u", false)
	require.NoError(t, err)
	require.False(t, ok)
	require.Nil(t, kb)
	kb, _, err = e.Keys.SubjectKey(ctx, b, "u", true)
	require.NoError(t, err)
	require.NotEqual(t, ka, kb)
	// Erasing in b leaves a's key.
	_, err = e.svc.EraseSubject(ctx, b, "u")
	require.NoError(t, err)
	_, ok, err = e.Keys.SubjectKey(ctx, a, "u", false)
	require.NoError(t, err)
	require.True(t, ok)
}

func testContextCanceled(t *testing.T, h Harness) {
	ctx := context.Background()
	t.Parallel()
	e := newEnv(t, h, audit.Options{})
	tenant := eusaas.NewTenantID()
	e.record(t, tenant, 1)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err := e.svc.Record(cctx, event(tenant, audit.ActionUpdate, 9))
	require.Error(t, err)
	require.Equal(t, eusaas.Canceled, eusaas.KindOf(err))
	_, err = e.Store.Head(cctx, tenant)
	require.Error(t, err)
	_, err = e.Store.Scan(cctx, tenant, func(*audit.Entry) error { return nil })
	require.Error(t, err)
	_, err = e.Store.List(cctx, tenant, audit.Filter{}, eusaas.Page{Page: 1, Size: 10})
	require.Error(t, err)
	_, _, err = e.Keys.SubjectKey(cctx, tenant, "s", true)
	require.Error(t, err)
	err = e.Store.Append(cctx, tenant, func(audit.Head) (audit.Batch, error) {
		t.Fatal("seal called with a canceled context")
		return audit.Batch{}, nil
	})
	require.Error(t, err)
	head, err := e.Store.Head(ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, int64(1), head.Size, "nothing appended")
}

func testTxRollback(t *testing.T, h Harness) {
	ctx := context.Background()
	if !h.Features.TxRollback {
		t.Skip("adapter appends do not join transactions")
	}
	t.Parallel()
	e := newEnv(t, h, audit.Options{})
	tenant := eusaas.NewTenantID()
	e.record(t, tenant, 2)
	boom := errors.New("boom")
	err := e.Tx.InTx(ctx, func(ctx context.Context) error {
		require.True(t, e.Store.InTx(ctx))
		require.NoError(t, e.svc.Record(ctx, event(tenant, audit.ActionDelete, 1)))
		return boom
	})
	require.ErrorIs(t, err, boom)
	head, err := e.Store.Head(ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, int64(2), head.Size)
	e.record(t, tenant, 1)
	require.NoError(t, e.Tx.InTx(ctx, func(ctx context.Context) error {
		return e.svc.Record(ctx, event(tenant, audit.ActionDelete, 2))
	}))
	requireOK(t, e.verify(t, tenant), 4)
}
