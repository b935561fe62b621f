package membilling

import (
	"context"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/memtx"
)

// EraseAttributesBefore removes the attributes (the raw, possibly personal part: user ids,
// hosts, labels) of the tenant's stored usage events that occurred before cutoff, and
// reports how many events changed. The events stay, without them, until billing's dedup
// window passes (their ids keep ingestion exactly-once); the buckets and monthly totals
// computed from them are kept. Idempotent. It is how settings.data_retention_days applies
// to raw usage (platform.UsageRetainer).
func (s *UsageStore) EraseAttributesBefore(ctx context.Context, tenant eusaas.TenantID, cutoff time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	t := s.tenants[tenant]
	if t == nil {
		s.mu.Unlock()
		return 0, nil
	}
	saved := map[string]map[string]string{}
	for id, r := range t.events {
		if len(r.ev.Attributes) > 0 && r.ev.Timestamp.Before(cutoff) {
			saved[id] = r.ev.Attributes
			r.ev.Attributes = nil
		}
	}
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for id, a := range saved {
			if r, ok := t.events[id]; ok {
				r.ev.Attributes = a
			}
		}
	})
	return len(saved), nil
}
