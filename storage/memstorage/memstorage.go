// Package memstorage is the in-process storage.Bucket: the reference adapter the
// conformance suite is written against, and what the server uses in memory mode. It holds
// whole objects in memory, so it is for tests and development only.
package memstorage

import (
	"bytes"
	"context"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/eusaas/eusaas/storage"
)

type object struct {
	data []byte
	info storage.ObjectInfo
}

// Bucket keeps objects in a map. It enforces retention like an object-locked S3 bucket.
type Bucket struct {
	mu   sync.RWMutex
	objs map[string]object
	now  func() time.Time
}

var _ storage.Bucket = (*Bucket)(nil)

// New returns an empty bucket. now is the clock retention is checked against (nil:
// time.Now).
func New(now func() time.Time) *Bucket {
	if now == nil {
		now = time.Now
	}
	return &Bucket{objs: map[string]object{}, now: now}
}

// Features implements storage.Bucket.
func (b *Bucket) Features() storage.Features { return storage.Features{Retention: true} }

func (b *Bucket) locked(key string) bool {
	o, ok := b.objs[key]
	return ok && b.now().Before(o.info.RetainUntil)
}

// Put implements storage.Bucket.
func (b *Bucket) Put(ctx context.Context, key string, r io.Reader, opts storage.PutOptions) (storage.ObjectInfo, error) {
	if err := storage.CheckKey(key); err != nil {
		return storage.ObjectInfo{}, err
	}
	var buf bytes.Buffer
	// Copy in chunks, checking ctx, so a canceled Put of an endless reader ends.
	chunk := make([]byte, 32<<10)
	for {
		if err := ctx.Err(); err != nil {
			return storage.ObjectInfo{}, err
		}
		n, err := r.Read(chunk)
		buf.Write(chunk[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return storage.ObjectInfo{}, err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.locked(key) {
		return storage.ObjectInfo{}, storage.ErrLocked
	}
	info := storage.ObjectInfo{Key: key, Size: int64(buf.Len()), ModTime: b.now(), ContentType: opts.ContentType}
	if !opts.RetainUntil.IsZero() {
		info.RetainUntil = opts.RetainUntil
	}
	b.objs[key] = object{data: buf.Bytes(), info: info}
	return info, nil
}

// Get implements storage.Bucket.
func (b *Bucket) Get(ctx context.Context, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	info, data, err := b.get(ctx, key)
	if err != nil {
		return nil, info, err
	}
	return io.NopCloser(bytes.NewReader(data)), info, nil
}

func (b *Bucket) get(ctx context.Context, key string) (storage.ObjectInfo, []byte, error) {
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, nil, err
	}
	if err := storage.CheckKey(key); err != nil {
		return storage.ObjectInfo{}, nil, err
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	o, ok := b.objs[key]
	if !ok {
		return storage.ObjectInfo{}, nil, storage.ErrNotFound
	}
	return o.info, o.data, nil
}

// Stat implements storage.Bucket.
func (b *Bucket) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	info, _, err := b.get(ctx, key)
	return info, err
}

// Delete implements storage.Bucket.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := storage.CheckKey(key); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.locked(key) {
		return storage.ErrLocked
	}
	delete(b.objs, key)
	return nil
}

// List implements storage.Bucket.
func (b *Bucket) List(ctx context.Context, prefix string) ([]storage.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !storage.ValidPrefix(prefix) {
		return nil, storage.CheckKey("")
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	var out []storage.ObjectInfo
	for k, o := range b.objs {
		if strings.HasPrefix(k, prefix) {
			out = append(out, o.info)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}
