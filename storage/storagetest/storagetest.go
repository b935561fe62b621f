// Package storagetest is the conformance suite of storage.Bucket: every adapter runs Run
// from its TestConformance.
package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/storage"
)

// Harness makes buckets for the suite.
type Harness struct {
	// New returns an empty bucket for one subtest (cleaned up by the harness).
	New func(t *testing.T) storage.Bucket
	// LargeSize is the size of the streaming test's object (default 12 MiB: above two S3
	// parts of 5 MiB, so an S3 adapter really uploads in parts).
	LargeSize int64
}

// Run runs every subtest.
func Run(t *testing.T, h Harness) {
	if h.LargeSize == 0 {
		h.LargeSize = 12 << 20
	}
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"PutGet", testPutGet},
		{"Replace", testReplace},
		{"NotFound", testNotFound},
		{"Delete", testDelete},
		{"InvalidKeys", testInvalidKeys},
		{"List", testList},
		{"FailedReaderStoresNothing", testFailedReader},
		{"StreamLarge", testStreamLarge},
		{"ContextCanceled", testContextCanceled},
		{"Concurrent", testConcurrent},
		{"Retention", testRetention},
		{"Encryption", testEncryption},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, h)
		})
	}
}

func put(t *testing.T, b storage.Bucket, key, body string) storage.ObjectInfo {
	t.Helper()
	info, err := b.Put(context.Background(), key, bytes.NewBufferString(body), storage.PutOptions{ContentType: "text/plain"})
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	return info
}

func read(t *testing.T, b storage.Bucket, key string) (string, storage.ObjectInfo) {
	t.Helper()
	rc, info, err := b.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	return string(data), info
}

func testPutGet(t *testing.T, h Harness) {
	b := h.New(t)
	info := put(t, b, "tenant/a/export.zip", "hello archive")
	if info.Key != "tenant/a/export.zip" || info.Size != 13 {
		t.Errorf("Put info = %+v, want key and size 13", info)
	}
	body, ginfo := read(t, b, "tenant/a/export.zip")
	if body != "hello archive" {
		t.Errorf("Get = %q", body)
	}
	if ginfo.Size != 13 || ginfo.Key != "tenant/a/export.zip" {
		t.Errorf("Get info = %+v", ginfo)
	}
	st, err := b.Stat(context.Background(), "tenant/a/export.zip")
	if err != nil {
		t.Fatal(err)
	}
	if st.Size != 13 || st.Key != "tenant/a/export.zip" {
		t.Errorf("Stat = %+v", st)
	}
	if st.ModTime.IsZero() || time.Since(st.ModTime) > time.Hour || time.Until(st.ModTime) > time.Hour {
		t.Errorf("Stat ModTime = %v, want about now", st.ModTime)
	}
	// An empty object is an object.
	put(t, b, "empty", "")
	if body, info := read(t, b, "empty"); body != "" || info.Size != 0 {
		t.Errorf("empty object = %q, %+v", body, info)
	}
}

func testReplace(t *testing.T, h Harness) {
	b := h.New(t)
	put(t, b, "k", "first version, longer")
	put(t, b, "k", "second")
	if body, info := read(t, b, "k"); body != "second" || info.Size != 6 {
		t.Errorf("after replace: %q %+v", body, info)
	}
}

func wantKind(t *testing.T, what string, err error, kind eusaas.Kind) {
	t.Helper()
	if eusaas.KindOf(err) != kind {
		t.Errorf("%s: err = %v (kind %v), want kind %v", what, err, eusaas.KindOf(err), kind)
	}
}

func testNotFound(t *testing.T, h Harness) {
	b := h.New(t)
	_, _, err := b.Get(context.Background(), "missing/key")
	wantKind(t, "Get missing", err, eusaas.NotFound)
	_, err = b.Stat(context.Background(), "missing/key")
	wantKind(t, "Stat missing", err, eusaas.NotFound)
	put(t, b, "dir/child", "x")
	// A prefix of a key is no object.
	_, err = b.Stat(context.Background(), "dir")
	wantKind(t, "Stat of a prefix", err, eusaas.NotFound)
}

func testDelete(t *testing.T, h Harness) {
	b := h.New(t)
	put(t, b, "t/1/a", "a")
	put(t, b, "t/1/b", "b")
	if err := b.Delete(context.Background(), "t/1/a"); err != nil {
		t.Fatal(err)
	}
	_, err := b.Stat(context.Background(), "t/1/a")
	wantKind(t, "Stat deleted", err, eusaas.NotFound)
	if body, _ := read(t, b, "t/1/b"); body != "b" {
		t.Errorf("sibling = %q", body)
	}
	if err := b.Delete(context.Background(), "t/1/a"); err != nil {
		t.Errorf("deleting a missing key: %v", err)
	}
	if err := b.Delete(context.Background(), "never/was"); err != nil {
		t.Errorf("deleting a never-stored key: %v", err)
	}
	list, err := b.List(context.Background(), "t/")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Key != "t/1/b" {
		t.Errorf("List after delete = %+v", list)
	}
}

func testInvalidKeys(t *testing.T, h Harness) {
	b := h.New(t)
	ctx := context.Background()
	for _, key := range []string{"", "/abs", "a/../../b", "..", "a//b", `a\b`, "trailing/", "./x", "nul\x00"} {
		_, err := b.Put(ctx, key, bytes.NewBufferString("x"), storage.PutOptions{})
		wantKind(t, fmt.Sprintf("Put(%q)", key), err, eusaas.InvalidArgument)
		_, _, err = b.Get(ctx, key)
		wantKind(t, fmt.Sprintf("Get(%q)", key), err, eusaas.InvalidArgument)
		err = b.Delete(ctx, key)
		wantKind(t, fmt.Sprintf("Delete(%q)", key), err, eusaas.InvalidArgument)
	}
	_, err := b.List(ctx, "../")
	wantKind(t, `List("../")`, err, eusaas.InvalidArgument)
}

func testList(t *testing.T, h Harness) {
	b := h.New(t)
	for _, k := range []string{"gdpr/t2/x", "gdpr/t1/b", "gdpr/t1/a", "gdpr/t10/c", "audit/p/1", "gdprx"} {
		put(t, b, k, k)
	}
	keys := func(prefix string) []string {
		t.Helper()
		list, err := b.List(context.Background(), prefix)
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		var out []string
		for _, o := range list {
			if o.Size != int64(len(o.Key)) {
				t.Errorf("List(%q): %s has size %d, want %d", prefix, o.Key, o.Size, len(o.Key))
			}
			out = append(out, o.Key)
		}
		return out
	}
	check := func(prefix string, want ...string) {
		t.Helper()
		got := keys(prefix)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("List(%q) = %v, want %v", prefix, got, want)
		}
	}
	check("gdpr/t1/", "gdpr/t1/a", "gdpr/t1/b")
	check("gdpr/t1", "gdpr/t1/a", "gdpr/t1/b", "gdpr/t10/c")
	check("gdpr/", "gdpr/t1/a", "gdpr/t1/b", "gdpr/t10/c", "gdpr/t2/x")
	check("gdpr", "gdpr/t1/a", "gdpr/t1/b", "gdpr/t10/c", "gdpr/t2/x", "gdprx")
	check("nothing/")
	check("", "audit/p/1", "gdpr/t1/a", "gdpr/t1/b", "gdpr/t10/c", "gdpr/t2/x", "gdprx")
}

// failingReader yields n bytes and then fails.
type failingReader struct{ n int }

var errReader = errors.New("storagetest: reader failed")

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errReader
	}
	k := min(len(p), f.n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	f.n -= k
	return k, nil
}

func testFailedReader(t *testing.T, h Harness) {
	b := h.New(t)
	ctx := context.Background()
	if _, err := b.Put(ctx, "partial", &failingReader{n: 1000}, storage.PutOptions{}); err == nil {
		t.Fatal("Put with a failing reader succeeded")
	}
	_, err := b.Stat(ctx, "partial")
	wantKind(t, "Stat after a failed Put", err, eusaas.NotFound)
	put(t, b, "kept", "the old version")
	if _, err := b.Put(ctx, "kept", &failingReader{n: 6 << 20}, storage.PutOptions{}); err == nil {
		t.Fatal("Put with a failing reader succeeded")
	}
	if body, _ := read(t, b, "kept"); body != "the old version" {
		t.Errorf("a failed replace changed the object to %d bytes", len(body))
	}
	list, err := b.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Errorf("List after failed Puts = %+v, want only kept", list)
	}
}

// patternReader yields size pseudo-random bytes without holding them.
type patternReader struct {
	rng  *rand.ChaCha8
	left int64
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	_, _ = p.rng.Read(b)
	p.left -= int64(len(b))
	return len(b), nil
}

func testStreamLarge(t *testing.T, h Harness) {
	b := h.New(t)
	ctx := context.Background()
	seed := [32]byte{1, 2, 3}
	want := sha256.New()
	if _, err := io.Copy(want, &patternReader{rng: rand.NewChaCha8(seed), left: h.LargeSize}); err != nil {
		t.Fatal(err)
	}
	// The reader is neither a *bytes.Reader nor a Seeker: the adapter cannot learn the size.
	info, err := b.Put(ctx, "large/object", &patternReader{rng: rand.NewChaCha8(seed), left: h.LargeSize}, storage.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != h.LargeSize {
		t.Errorf("Put size = %d, want %d", info.Size, h.LargeSize)
	}
	rc, ginfo, err := b.Get(ctx, "large/object")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := sha256.New()
	n, err := io.Copy(got, rc)
	if err != nil {
		t.Fatal(err)
	}
	if n != h.LargeSize || ginfo.Size != h.LargeSize || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Errorf("read back %d bytes (info %d), digest match %v", n, ginfo.Size, bytes.Equal(got.Sum(nil), want.Sum(nil)))
	}
}

func testContextCanceled(t *testing.T, h Harness) {
	b := h.New(t)
	put(t, b, "k", "v")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Put(ctx, "new", bytes.NewBufferString("v"), storage.PutOptions{}); err == nil {
		t.Error("Put on a canceled context succeeded")
	}
	if _, _, err := b.Get(ctx, "k"); err == nil {
		t.Error("Get on a canceled context succeeded")
	}
	if _, err := b.Stat(ctx, "k"); err == nil {
		t.Error("Stat on a canceled context succeeded")
	}
	if err := b.Delete(ctx, "k"); err == nil {
		t.Error("Delete on a canceled context succeeded")
	}
	if _, err := b.List(ctx, ""); err == nil {
		t.Error("List on a canceled context succeeded")
	}
	if _, err := b.Stat(context.Background(), "new"); eusaas.KindOf(err) != eusaas.NotFound {
		t.Errorf("a canceled Put stored an object: %v", err)
	}
	// A Put whose context ends mid-stream stores nothing either.
	ctx2, cancel2 := context.WithCancel(context.Background())
	r := &cancelingReader{left: 8 << 20, cancelAt: 1 << 20, cancel: cancel2}
	if _, err := b.Put(ctx2, "midway", r, storage.PutOptions{}); err == nil {
		t.Error("Put whose context ended mid-stream succeeded")
	}
	if _, err := b.Stat(context.Background(), "midway"); eusaas.KindOf(err) != eusaas.NotFound {
		t.Errorf("a Put canceled mid-stream stored an object: %v", err)
	}
}

// cancelingReader cancels its Put's context after cancelAt bytes.
type cancelingReader struct {
	left, read, cancelAt int
	cancel               func()
}

func (c *cancelingReader) Read(p []byte) (int, error) {
	if c.left == 0 {
		return 0, io.EOF
	}
	k := min(len(p), c.left)
	c.left -= k
	c.read += k
	if c.read >= c.cancelAt {
		c.cancel()
	}
	return k, nil
}

func testConcurrent(t *testing.T, h Harness) {
	b := h.New(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 4 {
				key := fmt.Sprintf("c/%d/%d", i, j)
				body := fmt.Sprintf("body %d %d", i, j)
				if _, err := b.Put(ctx, key, bytes.NewBufferString(body), storage.PutOptions{}); err != nil {
					errs <- err
					return
				}
				// Everyone also replaces one shared key: readers see one whole version.
				if _, err := b.Put(ctx, "c/shared", bytes.NewBufferString(body), storage.PutOptions{}); err != nil {
					errs <- err
					return
				}
				rc, _, err := b.Get(ctx, "c/shared")
				if err != nil {
					errs <- err
					return
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					errs <- err
					return
				}
				if !bytes.HasPrefix(got, []byte("body ")) || len(got) != len(body) {
					errs <- fmt.Errorf("torn read of the shared key: %q", got)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	list, err := b.List(ctx, "c/")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 8*4+1 {
		t.Errorf("List = %d objects, want %d", len(list), 8*4+1)
	}
}

func testRetention(t *testing.T, h Harness) {
	b := h.New(t)
	ctx := context.Background()
	until := time.Now().Add(time.Hour).Truncate(time.Second)
	_, err := b.Put(ctx, "locked/cp", bytes.NewBufferString("checkpoint"), storage.PutOptions{RetainUntil: until, RetentionMode: storage.Governance})
	if !b.Features().Retention {
		wantKind(t, "Put with retention on an adapter without it", err, eusaas.FailedPrecondition)
		if _, err := b.Stat(ctx, "locked/cp"); eusaas.KindOf(err) != eusaas.NotFound {
			t.Errorf("a refused retention Put stored the object: %v", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	st, err := b.Stat(ctx, "locked/cp")
	if err != nil {
		t.Fatal(err)
	}
	if !st.RetainUntil.Equal(until) {
		t.Errorf("Stat RetainUntil = %v, want %v", st.RetainUntil, until)
	}
	wantKind(t, "Delete of a locked object", b.Delete(ctx, "locked/cp"), eusaas.FailedPrecondition)
	if body, _ := read(t, b, "locked/cp"); body != "checkpoint" {
		t.Errorf("locked object after refused delete = %q", body)
	}
	// An unlocked neighbour deletes as usual.
	put(t, b, "locked/free", "x")
	if err := b.Delete(ctx, "locked/free"); err != nil {
		t.Errorf("Delete of an unlocked object: %v", err)
	}
}

func testEncryption(t *testing.T, h Harness) {
	b := h.New(t)
	put(t, b, "secret", "personal data")
	st, err := b.Stat(context.Background(), "secret")
	if err != nil {
		t.Fatal(err)
	}
	if st.Encrypted != b.Features().Encryption {
		t.Errorf("Stat Encrypted = %v, adapter Features().Encryption = %v", st.Encrypted, b.Features().Encryption)
	}
}
