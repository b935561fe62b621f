package audit

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/eusaas/eusaas"
)

// The Merkle tree (RFC 6962) over each chain.
//
// Leaf i (0-based) of a chain is the entry at seq i+1; its leaf data is the entry's Hash, so
// the tree commits to everything the hash chain does. The tree is kept in the layout of
// golang.org/x/mod/sumdb/tlog: appending record n stores its leaf hash and the hash of every
// subtree that record n completes ("stored hashes", tlog.StoredHashIndex). Each entry
// carries its stored hashes (Entry.TreeHashes), so the store needs no second table, and the
// chain head carries the frontier: the roots of the complete subtrees that make up the tree,
// largest first (one per set bit of the size). From the frontier a writer computes the next
// stored hashes and the new root without reading anything back.

// LeafHash is the RFC 6962 leaf hash of an entry: SHA-256(0x00 || entry hash).
func LeafHash(entryHash Hash) Hash { return Hash(tlog.RecordHash(entryHash[:])) }

// Frontier is the right edge of a tree: the roots of its complete subtrees, largest first.
type Frontier []Hash

// Append adds the leaf of record n (n = the tree's size before) and returns the stored
// hashes record n adds: its leaf hash, then each subtree it completes, by level.
func (f *Frontier) Append(n int64, leaf Hash) []Hash {
	stored := []Hash{leaf}
	h := leaf
	// Each trailing one bit of n is a complete subtree of equal size to merge with.
	for t := bits.TrailingZeros64(^uint64(n)); t > 0; t-- {
		last := (*f)[len(*f)-1]
		*f = (*f)[:len(*f)-1]
		h = Hash(tlog.NodeHash(tlog.Hash(last), tlog.Hash(h)))
		stored = append(stored, h)
	}
	*f = append(*f, h)
	return stored
}

// Root is the RFC 6962 tree hash of the tree the frontier describes (the zero hash for the
// empty tree is SHA-256 of nothing per RFC 6962; we use the zero Hash so an empty head stays
// zero).
func (f Frontier) Root() Hash {
	if len(f) == 0 {
		return Hash{}
	}
	r := f[len(f)-1]
	for i := len(f) - 2; i >= 0; i-- {
		r = Hash(tlog.NodeHash(tlog.Hash(f[i]), tlog.Hash(r)))
	}
	return r
}

// FrontierIndexes names the stored hashes (tlog.StoredHashIndex) that make up the frontier
// of a tree of size n, largest first.
func FrontierIndexes(n int64) []int64 {
	var out []int64
	var start int64
	for l := 63; l >= 0; l-- {
		if n&(1<<l) != 0 {
			out = append(out, tlog.StoredHashIndex(l, start>>l))
			start += 1 << l
		}
	}
	return out
}

// StoredHashRecord maps a stored-hash index to the record that stored it and its position
// among that record's stored hashes (Entry.TreeHashes).
func StoredHashRecord(index int64) (record int64, pos int) {
	level, n := tlog.SplitStoredHashIndex(index)
	return ((n + 1) << level) - 1, level
}

// hashReader reads stored hashes through the store.
type hashReader struct {
	ctx   context.Context
	store Store
	chain eusaas.TenantID
}

func (r hashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	recs := make([]int64, 0, len(indexes))
	seen := map[int64]bool{}
	for _, ix := range indexes {
		rec, _ := StoredHashRecord(ix)
		if !seen[rec] {
			seen[rec] = true
			recs = append(recs, rec)
		}
	}
	got, err := r.store.TreeHashes(r.ctx, r.chain, recs)
	if err != nil {
		return nil, err
	}
	out := make([]tlog.Hash, len(indexes))
	for i, ix := range indexes {
		rec, pos := StoredHashRecord(ix)
		hs, ok := got[rec]
		if !ok || pos >= len(hs) {
			return nil, eusaas.Errorf(eusaas.FailedPrecondition, "audit: tree hash %d of record %d missing", pos, rec)
		}
		out[i] = tlog.Hash(hs[pos])
	}
	return out, nil
}

// headTag separates the writer's head signature from every other signed message.
const headTag = "eusaas/audit/head/v1"

// HeadMessage is what a writer signs when it moves a chain's head: chain, size, the last
// entry's hash and the tree root.
func HeadMessage(chain eusaas.TenantID, h Head) []byte {
	enc := encoder{}
	enc.str(headTag)
	enc.fixed(chain[:])
	enc.u64(uint64(h.Size))
	enc.fixed(h.Hash[:])
	enc.fixed(h.Root[:])
	return enc.b
}

// Origin is the first line of a chain's checkpoints: the log's identity.
func Origin(prefix string, chain eusaas.TenantID) string { return prefix + "/" + chain.String() }

// CheckpointBody is the signed-note body of a checkpoint (the C2SP tlog-checkpoint format):
// origin line, decimal tree size, base64 root hash.
func CheckpointBody(origin string, size int64, root Hash) string {
	return origin + "\n" + strconv.FormatInt(size, 10) + "\n" + base64.StdEncoding.EncodeToString(root[:]) + "\n"
}

// ParseCheckpointBody parses a checkpoint note's text.
func ParseCheckpointBody(text string) (origin string, size int64, root Hash, err error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 {
		return "", 0, Hash{}, fmt.Errorf("audit: checkpoint body has fewer than three lines")
	}
	size, err = strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		return "", 0, Hash{}, fmt.Errorf("audit: checkpoint size %q", lines[1])
	}
	b, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(b) != HashSize {
		return "", 0, Hash{}, fmt.Errorf("audit: checkpoint root hash %q", lines[2])
	}
	copy(root[:], b)
	return lines[0], size, root, nil
}

// NoteKeys are a checkpoint key as the signed-note format names it.
type NoteKeys struct {
	Signer   note.Signer
	Verifier note.Verifier
	// VerifierKey is the note verifier key ("<name>+<hash>+<base64 key>"), the form
	// published at GET /api/v1/audit/checkpoint-key.
	VerifierKey string
}

// NewNoteKeys wraps an Ed25519 key for the signed-note format under name.
func NewNoteKeys(name string, priv ed25519.PrivateKey) (NoteKeys, error) {
	pub := priv.Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		return NoteKeys{}, err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return NoteKeys{}, err
	}
	// The private key string mirrors the verifier key: PRIVATE+KEY+name+hash+base64(alg||seed).
	// The name holds no "+", but the base64 key may: the hash is the second field.
	parts := strings.SplitN(vkey, "+", 3)
	skey := "PRIVATE+KEY+" + name + "+" + parts[1] + "+" +
		base64.StdEncoding.EncodeToString(append([]byte{1}, priv.Seed()...))
	s, err := note.NewSigner(skey)
	if err != nil {
		return NoteKeys{}, err
	}
	return NoteKeys{Signer: s, Verifier: v, VerifierKey: vkey}, nil
}

// NoteVerifier returns the note verifier of an Ed25519 public key under name.
func NoteVerifier(name string, pub ed25519.PublicKey) (note.Verifier, string, error) {
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		return nil, "", err
	}
	v, err := note.NewVerifier(vkey)
	return v, vkey, err
}

// OpenCheckpointNote verifies a checkpoint note under the verifiers and returns its size and
// root.
func OpenCheckpointNote(msg []byte, origin string, vs ...note.Verifier) (int64, Hash, error) {
	n, err := note.Open(msg, note.VerifierList(vs...))
	if err != nil {
		return 0, Hash{}, err
	}
	o, size, root, err := ParseCheckpointBody(n.Text)
	if err != nil {
		return 0, Hash{}, err
	}
	if origin != "" && o != origin {
		return 0, Hash{}, fmt.Errorf("audit: checkpoint origin %q, want %q", o, origin)
	}
	return size, root, nil
}

// hexHash is a short form for logs.
func hexHash(h Hash) string { return hex.EncodeToString(h[:8]) }
