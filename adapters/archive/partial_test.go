package archive_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/eusaas/eusaas/adapters/archive"
)

// A write whose process died (neither Commit nor Abort) leaves a temporary file; RemovePartial
// of its name deletes it and nothing else: not the committed archive, not another archive's
// write in progress beside it.
func TestRemovePartial(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fs, err := archive.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	done, err := fs.Create(ctx, "exports/t1/a.zip")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := done.Write([]byte("committed")); err != nil {
		t.Fatal(err)
	}
	if err := done.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"exports/t1/a.zip", "exports/t1/b.zip"} { // "crashed" writes
		w, err := fs.Create(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("partial")); err != nil {
			t.Fatal(err)
		}
	}
	names := func() []string {
		entries, err := os.ReadDir(filepath.Join(dir, "exports", "t1"))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	if n := len(names()); n != 3 {
		t.Fatalf("before: %v", names())
	}
	if err := fs.RemovePartial(ctx, "exports/t1/a.zip"); err != nil {
		t.Fatal(err)
	}
	got := names()
	if len(got) != 2 || !slices.Contains(got, "a.zip") {
		t.Fatalf("after: %v, want a.zip and b.zip's temporary file", got)
	}
	rc, _, err := fs.Open(ctx, "exports/t1/a.zip")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "committed" {
		t.Fatalf("committed archive reads %q", b)
	}
	// A directory never written and an invalid name.
	if err := fs.RemovePartial(ctx, "exports/none/x.zip"); err != nil {
		t.Fatal(err)
	}
	if err := fs.RemovePartial(ctx, "../x"); err == nil {
		t.Fatal("escaping name accepted")
	}
}
