// Command custom-adapter shows the path of an adapter author: it implements one small port,
// tenancy.Cache, as a directory of JSON files (a cache that outlives the process, e.g. on a
// tmpfs shared by sidecars), proves it with the module's conformance suite
// (tenancytest.RunCache, in main_test.go) and plugs it into tenancy.Service.
//
//	go run ./examples/custom-adapter
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/tenancy"
	"github.com/eusaas/eusaas/tenancy/memtenancy"
)

// FileCache is a tenancy.Cache keeping each tenant in <dir>/id-<id>.json and the slug index
// in <dir>/slug-<sha256(slug)> (the file holds the tenant id). Slugs are hashed so no input
// reaches a file name. One process at a time: mu serialises the read-compare-write of Set.
type FileCache struct {
	dir string
	mu  sync.Mutex
}

var _ tenancy.Cache = (*FileCache)(nil)

// NewFileCache returns a cache in dir, creating it if needed.
func NewFileCache(dir string) (*FileCache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &FileCache{dir: dir}, nil
}

func (c *FileCache) idPath(id eusaas.TenantID) string {
	return filepath.Join(c.dir, "id-"+id.String()+".json")
}

func (c *FileCache) slugPath(slug string) string {
	h := sha256.Sum256([]byte(slug))
	return filepath.Join(c.dir, "slug-"+hex.EncodeToString(h[:]))
}

// read loads the tenant; ok is false when the file does not exist.
func (c *FileCache) read(id eusaas.TenantID) (tenancy.Tenant, bool, error) {
	b, err := os.ReadFile(c.idPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return tenancy.Tenant{}, false, nil
	}
	if err != nil {
		return tenancy.Tenant{}, false, err
	}
	var t tenancy.Tenant
	if err := json.Unmarshal(b, &t); err != nil {
		return tenancy.Tenant{}, false, err
	}
	return t, true, nil
}

// write replaces path atomically (temp file + rename), so a reader never sees half a file.
func (c *FileCache) write(path string, b []byte) error {
	f, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}

// Get implements tenancy.Cache.
func (c *FileCache) Get(ctx context.Context, id eusaas.TenantID) (tenancy.Tenant, bool, error) {
	if err := ctx.Err(); err != nil {
		return tenancy.Tenant{}, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.read(id)
}

// GetBySlug implements tenancy.Cache: the slug file names a tenant id, and that tenant must
// still hold the slug and not be DELETED (its slug may have been reused).
func (c *FileCache) GetBySlug(ctx context.Context, slug string) (tenancy.Tenant, bool, error) {
	if err := ctx.Err(); err != nil {
		return tenancy.Tenant{}, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := os.ReadFile(c.slugPath(slug))
	if errors.Is(err, fs.ErrNotExist) {
		return tenancy.Tenant{}, false, nil
	}
	if err != nil {
		return tenancy.Tenant{}, false, err
	}
	id, err := eusaas.ParseTenantID(string(b))
	if err != nil {
		return tenancy.Tenant{}, false, err
	}
	t, ok, err := c.read(id)
	if err != nil || !ok || t.Slug != slug || t.Status == tenancy.StatusDeleted {
		return tenancy.Tenant{}, false, err
	}
	return t, true, nil
}

// Set implements tenancy.Cache: an older Version than the cached one is ignored.
func (c *FileCache) Set(ctx context.Context, t tenancy.Tenant) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, ok, err := c.read(t.ID)
	if err != nil {
		return err
	}
	if ok && cur.Version > t.Version {
		return nil
	}
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if err := c.write(c.idPath(t.ID), b); err != nil {
		return err
	}
	if t.Status == tenancy.StatusDeleted {
		return nil // a tombstone keeps no slug
	}
	return c.write(c.slugPath(t.Slug), []byte(t.ID.String()))
}

// Invalidate implements tenancy.Cache. The slug file is removed only if it still names this
// tenant: another tenant may hold the slug now.
func (c *FileCache) Invalidate(ctx context.Context, id eusaas.TenantID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok, err := c.read(id)
	if err != nil || !ok {
		return err
	}
	if b, err := os.ReadFile(c.slugPath(t.Slug)); err == nil && string(b) == id.String() {
		if err := os.Remove(c.slugPath(t.Slug)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := os.Remove(c.idPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func main() {
	dir, err := os.MkdirTemp("", "eusaas-cache-")
	if err == nil {
		defer os.RemoveAll(dir)
		err = run(context.Background(), os.Stdout, dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "custom-adapter:", err)
		os.Exit(1)
	}
}

// run plugs a FileCache in dir into tenancy.Service (memory store and provisioner) and
// shows the service reading through it.
func run(ctx context.Context, w io.Writer, dir string) error {
	cache, err := NewFileCache(dir)
	if err != nil {
		return err
	}
	svc, err := tenancy.NewService(tenancy.Deps{Store: memtenancy.NewStore(), Provisioner: memtenancy.NewProvisioner(1), Cache: cache}, tenancy.Options{})
	if err != nil {
		return err
	}
	res, err := svc.Create(ctx, tenancy.CreateInput{Name: "Acme", Slug: "acme", AdminEmail: "owner@acme.example"})
	if err != nil {
		return err
	}
	id := res.Tenant.ID

	// The service fills the cache on writes and on reads that miss.
	t, err := svc.Resolve(ctx, "acme")
	if err != nil {
		return err
	}
	cached, ok, err := cache.GetBySlug(ctx, "acme")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "resolved acme: %s, cached: %t (version %d)\n", t.Status, ok, cached.Version)

	if _, err := svc.Suspend(ctx, id); err != nil {
		return err
	}
	cached, _, err = cache.Get(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "after suspend the cache holds: %s (version %d)\n", cached.Status, cached.Version)

	if err := svc.PurgeCache(ctx, id); err != nil {
		return err
	}
	_, ok, err = cache.Get(ctx, id)
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "after purge cached: %t, files left: %d\n", ok, len(entries))
	return nil
}
