package platform_test

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"io"
	"testing"
	"time"

	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/audit/audittest"
	"github.com/eusaas/eusaas/gdpr/gdprtest"
	"github.com/eusaas/eusaas/platform"
	"github.com/eusaas/eusaas/storage"
	"github.com/eusaas/eusaas/storage/fsstorage"
	"github.com/eusaas/eusaas/storage/memstorage"
)

// The object-storage bridges pass the ports' own suites on the memory and the filesystem
// bucket (adapters/s3 runs them on MinIO).
func TestStorageBridges(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) storage.Bucket{
		"memory": func(*testing.T) storage.Bucket { return memstorage.New(nil) },
		"file": func(t *testing.T) storage.Bucket {
			b, err := fsstorage.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
	} {
		t.Run(name, func(t *testing.T) { RunStorageBridges(t, open) })
	}
}

// RunStorageBridges runs the archive and checkpoint suites over buckets from open.
func RunStorageBridges(t *testing.T, open func(t *testing.T) storage.Bucket) {
	t.Run("Archives", func(t *testing.T) {
		gdprtest.RunArchives(t, gdprtest.Harness{New: func(t *testing.T) gdprtest.Stores {
			return gdprtest.Stores{Archives: platform.NewArchiveStore(open(t), "gdpr/")}
		}})
	})
	t.Run("Checkpoints", func(t *testing.T) {
		audittest.RunSink(t, audittest.SinkHarness{New: func(t *testing.T) audittest.SinkEnv {
			b := open(t)
			return audittest.SinkEnv{
				Sink:   &platform.CheckpointStore{Bucket: b, Retain: time.Hour},
				Reopen: func(*testing.T) audit.CheckpointSource { return &platform.CheckpointStore{Bucket: b} },
			}
		}})
	})
}

func TestPublishCheckpointKeyOnce(t *testing.T) {
	ctx := context.Background()
	b := memstorage.New(nil)
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := platform.PublishCheckpointKey(ctx, b, pub); err != nil {
		t.Fatal(err)
	}
	first, err := b.Stat(ctx, platform.CheckpointKeyObject)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	if err := platform.PublishCheckpointKey(ctx, b, pub); err != nil {
		t.Fatal(err)
	}
	again, _ := b.Stat(ctx, platform.CheckpointKeyObject)
	if !again.ModTime.Equal(first.ModTime) {
		t.Error("an unchanged key was written again")
	}
	rc, _, err := b.Get(ctx, platform.CheckpointKeyObject)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	body, _ := io.ReadAll(rc)
	blk, _ := pem.Decode(body)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		t.Fatalf("published key is not a PEM public key: %q", body)
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil || !pub.Equal(k) {
		t.Errorf("published key = %v, %v", k, err)
	}
}
