package archive_test

import (
	"context"
	"testing"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/archive"
	"github.com/eusaas/eusaas/gdpr/gdprtest"
)

// The filesystem is an ArchiveStore only, so it runs that area of the suite.
func TestConformance(t *testing.T) {
	gdprtest.RunArchives(t, gdprtest.Harness{
		New: func(t *testing.T) gdprtest.Stores {
			fs, err := archive.NewFS(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return gdprtest.Stores{Archives: fs}
		},
	})
}

func TestRejectsEscapingNames(t *testing.T) {
	fs, err := archive.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../x", "/etc/passwd", "a/../../b", "", `a\b`} {
		if _, err := fs.Create(context.Background(), name); eusaas.KindOf(err) != eusaas.InvalidArgument {
			t.Errorf("Create(%q): %v", name, err)
		}
	}
}
