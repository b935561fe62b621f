package gdprtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

// RunRequests checks a gdpr.RequestStore (Stores.Requests): round trip, optimistic
// concurrency, one tenant erasure per tenant, the queries jobs use, tenant isolation,
// cancellation and concurrent creation.
func RunRequests(t *testing.T, h Harness) {
	ctx := context.Background()
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()

	t.Run("RequestRoundTrip", func(t *testing.T) {
		s := h.New(t)
		r := newReq(a, gdpr.KindExport, t0)
		r.Format, r.Subjects, r.IncludeAuditLogs = gdpr.FormatCSV, []string{"s1", "s2"}, true
		must(t, s.Requests.CreateRequest(ctx, r))
		kindOf(t, s.Requests.CreateRequest(ctx, r), eusaas.AlreadyExists)
		got, err := s.Requests.Request(ctx, a, r.ID)
		must(t, err)
		diff(t, r, got)

		r.Status, r.Progress, r.CompletedAt, r.ExpiresAt = gdpr.StatusCompleted, 100, t0.Add(time.Minute), t0.Add(72*time.Hour)
		r.Archive, r.ArchiveSHA256, r.Counts = "exports/x.zip", "abc", map[string]int{"users": 3}
		r.Steps = []gdpr.StepState{{Step: 1, Name: "freeze_tenant", Done: true, DoneAt: t0, Counts: map[string]int{"x": 1}}}
		r.Backup = &gdpr.BackupInfo{Archive: "b", Cipher: "AES-256-GCM", KeyID: "k", SHA256: "s", DestroyAfter: t0}
		r.AuditEntries = []gdpr.CertifiedEntry{{Action: "A", RecordedAt: t0, Hash: "h"}}
		r.Certificate = &gdpr.SignedCertificate{Certificate: []byte(`{"a":1}`), Algorithm: "Ed25519", Signature: "sig", PublicKey: "pk"}
		must(t, s.Requests.UpdateRequest(ctx, &r))
		diff(t, int64(2), r.Version)
		got, err = s.Requests.Request(ctx, a, r.ID)
		must(t, err)
		diff(t, r, got)

		missing := newReq(a, gdpr.KindExport, t0)
		kindOf(t, s.Requests.UpdateRequest(ctx, &missing), eusaas.NotFound)
		_, err = s.Requests.Request(ctx, a, uuid.NewString())
		kindOf(t, err, eusaas.NotFound)
	})

	t.Run("OptimisticConcurrency", func(t *testing.T) {
		s := h.New(t)
		r := newReq(a, gdpr.KindTenantErasure, t0)
		must(t, s.Requests.CreateRequest(ctx, r))
		first, second := r, r // two runs read version 1
		first.Progress = 10
		must(t, s.Requests.UpdateRequest(ctx, &first))
		second.Progress = 20
		kindOf(t, s.Requests.UpdateRequest(ctx, &second), eusaas.Aborted)
		diff(t, int64(1), second.Version)
		got, err := s.Requests.TenantErasure(ctx, a)
		must(t, err)
		diff(t, 10, got.Progress)
		diff(t, int64(2), got.Version)
		got.Progress = 30
		must(t, s.Requests.UpdateRequest(ctx, &got))
		diff(t, int64(3), got.Version)
	})

	t.Run("TenantErasureUnique", func(t *testing.T) {
		s := h.New(t)
		_, err := s.Requests.TenantErasure(ctx, a)
		kindOf(t, err, eusaas.NotFound)
		r := newReq(a, gdpr.KindTenantErasure, t0)
		must(t, s.Requests.CreateRequest(ctx, r))
		kindOf(t, s.Requests.CreateRequest(ctx, newReq(a, gdpr.KindTenantErasure, t0)), eusaas.AlreadyExists)
		got, err := s.Requests.TenantErasure(ctx, a)
		must(t, err)
		diff(t, r.ID, got.ID)
		must(t, s.Requests.CreateRequest(ctx, newReq(b, gdpr.KindTenantErasure, t0)))
	})

	t.Run("SubjectErasureLatestNotFailed", func(t *testing.T) {
		s := h.New(t)
		failed := newReq(a, gdpr.KindSubjectErasure, t0)
		failed.SubjectID, failed.Status = "subj", gdpr.StatusFailed
		must(t, s.Requests.CreateRequest(ctx, failed))
		_, err := s.Requests.SubjectErasure(ctx, a, "subj")
		kindOf(t, err, eusaas.NotFound)
		ok := newReq(a, gdpr.KindSubjectErasure, t0.Add(time.Second))
		ok.SubjectID = "subj"
		must(t, s.Requests.CreateRequest(ctx, ok))
		got, err := s.Requests.SubjectErasure(ctx, a, "subj")
		must(t, err)
		diff(t, ok.ID, got.ID)
		_, err = s.Requests.SubjectErasure(ctx, a, "other")
		kindOf(t, err, eusaas.NotFound)
	})

	t.Run("QueriesForJobs", func(t *testing.T) {
		s := h.New(t)
		pending := newReq(a, gdpr.KindExport, t0)
		processing := newReq(b, gdpr.KindExport, t0.Add(time.Second))
		processing.Status = gdpr.StatusProcessing
		done := newReq(a, gdpr.KindExport, t0.Add(2*time.Second))
		done.Status, done.ExpiresAt = gdpr.StatusCompleted, t0.Add(72*time.Hour)
		later := newReq(a, gdpr.KindExport, t0.Add(3*time.Second))
		later.Status, later.ExpiresAt = gdpr.StatusCompleted, t0.Add(100*time.Hour)
		erasure := newReq(a, gdpr.KindSubjectErasure, t0)
		erasure.SubjectID = "x"
		for _, r := range []gdpr.Request{pending, processing, done, later, erasure} {
			must(t, s.Requests.CreateRequest(ctx, r))
		}
		un, err := s.Requests.Unfinished(ctx, gdpr.KindExport)
		must(t, err)
		diff(t, []string{pending.ID, processing.ID}, ids(un))
		exp, err := s.Requests.ExpiredExports(ctx, t0.Add(72*time.Hour))
		must(t, err)
		diff(t, []string{done.ID}, ids(exp))
		n, err := s.Requests.CountOverdue(ctx, t0.AddDate(0, 1, 1))
		must(t, err)
		diff(t, 3, n) // pending, processing, the erasure; completed ones are not overdue
		n, err = s.Requests.CountOverdue(ctx, t0)
		must(t, err)
		diff(t, 0, n)
		ex, err := s.Requests.Exports(ctx, a)
		must(t, err)
		diff(t, []string{pending.ID, done.ID, later.ID}, ids(ex)) // a's exports only, every status, oldest first
		ex, err = s.Requests.Exports(ctx, eusaas.NewTenantID())
		must(t, err)
		diff(t, 0, len(ex))
	})

	t.Run("TenantIsolation", func(t *testing.T) {
		s := h.New(t)
		r := newReq(a, gdpr.KindExport, t0)
		must(t, s.Requests.CreateRequest(ctx, r))
		_, err := s.Requests.Request(ctx, b, r.ID)
		kindOf(t, err, eusaas.NotFound)
		other := r
		other.TenantID = b
		kindOf(t, s.Requests.UpdateRequest(ctx, &other), eusaas.NotFound)
		se := newReq(a, gdpr.KindSubjectErasure, t0)
		se.SubjectID = "s"
		must(t, s.Requests.CreateRequest(ctx, se))
		_, err = s.Requests.SubjectErasure(ctx, b, "s")
		kindOf(t, err, eusaas.NotFound)
	})

	t.Run("ContextCanceled", func(t *testing.T) {
		s := h.New(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.Requests.CreateRequest(cctx, newReq(a, gdpr.KindExport, t0)); err == nil {
			t.Fatal("CreateRequest with a canceled context succeeded")
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		s := h.New(t)
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		wins := make(chan struct{}, 20)
		for i := 0; i < 20; i++ {
			wg.Add(2)
			go func() {
				defer wg.Done()
				errs <- s.Requests.CreateRequest(ctx, newReq(a, gdpr.KindExport, t0))
			}()
			go func() {
				defer wg.Done()
				// Only one tenant erasure may win.
				if err := s.Requests.CreateRequest(ctx, newReq(b, gdpr.KindTenantErasure, t0)); err == nil {
					wins <- struct{}{}
				} else if eusaas.KindOf(err) != eusaas.AlreadyExists {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		close(wins)
		for err := range errs {
			must(t, err)
		}
		diff(t, 1, len(wins))
		un, err := s.Requests.Unfinished(ctx, gdpr.KindExport)
		must(t, err)
		diff(t, 20, len(un))
	})
}

func ids(rs []gdpr.Request) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}
