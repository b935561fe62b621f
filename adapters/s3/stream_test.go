package s3_test

import (
	"context"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eusaas/eusaas/internal/miniotest"
	"github.com/eusaas/eusaas/storage"
)

// zeros yields n zero bytes without holding them.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n == 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), z.n)
	clear(p[:k])
	z.n -= k
	return int(k), nil
}

// A Put of an object many times the part size holds about one part in memory: the heap
// sampled during the upload stays far below the object's size.
func TestPutHoldsOnePart(t *testing.T) {
	srv := miniotest.Start(t)
	b := open(t, srv, srv.Bucket(t, false), "&part_size_mib=5")
	const size = 96 << 20
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()
	start := time.Now()
	info, err := b.Put(context.Background(), "big", &zeros{n: size}, storage.PutOptions{})
	close(stop)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != size {
		t.Fatalf("size %d", info.Size)
	}
	growth := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("96 MiB Put in %v, part 5 MiB: peak heap growth %.1f MiB", time.Since(start).Round(time.Millisecond), float64(growth)/(1<<20))
	if growth > 40<<20 {
		t.Errorf("heap grew by %d MiB during a 96 MiB Put with 5 MiB parts: the object is being buffered", growth>>20)
	}
}
