// Package fsstorage is a storage.Bucket in a directory (APP_STORAGE_URL=file:///path). A key
// maps to the file of the same relative path. Put writes to a temporary file in the root's
// .incoming directory, fsyncs it and renames it into place, so a reader never sees a partial
// object and a crash leaves only a temporary file, which the next New removes once it is
// old enough not to belong to a write still running in another process.
//
// A directory shared by several replicas (NFS, a ReadWriteMany volume) works because rename
// within one filesystem is atomic; the directory cannot lock objects (no retention) and does
// not encrypt (use an encrypted volume).
package fsstorage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/storage"
)

// incoming is the directory of temporary files under the root; keys may not use it.
const incoming = ".incoming"

// StaleAfter is the age past which New deletes a leftover temporary file.
const StaleAfter = 24 * time.Hour

// Bucket is a directory of objects.
type Bucket struct {
	root string
}

var _ storage.Bucket = (*Bucket)(nil)

// New returns the bucket rooted at dir, creating it (mode 0700: objects hold personal data)
// and removing temporary files older than StaleAfter.
func New(dir string) (*Bucket, error) {
	if err := os.MkdirAll(filepath.Join(dir, incoming), 0o700); err != nil {
		return nil, err
	}
	b := &Bucket{root: dir}
	entries, err := os.ReadDir(filepath.Join(dir, incoming))
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > StaleAfter {
			_ = os.Remove(filepath.Join(dir, incoming, e.Name()))
		}
	}
	return b, nil
}

// Root is the bucket's directory.
func (b *Bucket) Root() string { return b.root }

// Features implements storage.Bucket: none.
func (b *Bucket) Features() storage.Features { return storage.Features{} }

func (b *Bucket) path(key string) (string, error) {
	if err := storage.CheckKey(key); err != nil {
		return "", err
	}
	if key == incoming || strings.HasPrefix(key, incoming+"/") {
		return "", eusaas.E(eusaas.InvalidArgument, "storage: the key names the temporary directory")
	}
	return filepath.Join(b.root, filepath.FromSlash(key)), nil
}

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// tempPrefix names a Put's temporary file after its key (a hash: keys have slashes), so
// RemovePartial can find an interrupted write of one key among others still running.
func tempPrefix(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "put-" + hex.EncodeToString(sum[:12]) + ".tmp-"
}

var _ storage.PartialRemover = (*Bucket)(nil)

// RemovePartial implements storage.PartialRemover: it deletes the temporary files of
// interrupted Puts of key.
func (b *Bucket) RemovePartial(ctx context.Context, key string) error {
	if _, err := b.path(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	matches, err := filepath.Glob(filepath.Join(b.root, incoming, tempPrefix(key)+"*"))
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range matches {
		if err := os.Remove(m); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Put implements storage.Bucket.
func (b *Bucket) Put(ctx context.Context, key string, r io.Reader, opts storage.PutOptions) (storage.ObjectInfo, error) {
	p, err := b.path(key)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	if !opts.RetainUntil.IsZero() {
		return storage.ObjectInfo{}, storage.ErrRetentionUnsupported
	}
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, err
	}
	tmp, err := os.CreateTemp(filepath.Join(b.root, incoming), tempPrefix(key)+"*")
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	fail := func(err error) (storage.ObjectInfo, error) {
		tmp.Close()
		os.Remove(tmp.Name())
		return storage.ObjectInfo{}, err
	}
	n, err := io.Copy(tmp, ctxReader{ctx, r})
	if err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return storage.ObjectInfo{}, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		os.Remove(tmp.Name())
		return storage.ObjectInfo{}, err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		os.Remove(tmp.Name())
		return storage.ObjectInfo{}, err
	}
	// The rename is durable only once the directory entry is: fsync the directory.
	if d, err := os.Open(filepath.Dir(p)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	info := storage.ObjectInfo{Key: key, Size: n, ContentType: opts.ContentType}
	if st, err := os.Stat(p); err == nil {
		info.ModTime = st.ModTime()
	}
	return info, nil
}

// Get implements storage.Bucket.
func (b *Bucket) Get(ctx context.Context, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	p, err := b.path(key)
	if err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, storage.ObjectInfo{}, storage.ErrNotFound
	}
	if err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, storage.ObjectInfo{}, err
	}
	if st.IsDir() {
		f.Close()
		return nil, storage.ObjectInfo{}, storage.ErrNotFound
	}
	return f, storage.ObjectInfo{Key: key, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// Stat implements storage.Bucket.
func (b *Bucket) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, err
	}
	p, err := b.path(key)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && st.IsDir()) {
		return storage.ObjectInfo{}, storage.ErrNotFound
	}
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	return storage.ObjectInfo{Key: key, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// Delete implements storage.Bucket. Emptied parent directories are removed too, so a
// tenant's erased objects leave no directory named after it.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := b.path(key)
	if err != nil {
		return err
	}
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		return nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for dir := filepath.Dir(p); dir != filepath.Clean(b.root) && strings.HasPrefix(dir, filepath.Clean(b.root)); dir = filepath.Dir(dir) {
		// Remove fails on a non-empty directory, which ends the walk up.
		if os.Remove(dir) != nil {
			break
		}
	}
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
	// Walk only the deepest directory the prefix names in full.
	start := b.root
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = filepath.Join(b.root, filepath.FromSlash(prefix[:i]))
	}
	var out []storage.ObjectInfo
	err := filepath.WalkDir(start, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, rerr := filepath.Rel(b.root, path)
		if rerr != nil {
			return rerr
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			if key == incoming {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, ierr := d.Info()
		if errors.Is(ierr, fs.ErrNotExist) {
			return nil // deleted while listing
		}
		if ierr != nil {
			return ierr
		}
		out = append(out, storage.ObjectInfo{Key: key, Size: info.Size(), ModTime: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}
