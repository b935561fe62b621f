package memgdpr

import (
	"context"
	"sort"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/memtx"
)

// CreateDSR implements gdpr.DSRStore.
func (s *Store) CreateDSR(ctx context.Context, d gdpr.DSR) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if _, ok := s.dsrs[d.ID]; ok {
		s.mu.Unlock()
		return eusaas.E(eusaas.AlreadyExists, "data-subject request exists")
	}
	d = d.Clone()
	d.Version = 1
	s.dsrs[d.ID] = d
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() { s.mu.Lock(); delete(s.dsrs, d.ID); s.mu.Unlock() })
	return nil
}

// DSR implements gdpr.DSRStore.
func (s *Store) DSR(ctx context.Context, tenant eusaas.TenantID, id string) (gdpr.DSR, error) {
	if err := ctx.Err(); err != nil {
		return gdpr.DSR{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.dsrs[id]
	if !ok || d.TenantID != tenant {
		return gdpr.DSR{}, errNotFound
	}
	return d.Clone(), nil
}

// UpdateDSR implements gdpr.DSRStore.
func (s *Store) UpdateDSR(ctx context.Context, d *gdpr.DSR) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	old, ok := s.dsrs[d.ID]
	if !ok || old.TenantID != d.TenantID {
		s.mu.Unlock()
		return errNotFound
	}
	if old.Version != d.Version {
		s.mu.Unlock()
		return eusaas.E(eusaas.Aborted, "data-subject request changed concurrently")
	}
	d.Version++
	s.dsrs[d.ID] = d.Clone()
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() { s.mu.Lock(); s.dsrs[d.ID] = old; s.mu.Unlock() })
	return nil
}

func (s *Store) findDSRs(ctx context.Context, match func(gdpr.DSR) bool) ([]gdpr.DSR, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []gdpr.DSR
	for _, d := range s.dsrs {
		if match(d) {
			out = append(out, d.Clone())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// ListDSRs implements gdpr.DSRStore.
func (s *Store) ListDSRs(ctx context.Context, tenant eusaas.TenantID, f gdpr.DSRFilter) ([]gdpr.DSR, error) {
	out, err := s.findDSRs(ctx, func(d gdpr.DSR) bool { return d.TenantID == tenant && f.Match(d) && d.ID > f.After })
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, err
}

// OpenDSRsByJob implements gdpr.DSRStore.
func (s *Store) OpenDSRsByJob(ctx context.Context, tenant eusaas.TenantID, job string) ([]gdpr.DSR, error) {
	return s.findDSRs(ctx, func(d gdpr.DSR) bool { return d.TenantID == tenant && d.JobID == job && !d.Final() })
}

// CountDSRDeadlines implements gdpr.DSRStore.
func (s *Store) CountDSRDeadlines(ctx context.Context, now, soon time.Time) (overdue, dueSoon int, err error) {
	ds, err := s.findDSRs(ctx, func(d gdpr.DSR) bool { return !d.Final() })
	for _, d := range ds {
		switch {
		case d.Overdue(now):
			overdue++
		case !d.Deadline().After(soon):
			dueSoon++
		}
	}
	return overdue, dueSoon, err
}
