package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sort"

	"github.com/eusaas/eusaas"
)

// FindingKind names a kind of tampering.
type FindingKind string

// Finding kinds.
const (
	// KindModified: an entry's content no longer matches its hash, a personal value no
	// longer matches its commitment, or an entry was replaced by a forged one.
	KindModified FindingKind = "modified"
	// KindDeleted: entries are missing (a gap, or later entries renumbered to close it).
	KindDeleted FindingKind = "deleted"
	// KindInserted: an entry that was never appended sits in the chain.
	KindInserted FindingKind = "inserted"
	// KindReordered: entries sit at positions other than the ones they were appended at.
	KindReordered FindingKind = "reordered"
	// KindTruncated: the chain ends before its head or a signed checkpoint, or does not
	// extend a signed checkpoint (rolled back and rewritten).
	KindTruncated FindingKind = "truncated"
	// KindBadCheckpoint: a stored checkpoint's signature does not verify.
	KindBadCheckpoint FindingKind = "bad_checkpoint"
	// KindForged: entries and head agree with each other but not with what the writer
	// signed: the head's writer signature or tree root does not match (entries rewritten and
	// re-hashed consistently, before any checkpoint covered them).
	KindForged FindingKind = "forged"
)

// Finding is the first problem the verifier found.
type Finding struct {
	Seq    int64       `json:"seq"`
	Kind   FindingKind `json:"kind"`
	Detail string      `json:"detail"`
}

func (f Finding) String() string { return fmt.Sprintf("seq %d: %s: %s", f.Seq, f.Kind, f.Detail) }

// Report is the outcome of verifying one chain.
type Report struct {
	Chain eusaas.TenantID
	OK    bool
	// Entries is the number of entries verified before the first finding (all of them
	// when OK).
	Entries int64
	// Head is the head the store reports for the chain.
	Head Head
	// Finding is the first problem, nil when OK.
	Finding *Finding
	// Checkpoint is the latest checkpoint the chain was checked against, nil when none.
	Checkpoint *Checkpoint
	// Erased counts personal values found erased (not a problem; for the record).
	Erased int64
}

// Verifier checks chains. It needs the store, and for the personal-value check the key
// store; with PublicKey it checks the chain against the signed checkpoints of the store and
// of Source.
type Verifier struct {
	Store     Store
	Keys      KeyStore // optional
	PublicKey ed25519.PublicKey
	// PreviousKeys are retired checkpoint keys whose checkpoints are still trusted (key
	// rotation); each checkpoint is checked with the key its KeyID names.
	PreviousKeys []ed25519.PublicKey
	Source       CheckpointSource // optional
	// Witnesses are further copies of the checkpoints kept outside the database (a
	// witness directory or service): the chain must extend the latest checkpoint of each.
	Witnesses []CheckpointSource
	// Window bounds how far (in seqs) the classifier looks for an entry's original position
	// (default 64).
	Window int64
	// LogOrigin is the log's name in signed-note checkpoints (default DefaultLogOrigin).
	LogOrigin string
}

func (v *Verifier) keys() map[string]ed25519.PublicKey {
	keys := map[string]ed25519.PublicKey{}
	for _, k := range append([]ed25519.PublicKey{v.PublicKey}, v.PreviousKeys...) {
		if k != nil {
			keys[KeyID(k)] = k
		}
	}
	return keys
}

func (v *Verifier) origin() string {
	if v.LogOrigin == "" {
		return DefaultLogOrigin
	}
	return v.LogOrigin
}

// checkNote verifies a checkpoint's signed note (when it has one) under the key its KeyID
// names: the note must open under that key and state the checkpoint's origin, size and root.
func (v *Verifier) checkNote(pub ed25519.PublicKey, c Checkpoint) bool {
	if len(c.Note) == 0 {
		return c.Root == Hash{}
	}
	nv, _, err := NoteVerifier(v.origin(), pub)
	if err != nil {
		return false
	}
	size, root, err := OpenCheckpointNote(c.Note, Origin(v.origin(), c.Chain), nv)
	return err == nil && size == c.Size && root == c.Root
}

var errStop = errors.New("audit: stop scan")

// Verify streams the chain once, in seq order, and reports the first problem. It recomputes
// every entry's hash from its canonical encoding and checks the links, the personal-value
// commitments whose keys still exist, the chain head and the signed checkpoints. When an
// entry fails, the verifier classifies the failure by recovering the seq the entry was
// originally hashed at (seqs are part of the hash) and looking one entry ahead.
func (v *Verifier) Verify(ctx context.Context, chain eusaas.TenantID) (Report, error) {
	r := Report{Chain: chain}
	cps, bad, err := v.checkpoints(ctx, chain)
	if err != nil {
		return r, err
	}
	if len(cps) > 0 {
		latest := cps[len(cps)-1]
		r.Checkpoint = &latest
	}
	st := &verifyState{v: v, r: &r, cps: cps, ctx: ctx, keys: map[string][]byte{}, next: 1}
	if v.Window <= 0 {
		st.window = 64
	} else {
		st.window = v.Window
	}
	if bad != nil {
		r.Finding = bad
		return r, nil
	}
	head, err := v.Store.Scan(ctx, chain, func(e *Entry) error {
		if st.cur == nil {
			st.cur = e
			return nil
		}
		if f := st.check(st.cur, e); f != nil {
			r.Finding = f
			return errStop
		}
		st.cur = e
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return r, err
	}
	r.Head = head
	if r.Finding == nil && st.cur != nil {
		r.Finding = st.check(st.cur, nil)
	}
	if r.Finding == nil {
		r.Finding = st.finish()
	}
	r.OK = r.Finding == nil
	return r, nil
}

// checkpoints loads the store's checkpoints and the source's latest one, verifies their
// signatures and returns the valid ones by ascending size.
func (v *Verifier) checkpoints(ctx context.Context, chain eusaas.TenantID) ([]Checkpoint, *Finding, error) {
	if v.PublicKey == nil && len(v.PreviousKeys) == 0 {
		return nil, nil, nil
	}
	keys := v.keys()
	cps, err := v.Store.Checkpoints(ctx, chain)
	if err != nil {
		return nil, nil, err
	}
	for _, src := range append([]CheckpointSource{v.Source}, v.Witnesses...) {
		if src == nil {
			continue
		}
		c, ok, err := src.Latest(ctx, chain)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			cps = append(cps, c)
		}
	}
	for _, c := range cps {
		if !VerifyCheckpoint(keys[c.KeyID], c) || c.Chain != chain || !v.checkNote(keys[c.KeyID], c) {
			return nil, &Finding{Seq: c.Size, Kind: KindBadCheckpoint, Detail: "checkpoint signature does not verify"}, nil
		}
	}
	sort.SliceStable(cps, func(i, j int) bool { return cps[i].Size < cps[j].Size })
	return cps, nil, nil
}

type verifyState struct {
	v      *Verifier
	r      *Report
	ctx    context.Context
	cps    []Checkpoint
	cpIdx  int
	keys   map[string][]byte
	window int64
	hs     hasher

	cur  *Entry
	next int64 // the seq the next entry must have
	prev Hash  // stored hash of the last good entry
	tree Frontier
}

// check verifies cur, the entry at position st.next, with nxt the following entry (nil at
// the end). It returns the first problem or nil, advancing the state.
func (st *verifyState) check(cur, nxt *Entry) *Finding {
	switch {
	case cur.Seq < st.next:
		return &Finding{Seq: cur.Seq, Kind: KindInserted, Detail: "a second entry with this seq"}
	case cur.Seq > st.next:
		return &Finding{Seq: st.next, Kind: KindDeleted, Detail: fmt.Sprintf("entries %d..%d are missing", st.next, cur.Seq-1)}
	}
	selfOK := st.hs.hash(cur) == cur.Hash
	linkOK := cur.PrevHash == st.prev
	switch {
	case !selfOK:
		return st.classify(cur, nxt)
	case !linkOK:
		if cur.Seq == 1 {
			return &Finding{Seq: 1, Kind: KindModified, Detail: "first entry does not start the chain"}
		}
		return &Finding{Seq: cur.Seq - 1, Kind: KindModified, Detail: "entry was replaced: its successor does not link to it"}
	}
	if f := st.checkPersonal(cur); f != nil {
		return f
	}
	for st.cpIdx < len(st.cps) && st.cps[st.cpIdx].Size <= cur.Seq {
		cp := st.cps[st.cpIdx]
		if cp.Size == cur.Seq && cp.Head != cur.Hash {
			return &Finding{Seq: cur.Seq, Kind: KindTruncated,
				Detail: fmt.Sprintf("chain does not extend the signed checkpoint at size %d (rolled back and rewritten)", cp.Size)}
		}
		st.cpIdx++
	}
	st.tree.Append(cur.Seq-1, LeafHash(cur.Hash))
	// The entry closing a checkpoint must give its tree root too; the chain hash above
	// already pins the content, the root pins the tree proofs are checked against.
	for i := st.cpIdx - 1; i >= 0 && st.cps[i].Size == cur.Seq; i-- {
		if cp := st.cps[i]; len(cp.Note) > 0 && cp.Root != st.tree.Root() {
			return &Finding{Seq: cur.Seq, Kind: KindTruncated, Detail: fmt.Sprintf("chain does not give the tree root signed at size %d", cp.Size)}
		}
	}
	st.prev = cur.Hash
	st.next++
	st.r.Entries++
	return nil
}

// classify names the failure of an entry whose content does not match its hash.
func (st *verifyState) classify(cur, nxt *Entry) *Finding {
	o, found := st.originalSeq(cur)
	switch {
	case !found:
		if nxt != nil {
			if o2, ok := st.originalSeq(nxt); ok && o2 == nxt.Seq-1 {
				return &Finding{Seq: cur.Seq, Kind: KindInserted, Detail: "entry was never appended: the entries after it were renumbered to make room"}
			}
		}
		return &Finding{Seq: cur.Seq, Kind: KindModified, Detail: "entry content does not match its hash"}
	case o > cur.Seq:
		o2, ok := int64(0), false
		if nxt != nil {
			o2, ok = st.originalSeq(nxt)
		}
		if nxt == nil || (ok && o2 == o+1) {
			return &Finding{Seq: cur.Seq, Kind: KindDeleted,
				Detail: fmt.Sprintf("%d entries missing: later entries were renumbered to close the gap", o-cur.Seq)}
		}
		return &Finding{Seq: cur.Seq, Kind: KindReordered, Detail: fmt.Sprintf("entry was appended at seq %d", o)}
	default: // o < cur.Seq: an entry from earlier, pushed back by insertions before it
		return &Finding{Seq: o, Kind: KindInserted,
			Detail: fmt.Sprintf("%d entries inserted: the entry appended at seq %d now sits at %d", cur.Seq-o, o, cur.Seq)}
	}
}

// originalSeq finds the seq at which e's content was hashed (its stored hash matches), within
// the window around its current seq.
func (st *verifyState) originalSeq(e *Entry) (int64, bool) {
	c := *e
	for d := int64(0); d <= st.window; d++ {
		for _, s := range [2]int64{e.Seq - d, e.Seq + d} {
			if s < 1 || (d == 0 && s != e.Seq) {
				continue
			}
			c.Seq = s
			if st.hs.hash(&c) == e.Hash {
				return s, true
			}
			if d == 0 {
				break
			}
		}
	}
	return 0, false
}

// checkPersonal checks each stored personal value against its commitment when the subject's
// key still exists.
func (st *verifyState) checkPersonal(e *Entry) *Finding {
	if st.v.Keys == nil || len(e.Personal) == 0 {
		return nil
	}
	var key []byte
	loaded := false
	for _, f := range e.Personal {
		if f.Erased {
			st.r.Erased++
			continue
		}
		if !loaded {
			loaded = true
			k := e.TenantID.String() + "\x00" + e.Subject
			var ok bool
			key, ok = st.keys[k]
			if !ok {
				var err error
				key, _, err = st.v.Keys.SubjectKey(st.ctx, e.TenantID, e.Subject, false)
				if err != nil {
					key = nil
				}
				if len(st.keys) > 4096 {
					clear(st.keys)
				}
				st.keys[k] = key
			}
		}
		if key == nil {
			// Value kept but key gone: an erasure that stopped half way. Nothing links
			// the value to the chain any more; not tampering with the chain.
			continue
		}
		if Commit(key, e.ID, f.Name, f.Value) != f.Commitment {
			return &Finding{Seq: e.Seq, Kind: KindModified, Detail: fmt.Sprintf("personal value %q does not match its commitment", f.Name)}
		}
	}
	return nil
}

// finish compares the end of the chain with its head and the checkpoints.
func (st *verifyState) finish() *Finding {
	last := st.next - 1
	h := st.r.Head
	switch {
	case last < h.Size:
		return &Finding{Seq: last + 1, Kind: KindTruncated, Detail: fmt.Sprintf("chain ends at %d, its head is at %d", last, h.Size)}
	case last > h.Size:
		return &Finding{Seq: h.Size + 1, Kind: KindInserted, Detail: fmt.Sprintf("entries after the head at %d", h.Size)}
	case last > 0 && st.prev != h.Hash:
		return &Finding{Seq: last, Kind: KindTruncated, Detail: "last entry is not the recorded head (rolled back and rewritten)"}
	}
	for _, cp := range st.cps {
		if cp.Size > last {
			return &Finding{Seq: last + 1, Kind: KindTruncated, Detail: fmt.Sprintf("chain ends at %d, a signed checkpoint covers %d", last, cp.Size)}
		}
	}
	return st.checkHeadSig(last)
}

// checkHeadSig checks the head against the tree the entries give and, with keys, against its
// writer's signature: entries rewritten and re-hashed consistently up to a moved head are
// caught here even before any checkpoint covers them.
func (st *verifyState) checkHeadSig(last int64) *Finding {
	h := st.r.Head
	if last == 0 || !h.HasTree() {
		return nil
	}
	if st.tree.Root() != h.Root {
		return &Finding{Seq: last, Kind: KindForged, Detail: "the entries do not give the tree root of the head"}
	}
	keys := st.v.keys()
	if len(keys) == 0 {
		return nil
	}
	if len(h.Sig) == 0 {
		// Unsigned heads are only written before the first tree checkpoint.
		for _, cp := range st.cps {
			if len(cp.Note) > 0 {
				return &Finding{Seq: last, Kind: KindForged, Detail: "the head carries no writer signature"}
			}
		}
		return nil
	}
	msg := HeadMessage(st.r.Chain, h)
	for _, k := range keys {
		if ed25519.Verify(k, msg, h.Sig) {
			return nil
		}
	}
	return &Finding{Seq: last, Kind: KindForged, Detail: "entries were rewritten and re-hashed: the head is not the one the writer signed"}
}
