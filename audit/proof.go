package audit

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/eusaas/eusaas"
)

// InclusionProof proves that an entry is leaf LeafIndex of the tree of size TreeSize whose
// root a signed checkpoint states (RFC 6962 audit path).
type InclusionProof struct {
	Entry     Entry
	LeafIndex int64
	TreeSize  int64
	LeafHash  Hash
	Proof     []Hash
	Root      Hash
	// Checkpoint is the signed checkpoint at TreeSize (nil without a signer: the proof is
	// then against the head's root, which nothing outside vouches for).
	Checkpoint *Checkpoint
}

// ConsistencyProof proves that the tree of size From is a prefix of the tree of size To
// (RFC 6962 consistency proof).
type ConsistencyProof struct {
	From, To         int64
	FromRoot, ToRoot Hash
	Proof            []Hash
}

// Prove returns the inclusion proof of the entry id of chain against the chain's latest
// checkpoint, making a checkpoint first when the latest does not cover the entry yet.
func (s *Service) Prove(ctx context.Context, chain eusaas.TenantID, id uuid.UUID) (InclusionProof, error) {
	l, err := s.store.List(ctx, chain, Filter{ID: id}, eusaas.Page{Page: 1, Size: 1})
	if err != nil {
		return InclusionProof{}, err
	}
	if len(l.Items) == 0 {
		return InclusionProof{}, eusaas.E(eusaas.NotFound, "audit entry not found")
	}
	e := l.Items[0]
	out := InclusionProof{Entry: e, LeafIndex: e.Seq - 1, LeafHash: LeafHash(e.Hash)}
	if s.opts.Signer != nil {
		cp, ok, err := s.LatestCheckpoint(ctx, chain)
		if err != nil {
			return out, err
		}
		if !ok || cp.Size < e.Seq || len(cp.Note) == 0 {
			if cp, err = s.Checkpoint(ctx, chain); err != nil {
				return out, err
			}
		}
		out.TreeSize, out.Root, out.Checkpoint = cp.Size, cp.Root, &cp
	} else {
		h, err := s.store.Head(ctx, chain)
		if err != nil {
			return out, err
		}
		if !h.HasTree() {
			return out, ErrUpgrade
		}
		out.TreeSize, out.Root = h.Size, h.Root
	}
	p, err := tlog.ProveRecord(out.TreeSize, out.LeafIndex, hashReader{ctx, s.store, chain})
	if err != nil {
		return out, s.proofErr(chain, err)
	}
	// A proof that does not check against the signed root means the stored tree was
	// rewritten: never hand it out as if it were good.
	if err := tlog.CheckRecord(p, out.TreeSize, tlog.Hash(out.Root), out.LeafIndex, tlog.Hash(out.LeafHash)); err != nil {
		return out, s.forgery(chain, fmt.Sprintf("stored tree hashes do not prove entry %d against the root at %d", e.Seq, out.TreeSize))
	}
	out.Proof = make([]Hash, len(p))
	for i, h := range p {
		out.Proof[i] = Hash(h)
	}
	return out, nil
}

// Consistency returns the consistency proof between the chain's trees of size from and to
// (1 <= from <= to <= the chain's size).
func (s *Service) Consistency(ctx context.Context, chain eusaas.TenantID, from, to int64) (ConsistencyProof, error) {
	h, err := s.store.Head(ctx, chain)
	if err != nil {
		return ConsistencyProof{}, err
	}
	if !h.HasTree() {
		return ConsistencyProof{}, ErrUpgrade
	}
	var v eusaas.Violations
	if from < 1 {
		v.Add("query.from", "must be at least 1")
	}
	if to < from {
		v.Add("query.to", "must not be less than from")
	}
	if to > h.Size {
		v.Add("query.to", fmt.Sprintf("must not exceed the chain's size %d", h.Size))
	}
	if err := v.Err(); err != nil {
		return ConsistencyProof{}, err
	}
	r := hashReader{ctx, s.store, chain}
	p, err := tlog.ProveTree(to, from, r)
	if err != nil {
		return ConsistencyProof{}, s.proofErr(chain, err)
	}
	out := ConsistencyProof{From: from, To: to, Proof: make([]Hash, len(p))}
	for i, x := range p {
		out.Proof[i] = Hash(x)
	}
	fr, err := tlog.TreeHash(from, r)
	if err != nil {
		return out, s.proofErr(chain, err)
	}
	tr, err := tlog.TreeHash(to, r)
	if err != nil {
		return out, s.proofErr(chain, err)
	}
	out.FromRoot, out.ToRoot = Hash(fr), Hash(tr)
	return out, nil
}

func (s *Service) proofErr(chain eusaas.TenantID, err error) error {
	if eusaas.KindOf(err) != eusaas.Internal {
		return err
	}
	return s.forgery(chain, "stored tree hashes are missing or inconsistent: "+err.Error())
}

// Upgrade builds the Merkle tree of every chain written before it existed, once: each such
// chain is verified first (a chain with a finding is not upgraded: its history cannot be
// vouched for), its tree hashes and head computed from its entries and stored, the chain
// verified again, and (with a signer) checkpointed. It returns the number of chains
// upgraded and the failures of the others (a chain that fails stays on the old format, and
// appends to it fail with ErrUpgrade until it is fixed). Idempotent; safe to run from
// several processes (a chain whose head moved meanwhile is retried).
func (s *Service) Upgrade(ctx context.Context) (int, error) {
	chains, err := s.store.Chains(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, chain := range chains {
		ok, err := s.upgrade(ctx, chain)
		if err != nil {
			if ctx.Err() != nil {
				return n, err
			}
			errs = append(errs, err)
		}
		if ok {
			n++
		}
	}
	return n, errors.Join(errs...)
}

func (s *Service) upgrade(ctx context.Context, chain eusaas.TenantID) (bool, error) {
	up, ok := s.store.(TreeUpgrader)
	for attempt := 0; ; attempt++ {
		h, err := s.store.Head(ctx, chain)
		if err != nil {
			return false, err
		}
		if h.HasTree() {
			return false, nil
		}
		if !ok {
			return false, eusaas.E(eusaas.Internal, "audit store cannot upgrade chains to the Merkle tree")
		}
		r, err := s.Verify(ctx, chain)
		if err != nil {
			return false, err
		}
		if !r.OK {
			return false, eusaas.Errorf(eusaas.FailedPrecondition, "audit: chain %s fails verification before the upgrade (%s); not upgraded", chain, r.Finding)
		}
		var f Frontier
		var trees [][]Hash
		var last Hash
		head, err := s.store.Scan(ctx, chain, func(e *Entry) error {
			trees = append(trees, f.Append(e.Seq-1, LeafHash(e.Hash)))
			last = e.Hash
			return nil
		})
		if err != nil {
			return false, err
		}
		if head.Size != int64(len(trees)) || head.Hash != last {
			if attempt < 3 {
				continue // appended meanwhile by an old process
			}
			return false, eusaas.Errorf(eusaas.Aborted, "audit: chain %s keeps moving during the upgrade", chain)
		}
		nh := Head{Size: head.Size, Hash: head.Hash, Root: f.Root(), Frontier: f}
		if s.opts.Signer != nil {
			nh.Sig = signHead(s, chain, nh)
		}
		err = up.UpgradeTree(ctx, chain, Head{Size: head.Size, Hash: head.Hash}, trees, nh)
		if eusaas.KindOf(err) == eusaas.Aborted && attempt < 3 {
			continue
		}
		if err != nil {
			return false, err
		}
		if r, err = s.Verify(ctx, chain); err != nil {
			return false, err
		}
		if !r.OK {
			return false, eusaas.Errorf(eusaas.Internal, "audit: chain %s fails verification after the upgrade (%s)", chain, r.Finding)
		}
		if s.opts.Signer != nil {
			if _, err := s.Checkpoint(ctx, chain); err != nil {
				return false, err
			}
		}
		s.log.Info("audit: chain upgraded to the Merkle tree", "chain", chain.String(), "entries", nh.Size, "root", nh.Root.String())
		return true, nil
	}
}
