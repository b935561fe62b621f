package audit

import (
	"context"
	"errors"
	"time"

	"github.com/eusaas/eusaas"
)

// Store keeps the chains, their heads, the personal side data and the checkpoints.
//
// Every method honours ctx cancellation (returning an error whose kind is Canceled or
// DeadlineExceeded) and is safe for concurrent use. Chains are identified by tenant id; the
// platform chain is eusaas.NilTenant.
type Store interface {
	// Append appends to chain in one atomic step. It locks the chain's head (creating an
	// empty head for a new chain), calls seal with it, then stores the entries seal returns
	// together with their personal values and moves the head to the last one. While the
	// lock is held no other Append of the same chain runs, so sequence numbers are assigned
	// exactly once: there are no forks and no gaps.
	//
	// The entries must continue the head: seqs head.Size+1, +2, ... and the first PrevHash
	// equal to head.Hash, and the batch's Head must be the last entry's (Size, Hash);
	// otherwise Append fails with ErrConflict and stores nothing. The store keeps the
	// batch's Head as given (root, frontier, signature) and each entry's TreeHashes. If seal
	// fails, nothing is stored and its error is returned. When ctx carries a transaction of
	// the adapter (see InTx), the append takes part in it and the head stays locked until it
	// ends.
	Append(ctx context.Context, chain eusaas.TenantID, seal func(head Head) (Batch, error)) error

	// InTx reports whether ctx carries a transaction of this adapter. The service then
	// appends inside it instead of through the group commit, so the entry commits or rolls
	// back with the caller's work.
	InTx(ctx context.Context) bool

	// Head returns the chain's head; the zero Head for a chain with no entries.
	Head(ctx context.Context, chain eusaas.TenantID) (Head, error)

	// Scan reads one consistent snapshot of the chain: it returns the head of that snapshot
	// and calls fn for every stored entry in ascending seq order, personal values filled
	// (Erased when the value is gone). Entries are streamed, not collected; each entry passed
	// to fn is fn's to keep. An error from fn stops the scan and is returned.
	Scan(ctx context.Context, chain eusaas.TenantID, fn func(*Entry) error) (Head, error)

	// ScanRange calls fn for the entries with from <= seq <= to in ascending seq order,
	// personal values filled as in Scan.
	ScanRange(ctx context.Context, chain eusaas.TenantID, from, to int64, fn func(*Entry) error) error

	// TreeHashes returns the stored tree hashes (Entry.TreeHashes) of the given records
	// (0-based: record n is the entry at seq n+1). Records that do not exist are absent.
	TreeHashes(ctx context.Context, chain eusaas.TenantID, records []int64) (map[int64][]Hash, error)

	// List returns the entries of chain matching f, newest first, and the total count.
	// Personal values are filled as in Scan.
	List(ctx context.Context, chain eusaas.TenantID, f Filter, p eusaas.Page) (eusaas.List[Entry], error)

	// Chains lists every chain that has entries or checkpoints.
	Chains(ctx context.Context) ([]eusaas.TenantID, error)

	// PutCheckpoint stores a checkpoint. Storing the same (chain, size) again is a no-op.
	PutCheckpoint(ctx context.Context, c Checkpoint) error

	// Checkpoints returns the chain's checkpoints in ascending size.
	Checkpoints(ctx context.Context, chain eusaas.TenantID) ([]Checkpoint, error)

	// DeletePersonal deletes every personal value of the subject within tenant, on every
	// chain, and returns how many it deleted. Idempotent: a second call returns 0.
	DeletePersonal(ctx context.Context, tenant eusaas.TenantID, subject string) (int, error)
}

// TreeUpgrader is implemented by stores holding chains written before the Merkle tree
// existed (Service.Upgrade): it adds the tree to a chain once.
type TreeUpgrader interface {
	// UpgradeTree locks the chain's head and, if it still equals expect (size and hash),
	// stores each entry's tree hashes (trees[i] for seq i+1) and the new head. A moved head
	// fails with ErrConflict and stores nothing.
	UpgradeTree(ctx context.Context, chain eusaas.TenantID, expect Head, trees [][]Hash, head Head) error
}

// PersonalPruner is an optional interface of a Store: retention of the personal side data.
type PersonalPruner interface {
	// DeletePersonalBefore deletes every personal value of entries concerning tenant (its
	// chain and platform-chain entries about it) whose timestamp is before before, and
	// returns how many it deleted. The entries stay and still verify (their values show as
	// erased). Values of the subjects in keep (data subjects under an Art. 18 restriction:
	// stored, not processed, retention included) are left. Idempotent: a second call with
	// the same arguments returns 0.
	DeletePersonalBefore(ctx context.Context, tenant eusaas.TenantID, before time.Time, keep []string) (int, error)
}

// LinkedEraser is an optional interface of a Store: erasure of a subject's values recorded
// under someone else's subject. One entry has one subject, so an event about two persons
// (an invitation: the inviter's IP address and the invitee's e-mail) keys both under the
// actor; the invitee's e-mail must still go when the invitee is erased.
type LinkedEraser interface {
	// DeleteLinkedPersonal deletes, within tenant (on every chain), every personal value of
	// any subject that equals one of subject's own values named name (e.g. the e-mail the
	// subject registered with), and returns how many it deleted. Idempotent.
	DeleteLinkedPersonal(ctx context.Context, tenant eusaas.TenantID, subject, name string) (int, error)
}

// KeyStore keeps the per-subject commitment keys. Keys are scoped by tenant: the same user id
// in two tenants has two keys. Methods honour ctx and are safe for concurrent use.
type KeyStore interface {
	// SubjectKey returns the subject's key. With create it makes one (32 random bytes) when
	// there is none, atomically: concurrent callers get the same key. Without create a
	// missing key is reported as ok == false.
	SubjectKey(ctx context.Context, tenant eusaas.TenantID, subject string, create bool) (key []byte, ok bool, err error)

	// DeleteSubjectKey deletes the subject's key; deleting a missing key is not an error.
	// It reports whether a key was deleted.
	DeleteSubjectKey(ctx context.Context, tenant eusaas.TenantID, subject string) (bool, error)
}

// CheckpointSink receives every signed checkpoint, to keep a copy outside the database
// (a file, an object store, a transparency log). Write must be idempotent for the same
// (chain, size).
type CheckpointSink interface {
	Write(ctx context.Context, c Checkpoint) error
}

// CheckpointSource is implemented by sinks that can read their checkpoints back; the
// verifier then checks the chain against them too, so deleting checkpoints from the
// database does not hide a truncation.
type CheckpointSource interface {
	Latest(ctx context.Context, chain eusaas.TenantID) (Checkpoint, bool, error)
}

// UncheckpointedLister is implemented by stores that list, in one query, the chains whose
// head differs from their latest checkpoint (moved past it, or — a forgery — behind it).
// CheckpointStored then asks for those instead of reading every chain's head.
type UncheckpointedLister interface {
	UncheckpointedChains(ctx context.Context) ([]eusaas.TenantID, error)
}

// Sinks publishes each checkpoint to several sinks (a directory, a witness service, ...).
// Write tries every sink and reports all failures; as a CheckpointSource it returns the
// largest checkpoint any of its sources holds.
type Sinks []CheckpointSink

var (
	_ CheckpointSink   = Sinks(nil)
	_ CheckpointSource = Sinks(nil)
)

// Write implements CheckpointSink.
func (s Sinks) Write(ctx context.Context, c Checkpoint) error {
	var errs []error
	for _, x := range s {
		if err := x.Write(ctx, c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Latest implements CheckpointSource.
func (s Sinks) Latest(ctx context.Context, chain eusaas.TenantID) (Checkpoint, bool, error) {
	var out Checkpoint
	found := false
	for _, x := range s {
		src, ok := x.(CheckpointSource)
		if !ok {
			continue
		}
		c, ok, err := src.Latest(ctx, chain)
		if err != nil {
			return Checkpoint{}, false, err
		}
		if ok && (!found || c.Size > out.Size) {
			out, found = c, true
		}
	}
	return out, found, nil
}
