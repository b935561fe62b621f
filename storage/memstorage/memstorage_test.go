package memstorage_test

import (
	"testing"

	"github.com/eusaas/eusaas/storage"
	"github.com/eusaas/eusaas/storage/memstorage"
	"github.com/eusaas/eusaas/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, storagetest.Harness{New: func(*testing.T) storage.Bucket { return memstorage.New(nil) }})
}
