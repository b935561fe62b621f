// Package archive stores GDPR export archives and encrypted backups as files in a
// directory. Writes go to a temporary file that is fsynced and renamed on Commit, so a
// reader never sees a partial archive and a crash leaves only a temporary file behind.
package archive

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

// FS is a gdpr.ArchiveStore rooted at a directory.
type FS struct {
	root string
}

var _ gdpr.ArchiveStore = (*FS)(nil)

// NewFS returns a store under dir, creating it (mode 0700: archives hold personal data).
func NewFS(dir string) (*FS, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &FS{root: dir}, nil
}

// path maps an archive name to a file, refusing names that could leave the root.
func (f *FS) path(name string) (string, error) {
	if name == "" || !fs.ValidPath(name) || strings.Contains(name, `\`) {
		return "", eusaas.E(eusaas.InvalidArgument, "archive: invalid name")
	}
	return filepath.Join(f.root, filepath.FromSlash(name)), nil
}

type writer struct {
	tmp  *os.File
	dest string
	done bool
}

func (w *writer) Write(p []byte) (int, error) { return w.tmp.Write(p) }

func (w *writer) Commit() error {
	if w.done {
		return errors.New("archive: writer already finished")
	}
	w.done = true
	if err := w.tmp.Sync(); err != nil {
		w.tmp.Close()
		os.Remove(w.tmp.Name())
		return err
	}
	if err := w.tmp.Close(); err != nil {
		os.Remove(w.tmp.Name())
		return err
	}
	return os.Rename(w.tmp.Name(), w.dest)
}

func (w *writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.tmp.Close()
	return os.Remove(w.tmp.Name())
}

// Create implements gdpr.ArchiveStore.
func (f *FS) Create(ctx context.Context, name string) (gdpr.ArchiveWriter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := f.path(name)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), tempPattern(p))
	if err != nil {
		return nil, err
	}
	return &writer{tmp: tmp, dest: p}, nil
}

// Open implements gdpr.ArchiveStore.
func (f *FS) Open(ctx context.Context, name string) (io.ReadCloser, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	p, err := f.path(name)
	if err != nil {
		return nil, 0, err
	}
	file, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, eusaas.E(eusaas.NotFound, "archive not found")
	}
	if err != nil {
		return nil, 0, err
	}
	st, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, 0, err
	}
	return file, st.Size(), nil
}

// Delete implements gdpr.ArchiveStore.
func (f *FS) Delete(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := f.path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
