package memgdpr

import (
	"context"
	"sync"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/memtx"
)

// Leases implements gdpr.LeaseStore in memory (one process: the in-memory mode's Sweep finds
// leases of runs that failed, never of a dead process).
type Leases struct {
	mu     sync.Mutex
	leases map[string]gdpr.Lease
}

var _ gdpr.LeaseStore = (*Leases)(nil)

// NewLeases returns an empty lease store.
func NewLeases() *Leases { return &Leases{leases: map[string]gdpr.Lease{}} }

// Lease implements gdpr.LeaseStore.
func (l *Leases) Lease(ctx context.Context, id string) (gdpr.Lease, error) {
	if err := ctx.Err(); err != nil {
		return gdpr.Lease{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	le, ok := l.leases[id]
	if !ok {
		return gdpr.Lease{}, eusaas.E(eusaas.NotFound, "no lease")
	}
	return le, nil
}

// AcquireLease implements gdpr.LeaseStore.
func (l *Leases) AcquireLease(ctx context.Context, id, owner string, now, until time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	l.mu.Lock()
	old, had := l.leases[id]
	free := !had || !old.Until.After(now) || (owner != "" && (old.Owner == "" || old.Owner == owner))
	if free {
		l.leases[id] = gdpr.Lease{RequestID: id, Owner: owner, Until: until}
	}
	l.mu.Unlock()
	if free {
		memtx.OnRollback(ctx, func() { l.restore(id, old, had) })
	}
	return free, nil
}

// ReleaseLease implements gdpr.LeaseStore.
func (l *Leases) ReleaseLease(ctx context.Context, id, owner string, queuedUntil time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	old, had := l.leases[id]
	if !had || old.Owner != owner {
		l.mu.Unlock()
		return nil
	}
	if queuedUntil.IsZero() {
		delete(l.leases, id)
	} else {
		l.leases[id] = gdpr.Lease{RequestID: id, Until: queuedUntil}
	}
	l.mu.Unlock()
	memtx.OnRollback(ctx, func() { l.restore(id, old, had) })
	return nil
}

func (l *Leases) restore(id string, old gdpr.Lease, had bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if had {
		l.leases[id] = old
	} else {
		delete(l.leases, id)
	}
}
