package memgdpr

import (
	"context"
	"sort"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/memtx"
)

// CreateBreach implements gdpr.BreachStore.
func (s *Store) CreateBreach(ctx context.Context, b gdpr.Breach) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if _, ok := s.breaches[b.ID]; ok {
		s.mu.Unlock()
		return eusaas.E(eusaas.AlreadyExists, "breach exists")
	}
	b = b.Clone()
	b.Version = 1
	s.breaches[b.ID] = b
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() { s.mu.Lock(); delete(s.breaches, b.ID); s.mu.Unlock() })
	return nil
}

// Breach implements gdpr.BreachStore.
func (s *Store) Breach(ctx context.Context, id string) (gdpr.Breach, error) {
	if err := ctx.Err(); err != nil {
		return gdpr.Breach{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.breaches[id]
	if !ok {
		return gdpr.Breach{}, errNotFound
	}
	return b.Clone(), nil
}

// UpdateBreach implements gdpr.BreachStore.
func (s *Store) UpdateBreach(ctx context.Context, b *gdpr.Breach) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	old, ok := s.breaches[b.ID]
	if !ok {
		s.mu.Unlock()
		return errNotFound
	}
	if old.Version != b.Version {
		s.mu.Unlock()
		return eusaas.E(eusaas.Aborted, "breach changed concurrently")
	}
	b.Version++
	s.breaches[b.ID] = b.Clone()
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() { s.mu.Lock(); s.breaches[b.ID] = old; s.mu.Unlock() })
	return nil
}

// Breaches implements gdpr.BreachStore.
func (s *Store) Breaches(ctx context.Context) ([]gdpr.Breach, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []gdpr.Breach
	for _, b := range s.breaches {
		out = append(out, b.Clone())
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].DetectedAt.Equal(out[j].DetectedAt) {
			return out[i].DetectedAt.After(out[j].DetectedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// CountBreachesOverdue implements gdpr.BreachStore.
func (s *Store) CountBreachesOverdue(ctx context.Context, now time.Time) (int, error) {
	bs, err := s.Breaches(ctx)
	n := 0
	for _, b := range bs {
		if b.Overdue(now) {
			n++
		}
	}
	return n, err
}
