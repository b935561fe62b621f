package archive

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/eusaas/eusaas/gdpr"
)

var _ gdpr.PartialRemover = (*FS)(nil)

// tempPattern names the temporary files of an archive after it (".<name>.tmp-<random>"), so
// the leftovers of one archive's interrupted write can be told from another's still being
// written next to it.
func tempPattern(dest string) string { return "." + filepath.Base(dest) + ".tmp-*" }

// RemovePartial implements gdpr.PartialRemover: it deletes the temporary files a write of
// name left behind when its process died before Commit or Abort.
func (f *FS) RemovePartial(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := f.path(name)
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(filepath.Dir(p))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	prefix := strings.TrimSuffix(tempPattern(p), "*")
	var errs []error
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasPrefix(e.Name(), prefix) {
			if err := os.Remove(filepath.Join(filepath.Dir(p), e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
