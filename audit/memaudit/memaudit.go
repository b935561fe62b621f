package memaudit

import (
	"bytes"
	"context"
	"crypto/rand"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
)

// Store keeps the audit chains, personal side data, subject keys and checkpoints in
// memory. It implements audit.Store and audit.KeyStore.
//
// Appends do not take part in memory transactions (InTx reports false): an audit entry
// made inside a transaction that rolls back stays, because removing it could leave a hole
// in the chain under entries appended meanwhile. It records the attempt.
type Store struct {
	mu       sync.RWMutex
	chains   map[eusaas.TenantID]*chainLog
	personal map[valueRef]personalValue
	keys     map[keyRef][]byte
	cps      map[eusaas.TenantID][]audit.Checkpoint
	cursors  map[cursorRef]int64
}

type cursorRef struct {
	name  string
	chain eusaas.TenantID
}

var _ audit.CursorStore = (*Store)(nil)

// ExportCursor implements audit.CursorStore.
func (s *Store) ExportCursor(ctx context.Context, name string, chain eusaas.TenantID) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cursors[cursorRef{name, chain}], nil
}

// SetExportCursor implements audit.CursorStore.
func (s *Store) SetExportCursor(ctx context.Context, name string, chain eusaas.TenantID, seq int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cursors == nil {
		s.cursors = map[cursorRef]int64{}
	}
	s.cursors[cursorRef{name, chain}] = max(s.cursors[cursorRef{name, chain}], seq)
	return nil
}

type chainLog struct {
	entries []audit.Entry // personal values stripped: they live in personal
	head    audit.Head
	byID    map[uuid.UUID]int // index into entries, for lookups by id (proofs)
}

type valueRef struct {
	entry uuid.UUID
	name  string
}

type personalValue struct {
	tenant  eusaas.TenantID
	subject string
	value   string
	at      time.Time // the entry's timestamp, for retention
}

type keyRef struct {
	tenant  eusaas.TenantID
	subject string
}

var (
	_ audit.TreeUpgrader   = (*Store)(nil)
	_ audit.Store          = (*Store)(nil)
	_ audit.KeyStore       = (*Store)(nil)
	_ audit.PersonalPruner = (*Store)(nil)
	_ audit.LinkedEraser   = (*Store)(nil)
)

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{
		chains:   map[eusaas.TenantID]*chainLog{},
		personal: map[valueRef]personalValue{},
		keys:     map[keyRef][]byte{},
		cps:      map[eusaas.TenantID][]audit.Checkpoint{},
	}
}

// InTx implements audit.Store; see the type's comment.
func (s *Store) InTx(context.Context) bool { return false }

// Append implements audit.Store.
func (s *Store) Append(ctx context.Context, chain eusaas.TenantID, sealFn func(audit.Head) (audit.Batch, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chains[chain]
	if c == nil {
		c = &chainLog{}
		s.chains[chain] = c
	}
	b, err := sealFn(cloneHead(c.head))
	if err != nil {
		return err
	}
	entries := b.Entries
	if len(entries) == 0 {
		return nil
	}
	prev := c.head
	for i := range entries {
		e := &entries[i]
		if e.Chain != chain || e.Seq != prev.Size+1 || e.PrevHash != prev.Hash {
			return audit.ErrConflict
		}
		prev = audit.Head{Size: e.Seq, Hash: e.Hash}
	}
	if b.Head.Size != prev.Size || b.Head.Hash != prev.Hash {
		return audit.ErrConflict
	}
	for _, e := range entries {
		stored := e
		stored.Personal = make([]audit.PersonalField, len(e.Personal))
		for i, f := range e.Personal {
			stored.Personal[i] = audit.PersonalField{Name: f.Name, Commitment: f.Commitment}
			s.personal[valueRef{e.ID, f.Name}] = personalValue{tenant: e.TenantID, subject: e.Subject, value: f.Value, at: e.Timestamp}
		}
		stored.Changes = bytes.Clone(e.Changes)
		stored.TreeHashes = append([]audit.Hash(nil), e.TreeHashes...)
		if c.byID == nil {
			c.byID = map[uuid.UUID]int{}
		}
		c.byID[e.ID] = len(c.entries)
		c.entries = append(c.entries, stored)
	}
	c.head = cloneHead(b.Head)
	return nil
}

func cloneHead(h audit.Head) audit.Head {
	h.Frontier = append(audit.Frontier(nil), h.Frontier...)
	h.Sig = bytes.Clone(h.Sig)
	return h
}

// UpgradeTree implements audit.TreeUpgrader.
func (s *Store) UpgradeTree(ctx context.Context, chain eusaas.TenantID, expect audit.Head, trees [][]audit.Hash, head audit.Head) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chains[chain]
	if c == nil || c.head.Size != expect.Size || c.head.Hash != expect.Hash || len(trees) != len(c.entries) {
		return audit.ErrConflict
	}
	for i := range c.entries {
		c.entries[i].TreeHashes = append([]audit.Hash(nil), trees[c.entries[i].Seq-1]...)
	}
	c.head = cloneHead(head)
	return nil
}

// ScanRange implements audit.Store.
func (s *Store) ScanRange(ctx context.Context, chain eusaas.TenantID, from, to int64, fn func(*audit.Entry) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// Untampered chains keep seq n at index n-1: copy just the range.
	s.mu.RLock()
	var snap []audit.Entry
	inOrder := true
	if c := s.chains[chain]; c != nil {
		for i := max(from, 1) - 1; i < min(to, int64(len(c.entries))); i++ {
			if c.entries[i].Seq != i+1 {
				inOrder = false
				break
			}
			snap = append(snap, s.fill(c.entries[i]))
		}
		if inOrder && to > int64(len(c.entries)) {
			// Entries beyond the stored ones may sit elsewhere only after tampering.
			for i := range c.entries {
				if c.entries[i].Seq != int64(i)+1 {
					inOrder = false
					break
				}
			}
		}
	}
	s.mu.RUnlock()
	if inOrder {
		for i := range snap {
			if err := fn(&snap[i]); err != nil {
				return err
			}
		}
		return nil
	}
	_, err := s.Scan(ctx, chain, func(e *audit.Entry) error {
		if e.Seq < from || e.Seq > to {
			return nil
		}
		return fn(e)
	})
	return err
}

// TreeHashes implements audit.Store. Entries are kept in append order, so record n sits at
// index n unless the chain was tampered with; then it is searched for.
func (s *Store) TreeHashes(ctx context.Context, chain eusaas.TenantID, records []int64) (map[int64][]audit.Hash, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[int64][]audit.Hash, len(records))
	c := s.chains[chain]
	if c == nil {
		return out, nil
	}
	for _, r := range records {
		if r >= 0 && r < int64(len(c.entries)) && c.entries[r].Seq == r+1 {
			out[r] = append([]audit.Hash(nil), c.entries[r].TreeHashes...)
			continue
		}
		for i := range c.entries {
			if c.entries[i].Seq == r+1 {
				out[r] = append([]audit.Hash(nil), c.entries[i].TreeHashes...)
				break
			}
		}
	}
	return out, nil
}

// Head implements audit.Store.
func (s *Store) Head(ctx context.Context, chain eusaas.TenantID) (audit.Head, error) {
	if err := ctx.Err(); err != nil {
		return audit.Head{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if c := s.chains[chain]; c != nil {
		return cloneHead(c.head), nil
	}
	return audit.Head{}, nil
}

// fill returns a copy of e with its personal values filled. Caller holds s.mu.
func (s *Store) fill(e audit.Entry) audit.Entry {
	if len(e.Personal) > 0 {
		ps := make([]audit.PersonalField, len(e.Personal))
		for i, f := range e.Personal {
			v, ok := s.personal[valueRef{e.ID, f.Name}]
			f.Value, f.Erased = v.value, !ok
			ps[i] = f
		}
		e.Personal = ps
	}
	return e
}

// Scan implements audit.Store. The snapshot is taken under the lock; fn runs without it.
func (s *Store) Scan(ctx context.Context, chain eusaas.TenantID, fn func(*audit.Entry) error) (audit.Head, error) {
	if err := ctx.Err(); err != nil {
		return audit.Head{}, err
	}
	s.mu.RLock()
	c := s.chains[chain]
	if c == nil {
		s.mu.RUnlock()
		return audit.Head{}, nil
	}
	head := cloneHead(c.head)
	snap := make([]audit.Entry, len(c.entries))
	for i, e := range c.entries {
		snap[i] = s.fill(e)
	}
	s.mu.RUnlock()
	// Entries are kept in append order; tampering through Rewrite may break it, and a
	// store returns entries by seq, as a database index would.
	sort.SliceStable(snap, func(i, j int) bool { return snap[i].Seq < snap[j].Seq })
	for i := range snap {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return head, err
			}
		}
		if err := fn(&snap[i]); err != nil {
			return head, err
		}
	}
	return head, nil
}

// List implements audit.Store.
func (s *Store) List(ctx context.Context, chain eusaas.TenantID, f audit.Filter, p eusaas.Page) (eusaas.List[audit.Entry], error) {
	if err := ctx.Err(); err != nil {
		return eusaas.List[audit.Entry]{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out eusaas.List[audit.Entry]
	c := s.chains[chain]
	if c == nil {
		return out, nil
	}
	if i, ok := c.byID[f.ID]; ok && f.ID != uuid.Nil && i < len(c.entries) && c.entries[i].ID == f.ID {
		if matches(&c.entries[i], f) && p.Offset() == 0 && p.Size > 0 {
			out.Items = append(out.Items, s.fill(c.entries[i]))
			out.Total = 1
			return out, nil
		}
	}
	off := p.Offset()
	for i := len(c.entries) - 1; i >= 0; i-- {
		e := &c.entries[i]
		if !matches(e, f) {
			continue
		}
		if out.Total >= off && len(out.Items) < p.Size {
			out.Items = append(out.Items, s.fill(*e))
		}
		out.Total++
	}
	return out, nil
}

func matches(e *audit.Entry, f audit.Filter) bool {
	return (f.Action == "" || e.Action == f.Action) &&
		(f.ResourceType == "" || e.ResourceType == f.ResourceType) &&
		(f.UserID == "" || e.Actor.ID == f.UserID) &&
		(f.Since.IsZero() || !e.Timestamp.Before(f.Since)) &&
		(f.Until.IsZero() || e.Timestamp.Before(f.Until)) &&
		(f.TenantID.IsZero() || e.TenantID == f.TenantID) &&
		(f.ID == uuid.Nil || e.ID == f.ID)
}

// Chains implements audit.Store.
func (s *Store) Chains(ctx context.Context) ([]eusaas.TenantID, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	seen := map[eusaas.TenantID]bool{}
	for id := range s.chains {
		seen[id] = true
	}
	for id := range s.cps {
		seen[id] = true
	}
	out := make([]eusaas.TenantID, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i][:], out[j][:]) < 0 })
	return out, nil
}

// PutCheckpoint implements audit.Store.
func (s *Store) PutCheckpoint(ctx context.Context, c audit.Checkpoint) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.cps[c.Chain] {
		if x.Size == c.Size {
			return nil
		}
	}
	c.Signature = bytes.Clone(c.Signature)
	c.Note = bytes.Clone(c.Note)
	cps := append(s.cps[c.Chain], c)
	sort.Slice(cps, func(i, j int) bool { return cps[i].Size < cps[j].Size })
	s.cps[c.Chain] = cps
	return nil
}

// Checkpoints implements audit.Store.
func (s *Store) Checkpoints(ctx context.Context, chain eusaas.TenantID) ([]audit.Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]audit.Checkpoint(nil), s.cps[chain]...), nil
}

// DeletePersonal implements audit.Store.
func (s *Store) DeletePersonal(ctx context.Context, tenant eusaas.TenantID, subject string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for ref, v := range s.personal {
		if v.tenant == tenant && v.subject == subject {
			delete(s.personal, ref)
			n++
		}
	}
	return n, nil
}

// DeleteLinkedPersonal implements audit.LinkedEraser.
func (s *Store) DeleteLinkedPersonal(ctx context.Context, tenant eusaas.TenantID, subject, name string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	own := map[string]bool{}
	for ref, v := range s.personal {
		if v.tenant == tenant && v.subject == subject && ref.name == name {
			own[v.value] = true
		}
	}
	n := 0
	for ref, v := range s.personal {
		if v.tenant == tenant && v.subject != subject && own[v.value] {
			delete(s.personal, ref)
			n++
		}
	}
	return n, nil
}

// DeletePersonalBefore implements audit.PersonalPruner.
func (s *Store) DeletePersonalBefore(ctx context.Context, tenant eusaas.TenantID, before time.Time, keep []string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for ref, v := range s.personal {
		if v.tenant == tenant && v.at.Before(before) && (v.subject == "" || !slices.Contains(keep, v.subject)) {
			delete(s.personal, ref)
			n++
		}
	}
	return n, nil
}

// SubjectKey implements audit.KeyStore.
func (s *Store) SubjectKey(ctx context.Context, tenant eusaas.TenantID, subject string, create bool) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	ref := keyRef{tenant, subject}
	s.mu.RLock()
	k, ok := s.keys[ref]
	s.mu.RUnlock()
	if ok || !create {
		return bytes.Clone(k), ok, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.keys[ref]; ok {
		return bytes.Clone(k), true, nil
	}
	k = make([]byte, 32)
	_, _ = rand.Read(k)
	s.keys[ref] = k
	return bytes.Clone(k), true, nil
}

// DeleteSubjectKey implements audit.KeyStore.
func (s *Store) DeleteSubjectKey(ctx context.Context, tenant eusaas.TenantID, subject string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ref := keyRef{tenant, subject}
	_, ok := s.keys[ref]
	delete(s.keys, ref)
	return ok, nil
}

// Rewrite hands the chain's stored entries (personal values stripped) and head to fn and
// keeps what fn returns, bypassing every guard. It exists so tamper-detection tests and
// demonstrations can do to the memory store what an attacker with database access could do
// to a table; production code never calls it.
func (s *Store) Rewrite(chain eusaas.TenantID, fn func(entries []audit.Entry, head audit.Head) ([]audit.Entry, audit.Head)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chains[chain]
	if c == nil {
		c = &chainLog{}
		s.chains[chain] = c
	}
	c.entries, c.head = fn(c.entries, c.head)
}

// RewritePersonal overwrites a stored personal value, bypassing every guard; like Rewrite it
// exists for tamper-detection tests.
func (s *Store) RewritePersonal(entry uuid.UUID, name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ref := valueRef{entry, name}
	if v, ok := s.personal[ref]; ok {
		v.value = value
		s.personal[ref] = v
	}
}

// Contains reports whether value occurs anywhere in the store (entries, side data, keys,
// checkpoints); erasure tests use it to show a value is gone everywhere.
func (s *Store) Contains(value string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, c := range s.chains {
		for _, e := range c.entries {
			if strings.Contains(e.Actor.ID, value) || strings.Contains(e.Action, value) ||
				strings.Contains(e.ResourceType, value) || strings.Contains(e.ResourceID, value) ||
				strings.Contains(e.Subject, value) || bytes.Contains(e.Changes, []byte(value)) {
				return true
			}
			for _, f := range e.Personal {
				if strings.Contains(f.Name, value) || strings.Contains(f.Value, value) {
					return true
				}
			}
		}
	}
	for ref, v := range s.personal {
		if strings.Contains(v.value, value) || strings.Contains(v.subject, value) || strings.Contains(ref.name, value) {
			return true
		}
	}
	for ref := range s.keys {
		if strings.Contains(ref.subject, value) {
			return true
		}
	}
	return false
}
