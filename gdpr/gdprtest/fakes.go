package gdprtest

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/jobs"
)

// Recorder is a fake eusaas.Recorder keeping events in memory.
type Recorder struct {
	mu     sync.Mutex
	Events []eusaas.AuditEvent
}

// Record implements eusaas.Recorder.
func (r *Recorder) Record(ctx context.Context, ev eusaas.AuditEvent) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	r.Events = append(r.Events, ev)
	r.mu.Unlock()
	return nil
}

// Count returns how many events of action were recorded for tenant.
func (r *Recorder) Count(tenant eusaas.TenantID, action string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.Events {
		if e.TenantID == tenant && e.Action == action {
			n++
		}
	}
	return n
}

// Last returns the last event of action (zero when none).
func (r *Recorder) Last(action string) eusaas.AuditEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.Events) - 1; i >= 0; i-- {
		if r.Events[i].Action == action {
			return r.Events[i]
		}
	}
	return eusaas.AuditEvent{}
}

// Lifecycle is a fake of tenancy's deprovisioning transitions with SPEC's rules.
type Lifecycle struct {
	mu     sync.Mutex
	Status map[eusaas.TenantID]string
}

// NewLifecycle returns tenants all ACTIVE.
func NewLifecycle(active ...eusaas.TenantID) *Lifecycle {
	l := &Lifecycle{Status: map[eusaas.TenantID]string{}}
	for _, id := range active {
		l.Status[id] = "ACTIVE"
	}
	return l
}

// Get returns a tenant's status.
func (l *Lifecycle) Get(id eusaas.TenantID) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.Status[id]
}

// BeginDeprovision implements gdpr.Lifecycle.
func (l *Lifecycle) BeginDeprovision(_ context.Context, id eusaas.TenantID) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch l.Status[id] {
	case "ACTIVE", "SUSPENDED":
		l.Status[id] = "DEPROVISIONING"
	case "DEPROVISIONING":
	default:
		return eusaas.E(eusaas.FailedPrecondition, "invalid transition")
	}
	return nil
}

// CompleteDeprovision implements gdpr.Lifecycle.
func (l *Lifecycle) CompleteDeprovision(_ context.Context, id eusaas.TenantID) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch l.Status[id] {
	case "DEPROVISIONING":
		l.Status[id] = "DELETED"
	case "DELETED":
	default:
		return eusaas.E(eusaas.FailedPrecondition, "invalid transition")
	}
	return nil
}

// Cache is a fake tenant cache.
type Cache struct {
	mu      sync.Mutex
	Entries map[eusaas.TenantID]map[string]string
}

// NewCache returns a cache holding one entry for each tenant.
func NewCache(tenants ...eusaas.TenantID) *Cache {
	c := &Cache{Entries: map[eusaas.TenantID]map[string]string{}}
	for _, id := range tenants {
		c.Entries[id] = map[string]string{"tenant": id.String()}
	}
	return c
}

// Len returns the number of entries cached for tenant.
func (c *Cache) Len(id eusaas.TenantID) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.Entries[id])
}

// PurgeTenant implements gdpr.CachePurger.
func (c *Cache) PurgeTenant(_ context.Context, id eusaas.TenantID) error {
	c.mu.Lock()
	delete(c.Entries, id)
	c.mu.Unlock()
	return nil
}

// Queue is a fake jobs.Queue that only records what was enqueued; tests run the work
// themselves.
type Queue struct {
	mu   sync.Mutex
	Jobs []QueuedJob
}

// QueuedJob is one recorded job.
type QueuedJob struct {
	Kind string
	Args json.RawMessage
}

// Enqueue implements jobs.Queue.
func (q *Queue) Enqueue(ctx context.Context, kind string, args any, _ *jobs.EnqueueOpts) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := json.Marshal(args)
	if err != nil {
		return err
	}
	q.mu.Lock()
	q.Jobs = append(q.Jobs, QueuedJob{Kind: kind, Args: b})
	q.mu.Unlock()
	return nil
}
