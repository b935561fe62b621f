package memaudit_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/audit/audittest"
	"github.com/eusaas/eusaas/audit/memaudit"
)

// fillChain appends n entries to chain directly through the store, sealed the way the
// service seals them (hash chain and tree hashes), in batches of 10,000.
func fillChain(b *testing.B, s *memaudit.Store, chain eusaas.TenantID, n int) []uuid.UUID {
	ctx := context.Background()
	ids := make([]uuid.UUID, 0, n)
	ts := audit.Normalize(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	for len(ids) < n {
		k := min(10000, n-len(ids))
		require.NoError(b, s.Append(ctx, chain, func(h audit.Head) (audit.Batch, error) {
			f := append(audit.Frontier(nil), h.Frontier...)
			out := audit.Batch{Entries: make([]audit.Entry, k)}
			prev := h.Hash
			for i := range k {
				e := audit.Entry{ID: uuid.New(), Chain: chain, TenantID: chain, Seq: h.Size + int64(i) + 1, PrevHash: prev,
					Actor: eusaas.System, Action: audit.ActionUpdate, ResourceType: "invoice", ResourceID: fmt.Sprint(len(ids) + i),
					Changes: []byte(`{"n":1}`), Timestamp: ts}
				e.Hash = audit.EntryHash(&e)
				e.TreeHashes = f.Append(e.Seq-1, audit.LeafHash(e.Hash))
				prev = e.Hash
				out.Entries[i] = e
				ids = append(ids, e.ID)
			}
			out.Head = audit.Head{Size: h.Size + int64(k), Hash: prev, Root: f.Root(), Frontier: f}
			return out, nil
		}))
	}
	return ids
}

// BenchmarkProof: inclusion proofs of random entries of a 1,000,000-entry chain against its
// signed checkpoint (the entry looked up by id, the audit path read from the stored tree
// hashes and checked against the root before it is returned), and consistency proofs between
// random sizes. Reports µs per proof.
//
//	go test ./audit/memaudit/ -run '^$' -bench Proof -benchtime=20000x
func BenchmarkProof(b *testing.B) {
	const n = 1_000_000
	ctx := context.Background()
	store := memaudit.NewStore()
	tenant := eusaas.NewTenantID()
	ids := fillChain(b, store, tenant, n)
	svc, err := audit.NewService(audit.Deps{Store: store, Keys: store},
		audit.Options{Signer: ed25519.NewKeyFromSeed(make([]byte, 32)), CheckpointEvery: 1 << 40})
	require.NoError(b, err)
	cp, err := svc.Checkpoint(ctx, tenant) // verifies the million entries once, then signs
	require.NoError(b, err)
	require.Equal(b, int64(n), cp.Size)
	runtime.GC() // the fill's garbage is not the proofs' cost
	rng := rand.New(rand.NewPCG(3, 4))
	b.Run("inclusion", func(b *testing.B) {
		for b.Loop() {
			i := rng.IntN(n)
			p, err := svc.Prove(ctx, tenant, ids[i])
			if err != nil || p.LeafIndex != int64(i) {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/proof")
		p, err := svc.Prove(ctx, tenant, ids[rng.IntN(n)])
		require.NoError(b, err)
		proof := make([][]byte, len(p.Proof))
		for i := range p.Proof {
			proof[i] = p.Proof[i][:]
		}
		require.True(b, audittest.RFCVerifyInclusion(p.LeafIndex, p.TreeSize, p.LeafHash[:], proof, cp.Root[:]))
	})
	b.Run("consistency", func(b *testing.B) {
		for b.Loop() {
			from := 1 + rng.Int64N(n)
			if _, err := svc.Consistency(ctx, tenant, from, n); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/proof")
	})
}
