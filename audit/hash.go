package audit

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// The canonical encoding (version 1).
//
// Every hashed or signed message is a sequence of items, each either fixed-size bytes or a
// length-prefixed byte string (4-byte big-endian length, then the bytes). Fixed sizes make
// the encoding injective: no two different entries encode to the same bytes, whatever their
// strings contain. Every message starts with a length-prefixed domain tag naming what it is
// and its version, so an entry can never be confused with a commitment or a checkpoint, and
// a future version 2 can never collide with version 1.
//
// Entry ("eusaas/audit/entry/v1"), in this order:
//
//	str   tag            "eusaas/audit/entry/v1"
//	16    id             UUID bytes
//	16    chain          tenant id, all zero for the platform chain
//	8     seq            uint64
//	16    tenant_id
//	str   actor.kind
//	str   actor.id
//	16    actor.tenant_id
//	str   action
//	str   resource_type
//	str   resource_id
//	str   subject
//	str   changes        the stored JSON bytes (empty when none)
//	4     n              number of personal fields, then n times, sorted by name:
//	str     name
//	32      commitment
//	8     timestamp      int64 microseconds since the Unix epoch, UTC
//	32    prev_hash
//
// hash = SHA-256(encoding). The hash field itself is the only field of the entry not in the
// encoding. Personal values enter through their commitments:
//
//	commitment = HMAC-SHA256(subject key, str "eusaas/audit/personal/v1" | 16 id | str name | str value)
//
// and a checkpoint signs (Ed25519) the message
//
//	str "eusaas/audit/checkpoint/v1" | 16 chain | 8 size | 32 head | 8 time (µs) | str key_id
const (
	entryTag      = "eusaas/audit/entry/v1"
	personalTag   = "eusaas/audit/personal/v1"
	checkpointTag = "eusaas/audit/checkpoint/v1"
)

type encoder struct{ b []byte }

func (e *encoder) str(s string) {
	e.b = binary.BigEndian.AppendUint32(e.b, uint32(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) bytes(p []byte) {
	e.b = binary.BigEndian.AppendUint32(e.b, uint32(len(p)))
	e.b = append(e.b, p...)
}

func (e *encoder) fixed(p []byte) { e.b = append(e.b, p...) }
func (e *encoder) u64(v uint64)   { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *encoder) u32(v uint32)   { e.b = binary.BigEndian.AppendUint32(e.b, v) }

// AppendEncoding appends the canonical encoding of e (everything but e.Hash) to dst.
func AppendEncoding(dst []byte, e *Entry) []byte {
	enc := encoder{b: dst}
	enc.str(entryTag)
	enc.fixed(e.ID[:])
	enc.fixed(e.Chain[:])
	enc.u64(uint64(e.Seq))
	enc.fixed(e.TenantID[:])
	enc.str(string(e.Actor.Kind))
	enc.str(e.Actor.ID)
	enc.fixed(e.Actor.TenantID[:])
	enc.str(e.Action)
	enc.str(e.ResourceType)
	enc.str(e.ResourceID)
	enc.str(e.Subject)
	enc.bytes(e.Changes)
	enc.u32(uint32(len(e.Personal)))
	for i := range e.Personal {
		enc.str(e.Personal[i].Name)
		enc.fixed(e.Personal[i].Commitment[:])
	}
	enc.u64(uint64(e.Timestamp.UnixMicro()))
	enc.fixed(e.PrevHash[:])
	return enc.b
}

// EntryHash computes the hash of e from its canonical encoding.
func EntryHash(e *Entry) Hash {
	var buf [512]byte
	return sha256.Sum256(AppendEncoding(buf[:0], e))
}

// hasher reuses one buffer across entries (the verifier hashes millions).
type hasher struct{ buf []byte }

func (h *hasher) hash(e *Entry) Hash {
	h.buf = AppendEncoding(h.buf[:0], e)
	return sha256.Sum256(h.buf)
}

// Commit computes the keyed commitment of one personal value.
func Commit(key []byte, id uuid.UUID, name, value string) Hash {
	m := hmac.New(sha256.New, key)
	enc := encoder{b: make([]byte, 0, 64+len(name)+len(value))}
	enc.str(personalTag)
	enc.fixed(id[:])
	enc.str(name)
	enc.str(value)
	m.Write(enc.b)
	var out Hash
	m.Sum(out[:0])
	return out
}

// CheckpointMessage is the byte string a checkpoint's signature covers.
func CheckpointMessage(c Checkpoint) []byte {
	enc := encoder{}
	enc.str(checkpointTag)
	enc.fixed(c.Chain[:])
	enc.u64(uint64(c.Size))
	enc.fixed(c.Head[:])
	enc.u64(uint64(c.Time.UnixMicro()))
	enc.str(c.KeyID)
	return enc.b
}

// KeyID names a checkpoint signing key: the first 8 bytes of SHA-256 of the public key, hex.
func KeyID(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:8])
}

// VerifyCheckpoint checks c's signature under pub.
func VerifyCheckpoint(pub ed25519.PublicKey, c Checkpoint) bool {
	return len(pub) == ed25519.PublicKeySize && c.KeyID == KeyID(pub) &&
		ed25519.Verify(pub, CheckpointMessage(c), c.Signature)
}

// Normalize truncates t to the precision the encoding and every store keep (microseconds, UTC).
func Normalize(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// PlatformChain names the platform chain (operator actions, tenant lifecycle).
var PlatformChain = eusaas.NilTenant

// checkpointJSON is the published form of a checkpoint (HTTP responses, checkpoint files).
type checkpointJSON struct {
	Chain     eusaas.TenantID `json:"chain"`
	Size      int64           `json:"size"`
	HeadHash  string          `json:"head_hash"` // hex
	SignedAt  time.Time       `json:"signed_at"`
	KeyID     string          `json:"key_id"`
	Signature []byte          `json:"signature"`           // base64
	RootHash  string          `json:"root_hash,omitempty"` // hex; absent before the tree
	Note      string          `json:"note,omitempty"`      // the signed-note checkpoint
}

// MarshalJSON implements json.Marshaler.
func (c Checkpoint) MarshalJSON() ([]byte, error) {
	j := checkpointJSON{Chain: c.Chain, Size: c.Size, HeadHash: hex.EncodeToString(c.Head[:]),
		SignedAt: c.Time, KeyID: c.KeyID, Signature: c.Signature, Note: string(c.Note)}
	if len(c.Note) > 0 {
		j.RootHash = hex.EncodeToString(c.Root[:])
	}
	return json.Marshal(j)
}

// UnmarshalJSON implements json.Unmarshaler.
func (c *Checkpoint) UnmarshalJSON(b []byte) error {
	var j checkpointJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	h, err := hex.DecodeString(j.HeadHash)
	if err != nil || len(h) != HashSize {
		return eusaas.E(eusaas.InvalidArgument, "checkpoint head_hash must be 64 hex digits")
	}
	*c = Checkpoint{Chain: j.Chain, Size: j.Size, Time: Normalize(j.SignedAt), KeyID: j.KeyID, Signature: j.Signature}
	copy(c.Head[:], h)
	if j.Note != "" {
		r, err := hex.DecodeString(j.RootHash)
		if err != nil || len(r) != HashSize {
			return eusaas.E(eusaas.InvalidArgument, "checkpoint root_hash must be 64 hex digits")
		}
		copy(c.Root[:], r)
		c.Note = []byte(j.Note)
	}
	return nil
}

// String returns the hash in hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }
