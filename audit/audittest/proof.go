package audittest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
)

// The proofs are checked with an RFC 6962 verifier written here from the RFC (RFC 9162
// §2.1.3.2 and §2.1.4.2 give the verification algorithms for RFC 6962 trees), not with
// golang.org/x/mod/sumdb/tlog, which makes them: a bug shared by prover and checker would
// otherwise go unseen.

func rfcLeaf(data []byte) []byte {
	h := sha256.Sum256(append([]byte{0}, data...))
	return h[:]
}

func rfcNode(l, r []byte) []byte {
	b := append(append([]byte{1}, l...), r...)
	h := sha256.Sum256(b)
	return h[:]
}

// RFCVerifyInclusion checks an audit path of leaf index of a tree of size against root.
func RFCVerifyInclusion(index, size int64, leaf []byte, proof [][]byte, root []byte) bool {
	if index < 0 || index >= size {
		return false
	}
	fn, sn := index, size-1
	r := leaf
	for _, p := range proof {
		if sn == 0 {
			return false
		}
		if fn&1 == 1 || fn == sn {
			r = rfcNode(p, r)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			r = rfcNode(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	return sn == 0 && bytes.Equal(r, root)
}

// RFCVerifyConsistency checks a consistency proof between trees of size first and second.
func RFCVerifyConsistency(first, second int64, proof [][]byte, firstRoot, secondRoot []byte) bool {
	switch {
	case first < 1 || first > second:
		return false
	case first == second:
		return len(proof) == 0 && bytes.Equal(firstRoot, secondRoot)
	}
	if first&(first-1) == 0 { // a power of two: the old root is the proof's first node
		proof = append([][]byte{firstRoot}, proof...)
	}
	if len(proof) == 0 {
		return false
	}
	fn, sn := first-1, second-1
	for fn&1 == 1 {
		fn >>= 1
		sn >>= 1
	}
	fr, sr := proof[0], proof[0]
	for _, c := range proof[1:] {
		if sn == 0 {
			return false
		}
		if fn&1 == 1 || fn == sn {
			fr = rfcNode(c, fr)
			sr = rfcNode(c, sr)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			sr = rfcNode(sr, c)
		}
		fn >>= 1
		sn >>= 1
	}
	return sn == 0 && bytes.Equal(fr, firstRoot) && bytes.Equal(sr, secondRoot)
}

func hashes(hs []audit.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

// openCheckpoint opens a checkpoint's note with nothing but the published verifier key and
// returns the size and root it states.
func openCheckpoint(t *testing.T, vkey, origin string, c audit.Checkpoint) (int64, []byte) {
	t.Helper()
	v, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	n, err := note.Open(c.Note, note.VerifierList(v))
	require.NoError(t, err, "checkpoint note verifies under the published key")
	o, size, root, err := audit.ParseCheckpointBody(n.Text)
	require.NoError(t, err)
	require.Equal(t, origin, o)
	return size, root[:]
}

func testProofs(t *testing.T, h Harness) {
	ctx := context.Background()
	t.Parallel()
	e := newEnv(t, h, audit.Options{CheckpointEvery: 7, CheckpointInterval: time.Hour})
	tenant := eusaas.NewTenantID()
	var got []audit.Entry
	for i := range 45 {
		ev := event(tenant, audit.ActionUpdate, i)
		if i%5 == 0 {
			ev.Meta = eusaas.RequestMeta{IP: "198.51.100.7"}
		}
		en, err := e.svc.RecordEntry(ctx, ev)
		require.NoError(t, err)
		got = append(got, en)
	}
	origin := audit.Origin(e.svc.LogOrigin(), tenant)
	vkey := e.svc.NoteVerifierKey()
	require.NotEmpty(t, vkey)

	// Consistency between every pair of successive checkpoints.
	cps, err := e.Store.Checkpoints(ctx, tenant)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(cps), 5)
	for i := 1; i < len(cps); i++ {
		s1, r1 := openCheckpoint(t, vkey, origin, cps[i-1])
		s2, r2 := openCheckpoint(t, vkey, origin, cps[i])
		p, err := e.svc.Consistency(ctx, tenant, s1, s2)
		require.NoError(t, err)
		require.True(t, RFCVerifyConsistency(s1, s2, hashes(p.Proof), r1, r2), "consistency %d -> %d", s1, s2)
		require.False(t, RFCVerifyConsistency(s1, s2, hashes(p.Proof), r2, r1), "the verifier is not vacuous")
	}

	// Inclusion of random entries (and the first and last) against the signed checkpoint.
	rng := rand.New(rand.NewPCG(1, 2))
	picks := []int{0, len(got) - 1}
	for range 12 {
		picks = append(picks, rng.IntN(len(got)))
	}
	for _, i := range picks {
		en := got[i]
		p, err := e.svc.Prove(ctx, tenant, en.ID)
		require.NoError(t, err)
		require.NotNil(t, p.Checkpoint)
		size, root := openCheckpoint(t, vkey, origin, *p.Checkpoint)
		require.Equal(t, size, p.TreeSize)
		require.GreaterOrEqual(t, size, en.Seq, "the checkpoint covers the entry")
		require.Equal(t, en.Seq-1, p.LeafIndex)
		// The leaf is computed here from the entry's content alone.
		eh := audit.EntryHash(&p.Entry)
		require.Equal(t, en.Hash, eh)
		leaf := rfcLeaf(eh[:])
		require.Equal(t, leaf, p.LeafHash[:])
		require.True(t, RFCVerifyInclusion(p.LeafIndex, size, leaf, hashes(p.Proof), root), "inclusion of seq %d", en.Seq)
		other := rfcLeaf([]byte("not this entry"))
		require.False(t, RFCVerifyInclusion(p.LeafIndex, size, other, hashes(p.Proof), root))
	}

	// Bad requests.
	_, err = e.svc.Prove(ctx, tenant, uuid.New())
	require.Equal(t, eusaas.NotFound, eusaas.KindOf(err))
	_, err = e.svc.Prove(ctx, eusaas.NewTenantID(), got[0].ID)
	require.Equal(t, eusaas.NotFound, eusaas.KindOf(err), "another chain's entry is not found")
	for _, r := range [][2]int64{{0, 5}, {6, 5}, {1, 46}} {
		_, err = e.svc.Consistency(ctx, tenant, r[0], r[1])
		require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err), "%v", r)
	}

	// A rewritten stored tree hash is never served as a proof.
	bad := got[20]
	var stored []audit.Entry
	require.NoError(t, e.Store.ScanRange(ctx, tenant, bad.Seq, bad.Seq, func(en *audit.Entry) error {
		stored = append(stored, *en)
		return nil
	}))
	th, err := e.Store.TreeHashes(ctx, tenant, []int64{bad.Seq - 1})
	require.NoError(t, err)
	stored[0].TreeHashes = th[bad.Seq-1]
	stored[0].TreeHashes[0][0] ^= 1
	require.NoError(t, e.Tamper.Rewrite(ctx, tenant, stored, nil))
	before := e.svc.ForgeriesDetected()
	_, err = e.svc.Prove(ctx, tenant, got[21].ID) // its audit path starts with entry 21's leaf
	require.ErrorIs(t, err, audit.ErrForged)
	require.Greater(t, e.svc.ForgeriesDetected(), before)
}

// testSegment: an exported segment verifies offline with the note key alone, and any change
// to it is caught.
func testSegment(t *testing.T, h Harness) {
	ctx := context.Background()
	t.Parallel()
	e := newEnv(t, h, audit.Options{CheckpointEvery: 1000, CheckpointInterval: time.Hour})
	tenant := eusaas.NewTenantID()
	for i := range 20 {
		ev := event(tenant, audit.ActionUpdate, i)
		ev.Meta = eusaas.RequestMeta{IP: "198.51.100.8"}
		require.NoError(t, e.svc.Record(ctx, ev))
	}
	seg, err := e.svc.Segment(ctx, tenant, 5, 12)
	require.NoError(t, err)
	require.Len(t, seg.Entries, 8)
	b, err := json.Marshal(seg)
	require.NoError(t, err)
	require.NotContains(t, string(b), "198.51.100.8", "no personal values in an export")
	var back audit.Segment
	require.NoError(t, json.Unmarshal(b, &back))
	require.NoError(t, audit.VerifySegment(back, e.svc.NoteVerifierKey(), e.svc.LogOrigin()))
	for _, p := range back.Entries {
		require.True(t, RFCVerifyInclusion(p.Seq-1, back.TreeSize, rfcLeaf(p.Hash[:]), hashes(p.InclusionProof), back.RootHash[:]))
	}
	bad := back
	bad.Entries = append([]audit.SegmentEntry(nil), back.Entries...)
	bad.Entries[3].Action = audit.ActionDelete
	require.Error(t, audit.VerifySegment(bad, e.svc.NoteVerifierKey(), e.svc.LogOrigin()))
	bad.Entries = append([]audit.SegmentEntry(nil), back.Entries...)
	bad.Entries[3].Hash[0] ^= 1
	require.Error(t, audit.VerifySegment(bad, e.svc.NoteVerifierKey(), e.svc.LogOrigin()))
	bad = back
	bad.Entries = back.Entries[1:]
	require.Error(t, audit.VerifySegment(bad, e.svc.NoteVerifierKey(), e.svc.LogOrigin()))
	_, err = e.svc.Segment(ctx, tenant, 5, 21)
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
}
