package gdprtest

import (
	"context"
	"io"
	"testing"

	"github.com/eusaas/eusaas"
)

// RunArchives checks a gdpr.ArchiveStore (Stores.Archives).
func RunArchives(t *testing.T, h Harness) {
	ctx := context.Background()
	a := eusaas.NewTenantID()

	t.Run("WriteCommitAbortDelete", func(t *testing.T) {
		s := h.New(t)
		name := "exports/" + a.String() + "/x.zip"
		w, err := s.Archives.Create(ctx, name)
		must(t, err)
		_, err = w.Write([]byte("hello"))
		must(t, err)
		_, _, err = s.Archives.Open(ctx, name)
		kindOf(t, err, eusaas.NotFound) // invisible before Commit
		must(t, w.Commit())
		rc, n, err := s.Archives.Open(ctx, name)
		must(t, err)
		body, _ := io.ReadAll(rc)
		rc.Close()
		diff(t, "hello", string(body))
		diff(t, int64(5), n)
		w, err = s.Archives.Create(ctx, name)
		must(t, err)
		_, _ = w.Write([]byte("discarded"))
		must(t, w.Abort())
		rc, _, err = s.Archives.Open(ctx, name)
		must(t, err)
		body, _ = io.ReadAll(rc)
		rc.Close()
		diff(t, "hello", string(body))
		must(t, s.Archives.Delete(ctx, name))
		must(t, s.Archives.Delete(ctx, name))
		_, _, err = s.Archives.Open(ctx, name)
		kindOf(t, err, eusaas.NotFound)
	})

	t.Run("ContextCanceled", func(t *testing.T) {
		s := h.New(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Archives.Create(cctx, "x/y"); err == nil {
			t.Fatal("Archives.Create with a canceled context succeeded")
		}
	})
}
