package redis

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/tenancy"
)

// TenantCache is the tenant cache on Redis. A tenant is a hash at <prefix>t:<id>:tenant with
// fields v (version), s (slug) and d (the tenant as JSON); the slug index is a string at
// <prefix>tenancy:slug:<slug> holding the id. Both expire after the TTL.
//
// Set and Invalidate are Lua scripts, so the version check and the writes are atomic; the
// scripts touch keys they compute (the slug index), which suits a single Redis server or a
// replicated one, not Redis Cluster.
type TenantCache struct {
	c      goredis.UniversalClient
	prefix string
	ttl    time.Duration
}

// TenantCacheOptions configure a TenantCache.
type TenantCacheOptions struct {
	Prefix string        // key prefix, e.g. "eusaas:"
	TTL    time.Duration // entry lifetime; 5 minutes when zero
}

// NewTenantCache returns a cache on c.
func NewTenantCache(c goredis.UniversalClient, opts TenantCacheOptions) *TenantCache {
	if opts.TTL <= 0 {
		opts.TTL = 5 * time.Minute
	}
	return &TenantCache{c: c, prefix: opts.Prefix, ttl: opts.TTL}
}

var _ tenancy.Cache = (*TenantCache)(nil)

func (c *TenantCache) key(id eusaas.TenantID) string {
	return c.prefix + "t:" + id.String() + ":tenant"
}

func (c *TenantCache) slugPrefix() string { return c.prefix + "tenancy:slug:" }

// Get implements tenancy.Cache.
func (c *TenantCache) Get(ctx context.Context, id eusaas.TenantID) (tenancy.Tenant, bool, error) {
	b, err := c.c.HGet(ctx, c.key(id), "d").Bytes()
	if errors.Is(err, goredis.Nil) {
		return tenancy.Tenant{}, false, nil
	}
	if err != nil {
		return tenancy.Tenant{}, false, translate(err, "tenant cache")
	}
	var t tenancy.Tenant
	if err := json.Unmarshal(b, &t); err != nil {
		// A corrupt or foreign entry is a miss; the service re-reads the store and overwrites it.
		return tenancy.Tenant{}, false, nil
	}
	return t, true, nil
}

// GetBySlug implements tenancy.Cache.
func (c *TenantCache) GetBySlug(ctx context.Context, slug string) (tenancy.Tenant, bool, error) {
	s, err := c.c.Get(ctx, c.slugPrefix()+slug).Result()
	if errors.Is(err, goredis.Nil) {
		return tenancy.Tenant{}, false, nil
	}
	if err != nil {
		return tenancy.Tenant{}, false, translate(err, "tenant cache")
	}
	id, err := eusaas.ParseTenantID(s)
	if err != nil {
		return tenancy.Tenant{}, false, nil
	}
	t, ok, err := c.Get(ctx, id)
	if err != nil || !ok || t.Slug != slug || t.Status == tenancy.StatusDeleted {
		return tenancy.Tenant{}, false, err
	}
	return t, true, nil
}

// tenancySetScript: KEYS[1] tenant hash, KEYS[2] slug index; ARGV version, json, ttl ms,
// slug, index the slug ("1"/"0"), id.
var tenancySetScript = goredis.NewScript(`
local v = redis.call('HGET', KEYS[1], 'v')
if v and tonumber(v) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 's', ARGV[4], 'd', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if ARGV[5] == '1' then redis.call('SET', KEYS[2], ARGV[6], 'PX', ARGV[3]) end
return 1`)

// tenancyInvalidateScript: KEYS[1] tenant hash; ARGV slug index prefix, id. The slug index is
// removed only while it still points at this tenant (a new tenant may hold the slug now).
var tenancyInvalidateScript = goredis.NewScript(`
local s = redis.call('HGET', KEYS[1], 's')
if s then
  local sk = ARGV[1] .. s
  if redis.call('GET', sk) == ARGV[2] then redis.call('DEL', sk) end
end
return redis.call('DEL', KEYS[1])`)

// Set implements tenancy.Cache.
func (c *TenantCache) Set(ctx context.Context, t tenancy.Tenant) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	index := "0"
	if t.Status != tenancy.StatusDeleted {
		index = "1"
	}
	err = tenancySetScript.Run(ctx, c.c, []string{c.key(t.ID), c.slugPrefix() + t.Slug},
		strconv.FormatInt(t.Version, 10), b, c.ttl.Milliseconds(), t.Slug, index, t.ID.String()).Err()
	return translate(err, "tenant cache")
}

// Invalidate implements tenancy.Cache.
func (c *TenantCache) Invalidate(ctx context.Context, id eusaas.TenantID) error {
	err := tenancyInvalidateScript.Run(ctx, c.c, []string{c.key(id)}, c.slugPrefix(), id.String()).Err()
	return translate(err, "tenant cache")
}
