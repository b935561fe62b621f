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
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
)

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
}

// testSigner is a fixed key so failures are reproducible.
var testSigner = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

// Sink is an in-memory checkpoint sink that can read its checkpoints back.
type Sink struct {
	mu  sync.Mutex
	cps []audit.Checkpoint
}

// Write implements audit.CheckpointSink.
func (s *Sink) Write(ctx context.Context, c audit.Checkpoint) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cps = append(s.cps, c)
	return nil
}

// Latest implements audit.CheckpointSource.
func (s *Sink) Latest(ctx context.Context, chain eusaas.TenantID) (audit.Checkpoint, bool, error) {
	if err := ctx.Err(); err != nil {
		return audit.Checkpoint{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out audit.Checkpoint
	found := false
	for _, c := range s.cps {
		if c.Chain == chain && (!found || c.Size > out.Size) {
			out, found = c, true
		}
	}
	return out, found, nil
}

// All returns every checkpoint written.
func (s *Sink) All() []audit.Checkpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]audit.Checkpoint(nil), s.cps...)
}

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
	ctx := context.Background()

	t.Run("AppendAndVerify", func(t *testing.T) {
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
		require.Equal(t, audit.Head{Size: 5, Hash: got[4].Hash}, head)

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
	})

	t.Run("Concurrent", func(t *testing.T) {
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
	})

	t.Run("ConcurrentChains", func(t *testing.T) {
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
	})

	t.Run("TenantIsolation", func(t *testing.T) {
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
	})

	t.Run("ListFiltersAndPages", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h, audit.Options{})
		tenant := eusaas.NewTenantID()
		start := e.clock.Now()
		for i := range 7 {
			ev := event(tenant, audit.ActionUpdate, i)
			if i%2 == 0 {
				ev.Action = audit.ActionLogin
				ev.ResourceType = "session"
				ev.Actor.ID = "user-2"
			}
			require.NoError(t, e.svc.Record(ctx, ev))
			e.clock.Advance(time.Hour)
		}
		l, err := e.svc.List(ctx, tenant, audit.Filter{}, eusaas.Page{Page: 1, Size: 3})
		require.NoError(t, err)
		require.Equal(t, 7, l.Total)
		require.Len(t, l.Items, 3)
		require.Equal(t, []int64{7, 6, 5}, seqs(l.Items), "newest first")
		l, err = e.svc.List(ctx, tenant, audit.Filter{}, eusaas.Page{Page: 3, Size: 3})
		require.NoError(t, err)
		require.Equal(t, []int64{1}, seqs(l.Items))
		l, err = e.svc.List(ctx, tenant, audit.Filter{Action: audit.ActionLogin}, eusaas.Page{})
		require.NoError(t, err)
		require.Equal(t, []int64{7, 5, 3, 1}, seqs(l.Items))
		l, err = e.svc.List(ctx, tenant, audit.Filter{ResourceType: "invoice"}, eusaas.Page{})
		require.NoError(t, err)
		require.Equal(t, []int64{6, 4, 2}, seqs(l.Items))
		l, err = e.svc.List(ctx, tenant, audit.Filter{UserID: "user-2"}, eusaas.Page{})
		require.NoError(t, err)
		require.Equal(t, 4, l.Total)
		l, err = e.svc.List(ctx, tenant, audit.Filter{Since: start.Add(2 * time.Hour), Until: start.Add(4 * time.Hour)}, eusaas.Page{})
		require.NoError(t, err)
		require.Equal(t, []int64{4, 3}, seqs(l.Items), "since inclusive, until exclusive")
		_, err = e.svc.List(ctx, tenant, audit.Filter{}, eusaas.Page{Page: 1, Size: 101})
		require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	})

	t.Run("PlatformChain", func(t *testing.T) {
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
	})

	t.Run("ContextCanceled", func(t *testing.T) {
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
		err = e.Store.Append(cctx, tenant, func(audit.Head) ([]audit.Entry, error) {
			t.Fatal("seal called with a canceled context")
			return nil, nil
		})
		require.Error(t, err)
		head, err := e.Store.Head(ctx, tenant)
		require.NoError(t, err)
		require.Equal(t, int64(1), head.Size, "nothing appended")
	})

	t.Run("AppendContract", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h, audit.Options{})
		tenant := eusaas.NewTenantID()
		got := e.record(t, tenant, 2)
		// An entry that does not continue the head is refused and nothing is stored.
		bad := got[1]
		bad.ID = uuid.New()
		err := e.Store.Append(ctx, tenant, func(audit.Head) ([]audit.Entry, error) { return []audit.Entry{bad}, nil })
		require.ErrorIs(t, err, audit.ErrConflict)
		// A failing seal stores nothing and its error comes back.
		boom := errors.New("boom")
		err = e.Store.Append(ctx, tenant, func(audit.Head) ([]audit.Entry, error) { return nil, boom })
		require.ErrorIs(t, err, boom)
		requireOK(t, e.verify(t, tenant), 2)
		// Validation.
		err = e.svc.Record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: "lower"})
		require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
		err = e.svc.Record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: "X",
			Personal: map[string]string{audit.FieldIPAddress: "1.2.3.4"}})
		require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	})

	t.Run("Checkpoints", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h, audit.Options{CheckpointEvery: 4, CheckpointInterval: time.Hour})
		tenant := eusaas.NewTenantID()
		e.record(t, tenant, 10) // seconds apart: the count triggers, not the interval
		cps, err := e.Store.Checkpoints(ctx, tenant)
		require.NoError(t, err)
		var sizes []int64
		for _, c := range cps {
			sizes = append(sizes, c.Size)
			require.True(t, audit.VerifyCheckpoint(e.svc.PublicKey(), c))
		}
		// The first append checkpoints (no earlier checkpoint), then every 4 entries.
		require.Equal(t, []int64{1, 5, 9}, sizes)
		require.Len(t, e.sink.All(), 3, "every checkpoint went to the sink")
		// The interval checkpoints a quiet chain.
		n, err := e.svc.CheckpointDue(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "interval not passed")
		e.clock.Advance(2 * time.Hour)
		n, err = e.svc.CheckpointDue(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		latest, ok, err := e.svc.LatestCheckpoint(ctx, tenant)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, int64(10), latest.Size)
		r := e.verify(t, tenant)
		requireOK(t, r, 10)
		require.Equal(t, int64(10), r.Checkpoint.Size)
		// A forged checkpoint is reported.
		forged := latest
		forged.Size = 11
		require.NoError(t, e.Store.PutCheckpoint(ctx, forged))
		requireFinding(t, e.verify(t, tenant), audit.KindBadCheckpoint, 11)
	})

	t.Run("EraseSubject", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h, audit.Options{})
		tenant := eusaas.NewTenantID()
		const (
			ip    = "203.0.113.77"
			ua    = "Mozilla/5.0 (EraseMeBrowser 42)"
			email = "erase.me@example.org"
			keep  = "keep.me@example.org"
		)
		mk := func(subject, mail, ua string) eusaas.AuditEvent {
			ev := event(tenant, audit.ActionLogin, 0)
			ev.Actor.ID = subject
			ev.Subject = subject
			ev.Personal = map[string]string{"email": mail}
			ev.Meta = eusaas.RequestMeta{IP: ip, UserAgent: ua}
			return ev
		}
		erasedEntry, err := e.svc.RecordEntry(ctx, mk("subject-1", email, ua))
		require.NoError(t, err)
		_, err = e.svc.RecordEntry(ctx, mk("subject-2", keep, "curl/8.0"))
		require.NoError(t, err)
		// An operator acting on the tenant: platform chain, tenant taken from the resource.
		require.NoError(t, e.svc.Record(ctx, eusaas.AuditEvent{Actor: eusaas.Actor{Kind: eusaas.ActorOperator, ID: "op"},
			Action: audit.ActionUpdate, ResourceType: audit.ResourceTenant, ResourceID: tenant.String(),
			Subject: "subject-1", Personal: map[string]string{"email": email}}))
		f, ok := erasedEntry.Field(audit.FieldIPAddress)
		require.True(t, ok)
		require.Equal(t, ip, f.Value)
		for _, v := range []string{ip, ua, email, keep} {
			has, err := e.Contains(ctx, v)
			require.NoError(t, err)
			require.True(t, has, "Contains must find %q before erasure (else the check below proves nothing)", v)
		}

		n, err := e.svc.EraseSubject(ctx, tenant, "subject-1")
		require.NoError(t, err)
		require.Equal(t, 4, n, "email, ip and user agent on the tenant chain, email on the platform chain")
		n, err = e.svc.EraseSubject(ctx, tenant, "subject-1")
		require.NoError(t, err)
		require.Zero(t, n, "idempotent")

		requireOK(t, e.verify(t, tenant), 2)
		requireOK(t, e.verify(t, audit.PlatformChain), 1)
		_, ok, err = e.Keys.SubjectKey(ctx, tenant, "subject-1", false)
		require.NoError(t, err)
		require.False(t, ok, "key deleted")
		for _, v := range []string{email, ua} {
			has, err := e.Contains(ctx, v)
			require.NoError(t, err)
			require.False(t, has, "%q still stored after erasure", v)
		}
		// The other subject's values stay (including the same IP, which is theirs too).
		for _, v := range []string{keep, ip} {
			has, err := e.Contains(ctx, v)
			require.NoError(t, err)
			require.True(t, has, "%q of another subject was erased", v)
		}
		l, err := e.svc.List(ctx, tenant, audit.Filter{}, eusaas.Page{})
		require.NoError(t, err)
		for _, en := range l.Items {
			for _, pf := range en.Personal {
				if en.Subject == "subject-1" {
					require.True(t, pf.Erased, "%s shown as erased", pf.Name)
					require.Empty(t, pf.Value)
				} else {
					require.False(t, pf.Erased)
					require.NotEmpty(t, pf.Value)
				}
			}
		}
		lp, err := e.svc.List(ctx, audit.PlatformChain, audit.Filter{TenantID: tenant}, eusaas.Page{})
		require.NoError(t, err)
		require.Len(t, lp.Items, 1)
		require.True(t, lp.Items[0].Personal[0].Erased)
		// A second erasure of the other subject removes the IP everywhere.
		_, err = e.svc.EraseSubject(ctx, tenant, "subject-2")
		require.NoError(t, err)
		has, err := e.Contains(ctx, ip)
		require.NoError(t, err)
		require.False(t, has)
		requireOK(t, e.verify(t, tenant), 2)
	})

	t.Run("EraseSubjectLinked", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h, audit.Options{})
		if _, ok := e.Store.(audit.LinkedEraser); !ok {
			t.Skip("store does not implement audit.LinkedEraser")
		}
		tenant, other := eusaas.NewTenantID(), eusaas.NewTenantID()
		const (
			mail    = "invitee@example.org"
			inviter = "inviter@example.org"
			ip      = "192.0.2.44"
		)
		// The inviter invites the subject: one entry, the inviter's subject, both persons' data.
		inv := event(tenant, "INVITATION_CREATED", 0)
		inv.Actor.ID, inv.Personal, inv.Meta = "inviter", map[string]string{"email": mail}, eusaas.RequestMeta{IP: ip}
		_, err := e.svc.RecordEntry(ctx, inv)
		require.NoError(t, err)
		// An operator names the address on the platform chain (a tenant's admin_email).
		require.NoError(t, e.svc.Record(ctx, eusaas.AuditEvent{Actor: eusaas.Actor{Kind: eusaas.ActorOperator, ID: "op"},
			Action: audit.ActionUpdate, ResourceType: audit.ResourceTenant, ResourceID: tenant.String(),
			Personal: map[string]string{"admin_email": mail}}))
		// The subject registers with it; the inviter's own address stays theirs.
		reg := event(tenant, "USER_REGISTERED", 1)
		reg.Actor.ID, reg.Subject, reg.Personal = "invitee", "invitee", map[string]string{"email": mail}
		_, err = e.svc.RecordEntry(ctx, reg)
		require.NoError(t, err)
		own := event(tenant, "USER_REGISTERED", 2)
		own.Actor.ID, own.Subject, own.Personal = "inviter", "inviter", map[string]string{"email": inviter}
		_, err = e.svc.RecordEntry(ctx, own)
		require.NoError(t, err)
		// A failed login naming the address: the system actor, a per-entry subject.
		require.NoError(t, e.svc.Record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: "LOGIN_FAILED",
			ResourceType: "session", Personal: map[string]string{"email": mail}}))
		// The same address in another tenant is another tenant's record.
		elsewhere := event(other, "INVITATION_CREATED", 3)
		elsewhere.Personal = map[string]string{"email": mail}
		_, err = e.svc.RecordEntry(ctx, elsewhere)
		require.NoError(t, err)

		n, err := e.svc.EraseSubject(ctx, tenant, "invitee")
		require.NoError(t, err)
		require.Equal(t, 4, n, "own email, the invitation's and the failed login's email, the platform admin_email")
		n, err = e.svc.EraseSubject(ctx, tenant, "invitee")
		require.NoError(t, err)
		require.Zero(t, n, "idempotent")
		values := func(chain eusaas.TenantID, f audit.Filter) []string {
			l, err := e.svc.List(ctx, chain, f, eusaas.Page{})
			require.NoError(t, err)
			var out []string
			for _, en := range l.Items {
				for _, pf := range en.Personal {
					if !pf.Erased {
						out = append(out, pf.Value)
					}
				}
			}
			return out
		}
		require.ElementsMatch(t, []string{ip, inviter}, values(tenant, audit.Filter{}), "the inviter's values stay, the invitee's are gone")
		require.Empty(t, values(audit.PlatformChain, audit.Filter{TenantID: tenant}))
		require.Equal(t, []string{mail}, values(other, audit.Filter{}), "tenant isolation")
		requireOK(t, e.verify(t, tenant), 4)
		requireOK(t, e.verify(t, audit.PlatformChain), 1)
	})

	t.Run("PersonalRetention", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h, audit.Options{})
		if _, ok := e.Store.(audit.PersonalPruner); !ok {
			t.Skip("store does not implement audit.PersonalPruner")
		}
		tenant, other := eusaas.NewTenantID(), eusaas.NewTenantID()
		mk := func(tenant eusaas.TenantID, mail string) eusaas.AuditEvent {
			ev := event(tenant, audit.ActionLogin, 0)
			ev.Personal = map[string]string{"email": mail}
			return ev
		}
		const (
			oldMail   = "old.value@example.org"
			newMail   = "new.value@example.org"
			otherMail = "other.tenant@example.org"
		)
		_, err := e.svc.RecordEntry(ctx, mk(tenant, oldMail))
		require.NoError(t, err)
		_, err = e.svc.RecordEntry(ctx, mk(other, otherMail))
		require.NoError(t, err)
		e.clock.Advance(48 * time.Hour)
		cutoff := e.clock.Now().Add(-time.Hour)
		_, err = e.svc.RecordEntry(ctx, mk(tenant, newMail))
		require.NoError(t, err)

		n, err := e.svc.ErasePersonalBefore(ctx, tenant, cutoff)
		require.NoError(t, err)
		require.Equal(t, 1, n, "only the value recorded before the cutoff")
		n, err = e.svc.ErasePersonalBefore(ctx, tenant, cutoff)
		require.NoError(t, err)
		require.Zero(t, n, "idempotent")
		for v, want := range map[string]bool{oldMail: false, newMail: true, otherMail: true} {
			has, err := e.Contains(ctx, v)
			require.NoError(t, err)
			require.Equal(t, want, has, "%q stored after retention", v)
		}
		requireOK(t, e.verify(t, tenant), 2)
		l, err := e.svc.List(ctx, tenant, audit.Filter{}, eusaas.Page{})
		require.NoError(t, err)
		require.Len(t, l.Items, 2)
		require.True(t, l.Items[1].Personal[0].Erased, "the old value shows as erased")
		require.False(t, l.Items[0].Personal[0].Erased)
	})

	t.Run("TxRollback", func(t *testing.T) {
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
	})

	t.Run("Tamper", func(t *testing.T) {
		t.Parallel()
		runTamper(t, h)
	})
}

func seqs(es []audit.Entry) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.Seq
	}
	return out
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
	t.Run("RollbackAndRewrite", func(t *testing.T) {
		t.Parallel()
		e, tenant, _ := setup(t)
		// Roll back to 7 and append three different entries: a consistent chain of 10 that
		// is not the one the checkpoint signed.
		require.NoError(t, e.Tamper.Rollback(ctx, tenant, 7))
		e.record(t, tenant, 3)
		requireFinding(t, e.verify(t, tenant), audit.KindTruncated, 10)
	})
}
