package archive_test

import (
	"context"
	"testing"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/archive"
	"github.com/eusaas/eusaas/gdpr/gdprtest"
	"github.com/eusaas/eusaas/gdpr/memgdpr"
)

// The store parts come from memory; the suite's Archives subtests exercise the filesystem.
func TestConformance(t *testing.T) {
	gdprtest.Run(t, gdprtest.Harness{
		New: func(t *testing.T) gdprtest.Stores {
			fs, err := archive.NewFS(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			s := memgdpr.NewStore()
			return gdprtest.Stores{Store: s, Keys: s, Archives: fs}
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
