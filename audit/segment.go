package audit

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/eusaas/eusaas"
)

// Segment is a stretch of a chain with everything an auditor needs to check it offline with
// nothing but the log's note verifier key: the signed checkpoint, and per entry the fields
// its hash covers and its inclusion proof against the checkpoint's root.
type Segment struct {
	Chain      eusaas.TenantID `json:"chain"`
	From       int64           `json:"from"`
	To         int64           `json:"to"`
	Checkpoint string          `json:"checkpoint" doc:"signed note"`
	TreeSize   int64           `json:"tree_size"`
	RootHash   Hash            `json:"root_hash"`
	Entries    []SegmentEntry  `json:"entries"`
}

// SegmentEntry is an entry in the exact form its hash covers (personal values appear only as
// their names and commitments) with its inclusion proof.
type SegmentEntry struct {
	ID             uuid.UUID       `json:"id"`
	Seq            int64           `json:"seq"`
	TenantID       eusaas.TenantID `json:"tenant_id"`
	ActorKind      string          `json:"actor_kind"`
	ActorID        string          `json:"actor_id"`
	ActorTenant    eusaas.TenantID `json:"actor_tenant"`
	Action         string          `json:"action"`
	ResourceType   string          `json:"resource_type"`
	ResourceID     string          `json:"resource_id"`
	Subject        string          `json:"subject"`
	Changes        string          `json:"changes" doc:"the exact JSON bytes hashed"`
	Personal       []SegmentField  `json:"personal"`
	Timestamp      time.Time       `json:"timestamp"`
	PrevHash       Hash            `json:"prev_hash"`
	Hash           Hash            `json:"hash"`
	InclusionProof []Hash          `json:"inclusion_proof"`
}

// SegmentField is a personal field as the chain holds it.
type SegmentField struct {
	Name       string `json:"name"`
	Commitment Hash   `json:"commitment"`
}

// MarshalText renders a hash as hex (JSON of segments).
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText parses a hex hash.
func (h *Hash) UnmarshalText(b []byte) error {
	var out Hash
	if len(b) != 2*HashSize {
		return fmt.Errorf("audit: hash must be %d hex digits", 2*HashSize)
	}
	if _, err := hex.Decode(out[:], b); err != nil {
		return fmt.Errorf("audit: hash must be hex")
	}
	*h = out
	return nil
}

func (se SegmentEntry) entry(chain eusaas.TenantID) Entry {
	e := Entry{ID: se.ID, Chain: chain, Seq: se.Seq, TenantID: se.TenantID,
		Actor:  eusaas.Actor{Kind: eusaas.ActorKind(se.ActorKind), ID: se.ActorID, TenantID: se.ActorTenant},
		Action: se.Action, ResourceType: se.ResourceType, ResourceID: se.ResourceID, Subject: se.Subject,
		Timestamp: Normalize(se.Timestamp), PrevHash: se.PrevHash, Hash: se.Hash}
	if se.Changes != "" {
		e.Changes = json.RawMessage(se.Changes)
	}
	for _, f := range se.Personal {
		e.Personal = append(e.Personal, PersonalField{Name: f.Name, Commitment: f.Commitment})
	}
	return e
}

// Segment exports entries from..to of chain with their proofs against the latest signed
// checkpoint (made first when none covers to).
func (s *Service) Segment(ctx context.Context, chain eusaas.TenantID, from, to int64) (Segment, error) {
	if s.opts.Signer == nil {
		return Segment{}, ErrNoSigner
	}
	h, err := s.store.Head(ctx, chain)
	if err != nil {
		return Segment{}, err
	}
	if from < 1 || to < from || to > h.Size {
		return Segment{}, eusaas.Invalid("invalid range", eusaas.FieldViolation{Location: "from/to",
			Message: fmt.Sprintf("need 1 <= from <= to <= %d", h.Size)})
	}
	cp, ok, err := s.LatestCheckpoint(ctx, chain)
	if err != nil {
		return Segment{}, err
	}
	if !ok || cp.Size < to || len(cp.Note) == 0 {
		if cp, err = s.Checkpoint(ctx, chain); err != nil {
			return Segment{}, err
		}
	}
	seg := Segment{Chain: chain, From: from, To: to, Checkpoint: string(cp.Note), TreeSize: cp.Size, RootHash: cp.Root}
	r := hashReader{ctx, s.store, chain}
	err = s.store.ScanRange(ctx, chain, from, to, func(e *Entry) error {
		p, err := tlog.ProveRecord(cp.Size, e.Seq-1, r)
		if err != nil {
			return s.proofErr(chain, err)
		}
		se := SegmentEntry{ID: e.ID, Seq: e.Seq, TenantID: e.TenantID, ActorKind: string(e.Actor.Kind), ActorID: e.Actor.ID,
			ActorTenant: e.Actor.TenantID, Action: e.Action, ResourceType: e.ResourceType, ResourceID: e.ResourceID,
			Subject: e.Subject, Changes: string(e.Changes), Personal: []SegmentField{}, Timestamp: e.Timestamp,
			PrevHash: e.PrevHash, Hash: e.Hash, InclusionProof: make([]Hash, len(p))}
		for _, f := range e.Personal {
			se.Personal = append(se.Personal, SegmentField{Name: f.Name, Commitment: f.Commitment})
		}
		for i := range p {
			se.InclusionProof[i] = Hash(p[i])
		}
		seg.Entries = append(seg.Entries, se)
		return nil
	})
	if err != nil {
		return Segment{}, err
	}
	if int64(len(seg.Entries)) != to-from+1 {
		return Segment{}, s.forgery(chain, fmt.Sprintf("entries missing between %d and %d", from, to))
	}
	return seg, nil
}

// VerifySegment checks a segment offline: the checkpoint note opens under the verifier key
// and names the chain's origin (prefix LogOrigin), every entry's fields hash to its hash,
// the entries link, and each is included in the checkpoint's tree.
func VerifySegment(seg Segment, verifierKey, logOrigin string) error {
	v, err := note.NewVerifier(verifierKey)
	if err != nil {
		return fmt.Errorf("verifier key: %w", err)
	}
	if logOrigin == "" {
		logOrigin = DefaultLogOrigin
	}
	size, root, err := OpenCheckpointNote([]byte(seg.Checkpoint), Origin(logOrigin, seg.Chain), v)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if int64(len(seg.Entries)) != seg.To-seg.From+1 {
		return fmt.Errorf("segment holds %d entries for %d..%d", len(seg.Entries), seg.From, seg.To)
	}
	var prev Hash
	for i, se := range seg.Entries {
		e := se.entry(seg.Chain)
		switch {
		case e.Seq != seg.From+int64(i):
			return fmt.Errorf("entry %d: seq %d out of order", i, e.Seq)
		case EntryHash(&e) != e.Hash:
			return fmt.Errorf("seq %d: fields do not match its hash", e.Seq)
		case i > 0 && e.PrevHash != prev:
			return fmt.Errorf("seq %d: does not link to seq %d", e.Seq, e.Seq-1)
		}
		p := make(tlog.RecordProof, len(se.InclusionProof))
		for j, h := range se.InclusionProof {
			p[j] = tlog.Hash(h)
		}
		if err := tlog.CheckRecord(p, size, tlog.Hash(root), e.Seq-1, tlog.Hash(LeafHash(e.Hash))); err != nil {
			return fmt.Errorf("seq %d: not in the signed tree of size %d: %w", e.Seq, size, err)
		}
		prev = e.Hash
	}
	return nil
}
