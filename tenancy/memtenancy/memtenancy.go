package memtenancy

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/memtx"
	"github.com/eusaas/eusaas/tenancy"
)

// Store is the in-memory tenant registry.
type Store struct {
	mu      sync.Mutex
	tenants map[eusaas.TenantID]tenancy.Tenant
}

// NewStore returns an empty registry.
func NewStore() *Store {
	return &Store{tenants: map[eusaas.TenantID]tenancy.Tenant{}}
}

var _ tenancy.Store = (*Store)(nil)

// copyTenant deep-copies what a caller could otherwise mutate behind the store's back.
func copyTenant(t tenancy.Tenant) tenancy.Tenant {
	t.Metadata = maps.Clone(t.Metadata)
	if t.Metadata == nil {
		t.Metadata = map[string]string{}
	}
	if t.DeletedAt != nil {
		d := *t.DeletedAt
		t.DeletedAt = &d
	}
	return t
}

// liveSlugHolder returns the id of the non-DELETED tenant holding slug, other than except.
func (s *Store) liveSlugHolder(slug string, except eusaas.TenantID) (eusaas.TenantID, bool) {
	for id, t := range s.tenants {
		if id != except && t.Slug == slug && t.Status != tenancy.StatusDeleted {
			return id, true
		}
	}
	return eusaas.NilTenant, false
}

// Create implements tenancy.Store.
func (s *Store) Create(ctx context.Context, t tenancy.Tenant) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if _, ok := s.tenants[t.ID]; ok {
		s.mu.Unlock()
		return eusaas.E(eusaas.AlreadyExists, "tenant id already exists")
	}
	if t.Status != tenancy.StatusDeleted {
		if _, taken := s.liveSlugHolder(t.Slug, t.ID); taken {
			s.mu.Unlock()
			return tenancy.ErrSlugTaken
		}
	}
	s.tenants[t.ID] = copyTenant(t)
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		delete(s.tenants, t.ID)
		s.mu.Unlock()
	})
	return nil
}

// Get implements tenancy.Store.
func (s *Store) Get(ctx context.Context, id eusaas.TenantID) (tenancy.Tenant, error) {
	if err := ctx.Err(); err != nil {
		return tenancy.Tenant{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[id]
	if !ok {
		return tenancy.Tenant{}, tenancy.ErrNotFound
	}
	return copyTenant(t), nil
}

// GetBySlug implements tenancy.Store.
func (s *Store) GetBySlug(ctx context.Context, slug string) (tenancy.Tenant, error) {
	if err := ctx.Err(); err != nil {
		return tenancy.Tenant{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.liveSlugHolder(slug, eusaas.NilTenant)
	if !ok {
		return tenancy.Tenant{}, tenancy.ErrNotFound
	}
	return copyTenant(s.tenants[id]), nil
}

// List implements tenancy.Store.
func (s *Store) List(ctx context.Context, f tenancy.ListFilter, page eusaas.Page) (eusaas.List[tenancy.Tenant], error) {
	if err := ctx.Err(); err != nil {
		return eusaas.List[tenancy.Tenant]{}, err
	}
	s.mu.Lock()
	var all []tenancy.Tenant
	for _, t := range s.tenants {
		if f.Status == "" || t.Status == f.Status {
			all = append(all, copyTenant(t))
		}
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b tenancy.Tenant) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return slices.Compare(a.ID[:], b.ID[:])
	})
	out := eusaas.List[tenancy.Tenant]{Total: len(all), Items: []tenancy.Tenant{}}
	if off := page.Offset(); off < len(all) {
		out.Items = all[off:min(off+page.Size, len(all))]
	}
	return out, nil
}

// Update implements tenancy.Store.
func (s *Store) Update(ctx context.Context, t tenancy.Tenant) (tenancy.Tenant, error) {
	if err := ctx.Err(); err != nil {
		return tenancy.Tenant{}, err
	}
	s.mu.Lock()
	old, ok := s.tenants[t.ID]
	if !ok {
		s.mu.Unlock()
		return tenancy.Tenant{}, tenancy.ErrNotFound
	}
	if old.Version != t.Version {
		s.mu.Unlock()
		return tenancy.Tenant{}, tenancy.ErrVersionConflict.Withf("stored version is %d, not %d", old.Version, t.Version)
	}
	if t.Status != tenancy.StatusDeleted {
		if _, taken := s.liveSlugHolder(t.Slug, t.ID); taken {
			s.mu.Unlock()
			return tenancy.Tenant{}, tenancy.ErrSlugTaken
		}
	}
	nt := copyTenant(t)
	nt.SchemaName, nt.CreatedAt = old.SchemaName, old.CreatedAt
	nt.Version = old.Version + 1
	s.tenants[t.ID] = nt
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		s.tenants[t.ID] = old
		s.mu.Unlock()
	})
	return copyTenant(nt), nil
}

// Provisioner records tenant schemas in memory: which exist and at which version.
// It is what the embedded in-memory server uses (tenant data lives in the memory stores,
// keyed by tenant), and what tests use to observe provisioning.
type Provisioner struct {
	mu      sync.Mutex
	schemas map[eusaas.TenantID]int
	latest  int
	// FailCreate, when set, is called by Create before anything is made; an error it returns
	// fails the creation (tests use it to exercise provisioning failures).
	FailCreate func(id eusaas.TenantID) error
}

// NewProvisioner returns a provisioner whose schemas are migrated to version latest.
func NewProvisioner(latest int) *Provisioner {
	return &Provisioner{schemas: map[eusaas.TenantID]int{}, latest: latest}
}

var _ tenancy.Provisioner = (*Provisioner)(nil)

// Create implements tenancy.Provisioner.
func (p *Provisioner) Create(ctx context.Context, id eusaas.TenantID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.FailCreate != nil {
		if err := p.FailCreate(id); err != nil {
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.schemas[id] = p.latest
	return nil
}

// Migrate implements tenancy.Provisioner.
func (p *Provisioner) Migrate(ctx context.Context, id eusaas.TenantID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.schemas[id]; !ok {
		return eusaas.E(eusaas.NotFound, "tenant schema not found")
	}
	p.schemas[id] = p.latest
	return nil
}

// Drop implements tenancy.Provisioner.
func (p *Provisioner) Drop(ctx context.Context, id eusaas.TenantID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.schemas, id)
	return nil
}

// SchemaVersion reports whether the tenant's schema exists and its version.
func (p *Provisioner) SchemaVersion(id eusaas.TenantID) (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.schemas[id]
	return v, ok
}

// Cache is the in-process tenant cache with a time to live.
type Cache struct {
	mu     sync.Mutex
	clock  eusaas.Clock
	ttl    time.Duration
	byID   map[eusaas.TenantID]cacheEntry
	bySlug map[string]eusaas.TenantID
}

type cacheEntry struct {
	t       tenancy.Tenant
	expires time.Time
}

// NewCache returns a cache whose entries live for ttl (by clock; nil means the system
// clock).
func NewCache(ttl time.Duration, clock eusaas.Clock) *Cache {
	if clock == nil {
		clock = eusaas.SystemClock
	}
	return &Cache{clock: clock, ttl: ttl, byID: map[eusaas.TenantID]cacheEntry{}, bySlug: map[string]eusaas.TenantID{}}
}

var _ tenancy.Cache = (*Cache)(nil)

func (c *Cache) lookup(id eusaas.TenantID) (tenancy.Tenant, bool) {
	e, ok := c.byID[id]
	if !ok {
		return tenancy.Tenant{}, false
	}
	if !c.clock.Now().Before(e.expires) {
		delete(c.byID, id)
		return tenancy.Tenant{}, false
	}
	return copyTenant(e.t), true
}

// Get implements tenancy.Cache.
func (c *Cache) Get(ctx context.Context, id eusaas.TenantID) (tenancy.Tenant, bool, error) {
	if err := ctx.Err(); err != nil {
		return tenancy.Tenant{}, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.lookup(id)
	return t, ok, nil
}

// GetBySlug implements tenancy.Cache.
func (c *Cache) GetBySlug(ctx context.Context, slug string) (tenancy.Tenant, bool, error) {
	if err := ctx.Err(); err != nil {
		return tenancy.Tenant{}, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.bySlug[slug]
	if !ok {
		return tenancy.Tenant{}, false, nil
	}
	t, ok := c.lookup(id)
	if !ok || t.Slug != slug || t.Status == tenancy.StatusDeleted {
		return tenancy.Tenant{}, false, nil
	}
	return t, true, nil
}

// Set implements tenancy.Cache.
func (c *Cache) Set(ctx context.Context, t tenancy.Tenant) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.lookup(t.ID); ok && cur.Version > t.Version {
		return nil
	}
	c.byID[t.ID] = cacheEntry{t: copyTenant(t), expires: c.clock.Now().Add(c.ttl)}
	if t.Status != tenancy.StatusDeleted {
		c.bySlug[t.Slug] = t.ID
	}
	return nil
}

// Invalidate implements tenancy.Cache.
func (c *Cache) Invalidate(ctx context.Context, id eusaas.TenantID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byID[id]; ok && c.bySlug[e.t.Slug] == id {
		delete(c.bySlug, e.t.Slug)
	}
	delete(c.byID, id)
	return nil
}
