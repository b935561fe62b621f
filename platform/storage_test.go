package platform_test

import (
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
