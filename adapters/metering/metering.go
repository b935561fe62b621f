package metering

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
)

// Ingester records usage; *billing.Service implements it.
type Ingester interface {
	Ingest(ctx context.Context, tenant eusaas.TenantID, events []billing.UsageEvent) (billing.IngestResult, error)
}

// TenantLister lists the tenants to meter (the active ones).
type TenantLister func(ctx context.Context) ([]eusaas.TenantID, error)

// APICounter counts tenant-scoped API calls in memory and flushes them as API_CALLS usage.
// Hook is cheap (a mutex and a map increment) and never blocks on I/O.
//
// Exactly-once: each flush turns a tenant's count into one pending event whose id is
// "api_calls:<instance>:<n>" (instance is random per process, n a per-process sequence).
// The pending event is retried with the same id until the ingester answers (accepted or
// duplicate), so a flush that failed after the usage was stored is a duplicate on retry.
// Calls counted while an event is pending go into the next one. Counts not yet flushed when
// the process dies are lost (under-billing, never double billing).
type APICounter struct {
	ing      Ingester
	clock    eusaas.Clock
	log      *slog.Logger
	instance string

	mu      sync.Mutex
	counts  map[eusaas.TenantID]int64
	pending map[eusaas.TenantID]billing.UsageEvent
	seq     uint64
}

// NewAPICounter returns a counter flushing into ing. clock and log may be nil.
func NewAPICounter(ing Ingester, clock eusaas.Clock, log *slog.Logger) *APICounter {
	if clock == nil {
		clock = eusaas.SystemClock
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &APICounter{ing: ing, clock: clock, log: log, instance: hex.EncodeToString(b[:]),
		counts: map[eusaas.TenantID]int64{}, pending: map[eusaas.TenantID]billing.UsageEvent{}}
}

// Hook counts one call; its signature matches httpapi's OnTenantRequest.
func (c *APICounter) Hook(_ context.Context, tenant eusaas.TenantID, _ string) {
	c.mu.Lock()
	c.counts[tenant]++
	c.mu.Unlock()
}

// Flush ingests every tenant's pending event (made from its count when it has none). It
// returns the first error; failed tenants keep their pending event for the next flush.
func (c *APICounter) Flush(ctx context.Context) error {
	now := c.clock.Now()
	c.mu.Lock()
	for t, n := range c.counts {
		if n == 0 {
			continue
		}
		if _, busy := c.pending[t]; busy {
			continue // retry the pending event first; this count waits for the next one
		}
		c.seq++
		c.pending[t] = billing.UsageEvent{
			ID:           fmt.Sprintf("api_calls:%s:%d", c.instance, c.seq),
			ResourceType: billing.APICalls, Quantity: decimal.NewFromInt(n), Timestamp: now,
			Attributes: map[string]string{"source": "httpapi"},
		}
		delete(c.counts, t)
	}
	work := make(map[eusaas.TenantID]billing.UsageEvent, len(c.pending))
	for t, e := range c.pending {
		work[t] = e
	}
	c.mu.Unlock()

	var first error
	for t, e := range work {
		res, err := c.ing.Ingest(ctx, t, []billing.UsageEvent{e})
		switch {
		case err == nil && res.Results[0].Status == billing.Rejected:
			// Too old to be accepted any more (the ingester was down past the horizon).
			c.log.WarnContext(ctx, "api call usage rejected", "tenant", t.String(), "reason", res.Results[0].Reason, "calls", e.Quantity.String())
		case eusaas.KindOf(err) == eusaas.NotFound:
			// The tenant's data is gone (deprovisioned): nothing to bill any more.
			c.log.InfoContext(ctx, "api call usage dropped for a missing tenant", "tenant", t.String())
		case err != nil:
			if first == nil {
				first = err
			}
			continue
		}
		c.mu.Lock()
		delete(c.pending, t)
		c.mu.Unlock()
	}
	return first
}

// Run flushes every interval until ctx ends, then flushes once more (with a short grace).
func (c *APICounter) Run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := c.Flush(fctx); err != nil {
				c.log.Warn("final api call usage flush failed", "error", err.Error())
			}
			cancel()
			return
		case <-tick.C:
			if err := c.Flush(ctx); err != nil {
				c.log.WarnContext(ctx, "api call usage flush failed; will retry", "error", err.Error())
			}
		}
	}
}

// SchemaSizer reports the bytes a tenant's data occupies (postgres.BillingUsageStore does).
type SchemaSizer interface {
	SchemaBytes(ctx context.Context, tenant eusaas.TenantID) (int64, error)
}

// StorageMeter bills each tenant's storage once per UTC day as STORAGE usage in GB-days
// (1 GB = 10^9 bytes), measured as the size of its schema. The event id is
// "storage:<YYYY-MM-DD>", so only the day's first successful measurement counts.
type StorageMeter struct {
	ing     Ingester
	sizer   SchemaSizer
	tenants TenantLister
	clock   eusaas.Clock
	log     *slog.Logger
}

// NewStorageMeter returns a meter. clock and log may be nil.
func NewStorageMeter(ing Ingester, sizer SchemaSizer, tenants TenantLister, clock eusaas.Clock, log *slog.Logger) *StorageMeter {
	if clock == nil {
		clock = eusaas.SystemClock
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &StorageMeter{ing: ing, sizer: sizer, tenants: tenants, clock: clock, log: log}
}

// Measure records today's storage event for every tenant; a failing tenant does not stop
// the others. It returns the number of tenants measured and the first error.
func (m *StorageMeter) Measure(ctx context.Context) (int, error) {
	ids, err := m.tenants(ctx)
	if err != nil {
		return 0, err
	}
	now := m.clock.Now()
	day := billing.Day(now)
	var first error
	n := 0
	for _, t := range ids {
		b, err := m.sizer.SchemaBytes(ctx, t)
		if err == nil {
			_, err = m.ing.Ingest(ctx, t, []billing.UsageEvent{{
				ID: "storage:" + day.Format("2006-01-02"), ResourceType: billing.Storage,
				Quantity: decimal.New(b, -9), Timestamp: now, Attributes: map[string]string{"source": "schema_size"},
			}})
		}
		if err != nil {
			m.log.WarnContext(ctx, "storage metering failed", "tenant", t.String(), "error", err.Error())
			if first == nil {
				first = err
			}
			continue
		}
		n++
	}
	return n, first
}

// Run measures at start and then every interval (an hour is plenty: only the first
// successful measurement of each day counts, later ones retry a failed day).
func (m *StorageMeter) Run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if _, err := m.Measure(ctx); err != nil && ctx.Err() == nil {
			m.log.WarnContext(ctx, "storage metering incomplete; will retry", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
