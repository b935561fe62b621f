package memgdpr

import (
	"bytes"
	"context"
	"io"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/memtx"
)

// Store implements gdpr.RequestStore, gdpr.PolicyStore, gdpr.HoldStore, gdpr.KeyStore,
// gdpr.DSRStore and gdpr.BreachStore in memory.
type Store struct {
	mu       sync.Mutex
	requests map[string]gdpr.Request
	policies map[eusaas.TenantID]gdpr.Policy
	holds    map[string]gdpr.LegalHold
	keys     map[eusaas.TenantID]gdpr.Key
	dsrs     map[string]gdpr.DSR
	breaches map[string]gdpr.Breach
}

var (
	_ gdpr.RequestStore = (*Store)(nil)
	_ gdpr.PolicyStore  = (*Store)(nil)
	_ gdpr.HoldStore    = (*Store)(nil)
	_ gdpr.KeyStore     = (*Store)(nil)
	_ gdpr.DSRStore     = (*Store)(nil)
	_ gdpr.BreachStore  = (*Store)(nil)
)

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{requests: map[string]gdpr.Request{}, policies: map[eusaas.TenantID]gdpr.Policy{},
		holds: map[string]gdpr.LegalHold{}, keys: map[eusaas.TenantID]gdpr.Key{},
		dsrs: map[string]gdpr.DSR{}, breaches: map[string]gdpr.Breach{}}
}

var errNotFound = eusaas.E(eusaas.NotFound, "not found")

// CreateRequest implements gdpr.RequestStore.
func (s *Store) CreateRequest(ctx context.Context, r gdpr.Request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if _, ok := s.requests[r.ID]; ok {
		s.mu.Unlock()
		return eusaas.E(eusaas.AlreadyExists, "gdpr request exists")
	}
	if r.Kind == gdpr.KindTenantErasure {
		for _, o := range s.requests {
			if o.Kind == gdpr.KindTenantErasure && o.TenantID == r.TenantID {
				s.mu.Unlock()
				return eusaas.E(eusaas.AlreadyExists, "tenant erasure exists")
			}
		}
	}
	r = r.Clone()
	r.Version = 1
	s.requests[r.ID] = r
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() { s.mu.Lock(); delete(s.requests, r.ID); s.mu.Unlock() })
	return nil
}

// Request implements gdpr.RequestStore.
func (s *Store) Request(ctx context.Context, tenant eusaas.TenantID, id string) (gdpr.Request, error) {
	if err := ctx.Err(); err != nil {
		return gdpr.Request{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.requests[id]
	if !ok || r.TenantID != tenant {
		return gdpr.Request{}, errNotFound
	}
	return r.Clone(), nil
}

// UpdateRequest implements gdpr.RequestStore.
func (s *Store) UpdateRequest(ctx context.Context, r *gdpr.Request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	old, ok := s.requests[r.ID]
	if !ok || old.TenantID != r.TenantID {
		s.mu.Unlock()
		return errNotFound
	}
	if old.Version != r.Version {
		s.mu.Unlock()
		return eusaas.E(eusaas.Aborted, "gdpr request changed concurrently")
	}
	r.Version++
	s.requests[r.ID] = r.Clone()
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() { s.mu.Lock(); s.requests[r.ID] = old; s.mu.Unlock() })
	return nil
}

func (s *Store) find(ctx context.Context, match func(gdpr.Request) bool) ([]gdpr.Request, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []gdpr.Request
	for _, r := range s.requests {
		if match(r) {
			out = append(out, r.Clone())
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].RequestedAt.Equal(out[j].RequestedAt) {
			return out[i].RequestedAt.Before(out[j].RequestedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// TenantErasure implements gdpr.RequestStore.
func (s *Store) TenantErasure(ctx context.Context, tenant eusaas.TenantID) (gdpr.Request, error) {
	rs, err := s.find(ctx, func(r gdpr.Request) bool { return r.Kind == gdpr.KindTenantErasure && r.TenantID == tenant })
	if err != nil {
		return gdpr.Request{}, err
	}
	if len(rs) == 0 {
		return gdpr.Request{}, errNotFound
	}
	return rs[0], nil
}

// SubjectErasure implements gdpr.RequestStore.
func (s *Store) SubjectErasure(ctx context.Context, tenant eusaas.TenantID, subject string) (gdpr.Request, error) {
	rs, err := s.find(ctx, func(r gdpr.Request) bool {
		return r.Kind == gdpr.KindSubjectErasure && r.TenantID == tenant && r.SubjectID == subject && r.Status != gdpr.StatusFailed
	})
	if err != nil {
		return gdpr.Request{}, err
	}
	if len(rs) == 0 {
		return gdpr.Request{}, errNotFound
	}
	return rs[len(rs)-1], nil
}

// Unfinished implements gdpr.RequestStore.
func (s *Store) Unfinished(ctx context.Context, kind gdpr.Kind) ([]gdpr.Request, error) {
	return s.find(ctx, func(r gdpr.Request) bool {
		return r.Kind == kind && (r.Status == gdpr.StatusPending || r.Status == gdpr.StatusProcessing)
	})
}

// ExpiredExports implements gdpr.RequestStore.
func (s *Store) ExpiredExports(ctx context.Context, now time.Time) ([]gdpr.Request, error) {
	return s.find(ctx, func(r gdpr.Request) bool {
		return r.Kind == gdpr.KindExport && r.Status == gdpr.StatusCompleted && !r.ExpiresAt.After(now)
	})
}

// Exports implements gdpr.RequestStore.
func (s *Store) Exports(ctx context.Context, tenant eusaas.TenantID) ([]gdpr.Request, error) {
	return s.find(ctx, func(r gdpr.Request) bool { return r.Kind == gdpr.KindExport && r.TenantID == tenant })
}

// CountOverdue implements gdpr.RequestStore.
func (s *Store) CountOverdue(ctx context.Context, now time.Time) (int, error) {
	rs, err := s.find(ctx, func(r gdpr.Request) bool { return r.Overdue(now) })
	return len(rs), err
}

// Policy implements gdpr.PolicyStore.
func (s *Store) Policy(ctx context.Context, tenant eusaas.TenantID) (gdpr.Policy, error) {
	if err := ctx.Err(); err != nil {
		return gdpr.Policy{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.policies[tenant]
	if !ok {
		return gdpr.Policy{}, errNotFound
	}
	return p, nil
}

// PutPolicy implements gdpr.PolicyStore.
func (s *Store) PutPolicy(ctx context.Context, p gdpr.Policy) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	old, had := s.policies[p.TenantID]
	s.policies[p.TenantID] = p
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if had {
			s.policies[p.TenantID] = old
		} else {
			delete(s.policies, p.TenantID)
		}
	})
	return nil
}

// Holds implements gdpr.HoldStore.
func (s *Store) Holds(ctx context.Context, tenant eusaas.TenantID) ([]gdpr.LegalHold, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []gdpr.LegalHold
	for _, h := range s.holds {
		if h.TenantID == tenant {
			out = append(out, h)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// PutHold implements gdpr.HoldStore.
func (s *Store) PutHold(ctx context.Context, h gdpr.LegalHold) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if _, ok := s.holds[h.ID]; ok {
		s.mu.Unlock()
		return eusaas.E(eusaas.AlreadyExists, "legal hold exists")
	}
	s.holds[h.ID] = h
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() { s.mu.Lock(); delete(s.holds, h.ID); s.mu.Unlock() })
	return nil
}

// DeleteHold implements gdpr.HoldStore.
func (s *Store) DeleteHold(ctx context.Context, tenant eusaas.TenantID, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	h, ok := s.holds[id]
	if !ok || h.TenantID != tenant {
		s.mu.Unlock()
		return errNotFound
	}
	delete(s.holds, id)
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() { s.mu.Lock(); s.holds[id] = h; s.mu.Unlock() })
	return nil
}

// CreateKey implements gdpr.KeyStore.
func (s *Store) CreateKey(ctx context.Context, k gdpr.Key) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if _, ok := s.keys[k.TenantID]; ok {
		s.mu.Unlock()
		return eusaas.E(eusaas.AlreadyExists, "tenant key exists")
	}
	k.Material = slices.Clone(k.Material)
	s.keys[k.TenantID] = k
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() { s.mu.Lock(); delete(s.keys, k.TenantID); s.mu.Unlock() })
	return nil
}

// Key implements gdpr.KeyStore.
func (s *Store) Key(ctx context.Context, tenant eusaas.TenantID) (gdpr.Key, error) {
	if err := ctx.Err(); err != nil {
		return gdpr.Key{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[tenant]
	if !ok {
		return gdpr.Key{}, errNotFound
	}
	k.Material = slices.Clone(k.Material)
	return k, nil
}

// DestroyKey implements gdpr.KeyStore. The material is overwritten before it is dropped.
func (s *Store) DestroyKey(ctx context.Context, tenant eusaas.TenantID, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[tenant]
	if !ok {
		return errNotFound
	}
	if k.Material == nil {
		return nil
	}
	clear(k.Material)
	k.Material, k.DestroyedAt = nil, at
	s.keys[tenant] = k
	return nil
}

// DueKeys implements gdpr.KeyStore.
func (s *Store) DueKeys(ctx context.Context, now time.Time) ([]eusaas.TenantID, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []eusaas.TenantID
	for id, k := range s.keys {
		if k.Material != nil && !k.DestroyAfter.After(now) {
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

// Archives implements gdpr.ArchiveStore in memory.
type Archives struct {
	mu    sync.Mutex
	files map[string][]byte
}

var _ gdpr.ArchiveStore = (*Archives)(nil)

// NewArchives returns an empty archive store.
func NewArchives() *Archives { return &Archives{files: map[string][]byte{}} }

type archiveWriter struct {
	a    *Archives
	name string
	buf  bytes.Buffer
	done bool
}

func (w *archiveWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }

func (w *archiveWriter) Commit() error {
	if w.done {
		return eusaas.E(eusaas.FailedPrecondition, "archive writer finished")
	}
	w.done = true
	w.a.mu.Lock()
	w.a.files[w.name] = w.buf.Bytes()
	w.a.mu.Unlock()
	return nil
}

func (w *archiveWriter) Abort() error { w.done = true; return nil }

// Create implements gdpr.ArchiveStore.
func (a *Archives) Create(ctx context.Context, name string) (gdpr.ArchiveWriter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &archiveWriter{a: a, name: name}, nil
}

// Open implements gdpr.ArchiveStore.
func (a *Archives) Open(ctx context.Context, name string) (io.ReadCloser, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	a.mu.Lock()
	b, ok := a.files[name]
	a.mu.Unlock()
	if !ok {
		return nil, 0, errNotFound
	}
	return io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
}

// Delete implements gdpr.ArchiveStore.
func (a *Archives) Delete(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a.mu.Lock()
	delete(a.files, name)
	a.mu.Unlock()
	return nil
}

// Names lists the stored archives (for tests and operators).
func (a *Archives) Names() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for n := range a.files {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
