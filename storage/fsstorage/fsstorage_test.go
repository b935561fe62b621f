package fsstorage_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/storage"
	"github.com/eusaas/eusaas/storage/fsstorage"
	"github.com/eusaas/eusaas/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, storagetest.Harness{New: func(t *testing.T) storage.Bucket {
		b, err := fsstorage.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}})
}

// A crash between CreateTemp and Rename leaves a temporary file; the next New removes it
// once it is old, and never one that may belong to a write still under way elsewhere.
func TestStaleTemporaryFilesRemoved(t *testing.T) {
	dir := t.TempDir()
	if _, err := fsstorage.New(dir); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, ".incoming", "put-stale")
	fresh := filepath.Join(dir, ".incoming", "put-fresh")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-fsstorage.StaleAfter - time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	b, err := fsstorage.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary file kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temporary file removed: %v", err)
	}
	// Temporary files are not objects, and their directory is no key.
	list, err := b.List(context.Background(), "")
	if err != nil || len(list) != 0 {
		t.Errorf("List = %v, %v; want empty", list, err)
	}
	if _, err := b.Put(context.Background(), ".incoming/x", bytes.NewBufferString("x"), storage.PutOptions{}); eusaas.KindOf(err) != eusaas.InvalidArgument {
		t.Errorf("Put into the temporary directory: %v", err)
	}
}

// Deleting a tenant's last object removes the directories named after it.
func TestDeleteRemovesEmptyDirectories(t *testing.T) {
	dir := t.TempDir()
	b, err := fsstorage.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := b.Put(ctx, "gdpr/tenant-1/export.zip", bytes.NewBufferString("x"), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "gdpr/tenant-1/export.zip"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "gdpr")); !os.IsNotExist(err) {
		t.Errorf("empty directories left behind: %v", err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("root removed: %v", err)
	}
}
