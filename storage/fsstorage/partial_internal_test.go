package fsstorage

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// The temporary file of a Put killed mid-stream is found by its key and removed; another
// key's is left alone.
func TestRemovePartial(t *testing.T) {
	dir := t.TempDir()
	b, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(dir, ".incoming", tempPrefix("gdpr/a.zip")+"123")
	other := filepath.Join(dir, ".incoming", tempPrefix("gdpr/b.zip")+"456")
	for _, p := range []string{mine, other} {
		if err := os.WriteFile(p, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.RemovePartial(context.Background(), "gdpr/a.zip"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(mine); !os.IsNotExist(err) {
		t.Errorf("the interrupted write's file is still there: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another key's write was touched: %v", err)
	}
	if err := b.RemovePartial(context.Background(), "../x"); err == nil {
		t.Error("an invalid key is refused")
	}
}
