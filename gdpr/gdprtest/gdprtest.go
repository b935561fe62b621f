// Package gdprtest is the conformance suite of the gdpr ports (Store, KeyStore,
// ArchiveStore). Adapter authors run it from a test:
//
//	func TestConformance(t *testing.T) { gdprtest.Run(t, gdprtest.Harness{New: ...}) }
package gdprtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

// Stores is one fresh set of adapters.
type Stores struct {
	Store    gdpr.Store
	Keys     gdpr.KeyStore
	Archives gdpr.ArchiveStore
	// Tx is the TxRunner the Store and Keys take part in (nil without transactions).
	Tx eusaas.TxRunner
}

// Features are optional behaviours.
type Features struct {
	// Transactions: writes through Tx roll back with it.
	Transactions bool
}

// Harness makes fresh stores for each subtest.
type Harness struct {
	New      func(t *testing.T) Stores
	Features Features
}

// base time, at microsecond precision (what Postgres keeps).
var t0 = time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)

func newReq(tenant eusaas.TenantID, kind gdpr.Kind, at time.Time) gdpr.Request {
	return gdpr.Request{ID: uuid.NewString(), Version: 1, TenantID: tenant, Kind: kind, Status: gdpr.StatusPending,
		RequestedAt: at, DueAt: gdpr.DueDate(at), RequestedBy: eusaas.Actor{Kind: eusaas.ActorUser, ID: "u1", TenantID: tenant}}
}

func kindOf(t *testing.T, err error, want eusaas.Kind) {
	t.Helper()
	if err == nil || eusaas.KindOf(err) != want {
		t.Fatalf("error %v: want kind %v", err, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func diff(t *testing.T, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("mismatch (-want +got):\n%s", d)
	}
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	ctx := context.Background()
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()

	t.Run("RequestRoundTrip", func(t *testing.T) {
		s := h.New(t)
		r := newReq(a, gdpr.KindExport, t0)
		r.Format, r.Subjects, r.IncludeAuditLogs = gdpr.FormatCSV, []string{"s1", "s2"}, true
		must(t, s.Store.CreateRequest(ctx, r))
		kindOf(t, s.Store.CreateRequest(ctx, r), eusaas.AlreadyExists)
		got, err := s.Store.Request(ctx, a, r.ID)
		must(t, err)
		diff(t, r, got)

		r.Status, r.Progress, r.CompletedAt, r.ExpiresAt = gdpr.StatusCompleted, 100, t0.Add(time.Minute), t0.Add(72*time.Hour)
		r.Archive, r.ArchiveSHA256, r.Counts = "exports/x.zip", "abc", map[string]int{"users": 3}
		r.Steps = []gdpr.StepState{{Step: 1, Name: "freeze_tenant", Done: true, DoneAt: t0, Counts: map[string]int{"x": 1}}}
		r.Backup = &gdpr.BackupInfo{Archive: "b", Cipher: "AES-256-GCM", KeyID: "k", SHA256: "s", DestroyAfter: t0}
		r.AuditEntries = []gdpr.CertifiedEntry{{Action: "A", RecordedAt: t0, Hash: "h"}}
		r.Certificate = &gdpr.SignedCertificate{Certificate: []byte(`{"a":1}`), Algorithm: "Ed25519", Signature: "sig", PublicKey: "pk"}
		must(t, s.Store.UpdateRequest(ctx, &r))
		diff(t, int64(2), r.Version)
		got, err = s.Store.Request(ctx, a, r.ID)
		must(t, err)
		diff(t, r, got)

		missing := newReq(a, gdpr.KindExport, t0)
		kindOf(t, s.Store.UpdateRequest(ctx, &missing), eusaas.NotFound)
		_, err = s.Store.Request(ctx, a, uuid.NewString())
		kindOf(t, err, eusaas.NotFound)
	})

	t.Run("OptimisticConcurrency", func(t *testing.T) {
		s := h.New(t)
		r := newReq(a, gdpr.KindTenantErasure, t0)
		must(t, s.Store.CreateRequest(ctx, r))
		first, second := r, r // two runs read version 1
		first.Progress = 10
		must(t, s.Store.UpdateRequest(ctx, &first))
		second.Progress = 20
		kindOf(t, s.Store.UpdateRequest(ctx, &second), eusaas.Aborted)
		diff(t, int64(1), second.Version)
		got, err := s.Store.TenantErasure(ctx, a)
		must(t, err)
		diff(t, 10, got.Progress)
		diff(t, int64(2), got.Version)
		got.Progress = 30
		must(t, s.Store.UpdateRequest(ctx, &got))
		diff(t, int64(3), got.Version)
	})

	t.Run("TenantErasureUnique", func(t *testing.T) {
		s := h.New(t)
		_, err := s.Store.TenantErasure(ctx, a)
		kindOf(t, err, eusaas.NotFound)
		r := newReq(a, gdpr.KindTenantErasure, t0)
		must(t, s.Store.CreateRequest(ctx, r))
		kindOf(t, s.Store.CreateRequest(ctx, newReq(a, gdpr.KindTenantErasure, t0)), eusaas.AlreadyExists)
		got, err := s.Store.TenantErasure(ctx, a)
		must(t, err)
		diff(t, r.ID, got.ID)
		must(t, s.Store.CreateRequest(ctx, newReq(b, gdpr.KindTenantErasure, t0)))
	})

	t.Run("SubjectErasureLatestNotFailed", func(t *testing.T) {
		s := h.New(t)
		failed := newReq(a, gdpr.KindSubjectErasure, t0)
		failed.SubjectID, failed.Status = "subj", gdpr.StatusFailed
		must(t, s.Store.CreateRequest(ctx, failed))
		_, err := s.Store.SubjectErasure(ctx, a, "subj")
		kindOf(t, err, eusaas.NotFound)
		ok := newReq(a, gdpr.KindSubjectErasure, t0.Add(time.Second))
		ok.SubjectID = "subj"
		must(t, s.Store.CreateRequest(ctx, ok))
		got, err := s.Store.SubjectErasure(ctx, a, "subj")
		must(t, err)
		diff(t, ok.ID, got.ID)
		_, err = s.Store.SubjectErasure(ctx, a, "other")
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
			must(t, s.Store.CreateRequest(ctx, r))
		}
		un, err := s.Store.Unfinished(ctx, gdpr.KindExport)
		must(t, err)
		diff(t, []string{pending.ID, processing.ID}, ids(un))
		exp, err := s.Store.ExpiredExports(ctx, t0.Add(72*time.Hour))
		must(t, err)
		diff(t, []string{done.ID}, ids(exp))
		n, err := s.Store.CountOverdue(ctx, t0.AddDate(0, 1, 1))
		must(t, err)
		diff(t, 3, n) // pending, processing, the erasure; completed ones are not overdue
		n, err = s.Store.CountOverdue(ctx, t0)
		must(t, err)
		diff(t, 0, n)
	})

	t.Run("Policy", func(t *testing.T) {
		s := h.New(t)
		_, err := s.Store.Policy(ctx, a)
		kindOf(t, err, eusaas.NotFound)
		p := gdpr.DefaultPolicy(a)
		p.UpdatedAt, p.UpdatedBy = t0, "u1"
		must(t, s.Store.PutPolicy(ctx, p))
		p.PIIRetentionDays = 10
		must(t, s.Store.PutPolicy(ctx, p))
		got, err := s.Store.Policy(ctx, a)
		must(t, err)
		diff(t, p, got)
	})

	t.Run("LegalHolds", func(t *testing.T) {
		s := h.New(t)
		h1 := gdpr.LegalHold{ID: uuid.NewString(), TenantID: a, Reason: "litigation", CreatedAt: t0, CreatedBy: "op"}
		h2 := gdpr.LegalHold{ID: uuid.NewString(), TenantID: a, Reason: "tax audit", CreatedAt: t0.Add(time.Second), CreatedBy: "op"}
		must(t, s.Store.PutHold(ctx, h1))
		must(t, s.Store.PutHold(ctx, h2))
		kindOf(t, s.Store.PutHold(ctx, h1), eusaas.AlreadyExists)
		got, err := s.Store.Holds(ctx, a)
		must(t, err)
		diff(t, []gdpr.LegalHold{h1, h2}, got)
		must(t, s.Store.DeleteHold(ctx, a, h1.ID))
		kindOf(t, s.Store.DeleteHold(ctx, a, h1.ID), eusaas.NotFound)
		got, err = s.Store.Holds(ctx, a)
		must(t, err)
		diff(t, []gdpr.LegalHold{h2}, got)
	})

	t.Run("Keys", func(t *testing.T) {
		s := h.New(t)
		_, err := s.Keys.Key(ctx, a)
		kindOf(t, err, eusaas.NotFound)
		k := gdpr.Key{TenantID: a, Material: bytes.Repeat([]byte{7}, 32), CreatedAt: t0, DestroyAfter: t0.AddDate(0, 0, 30)}
		must(t, s.Keys.CreateKey(ctx, k))
		kindOf(t, s.Keys.CreateKey(ctx, k), eusaas.AlreadyExists)
		got, err := s.Keys.Key(ctx, a)
		must(t, err)
		diff(t, k, got)
		due, err := s.Keys.DueKeys(ctx, t0.AddDate(0, 0, 29))
		must(t, err)
		diff(t, 0, len(due))
		due, err = s.Keys.DueKeys(ctx, t0.AddDate(0, 0, 30))
		must(t, err)
		diff(t, []eusaas.TenantID{a}, due)
		must(t, s.Keys.DestroyKey(ctx, a, t0.AddDate(0, 0, 31)))
		must(t, s.Keys.DestroyKey(ctx, a, t0.AddDate(0, 0, 32)))
		got, err = s.Keys.Key(ctx, a)
		must(t, err)
		if got.Material != nil || !got.DestroyedAt.Equal(t0.AddDate(0, 0, 31)) {
			t.Fatalf("destroyed key: %+v", got)
		}
		due, err = s.Keys.DueKeys(ctx, t0.AddDate(1, 0, 0))
		must(t, err)
		diff(t, 0, len(due))
	})

	t.Run("Archives", func(t *testing.T) {
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

	t.Run("TenantIsolation", func(t *testing.T) {
		s := h.New(t)
		r := newReq(a, gdpr.KindExport, t0)
		must(t, s.Store.CreateRequest(ctx, r))
		_, err := s.Store.Request(ctx, b, r.ID)
		kindOf(t, err, eusaas.NotFound)
		other := r
		other.TenantID = b
		kindOf(t, s.Store.UpdateRequest(ctx, &other), eusaas.NotFound)
		hold := gdpr.LegalHold{ID: uuid.NewString(), TenantID: a, Reason: "x", CreatedAt: t0}
		must(t, s.Store.PutHold(ctx, hold))
		kindOf(t, s.Store.DeleteHold(ctx, b, hold.ID), eusaas.NotFound)
		hs, err := s.Store.Holds(ctx, b)
		must(t, err)
		diff(t, 0, len(hs))
		must(t, s.Store.PutPolicy(ctx, gdpr.DefaultPolicy(a)))
		_, err = s.Store.Policy(ctx, b)
		kindOf(t, err, eusaas.NotFound)
		se := newReq(a, gdpr.KindSubjectErasure, t0)
		se.SubjectID = "s"
		must(t, s.Store.CreateRequest(ctx, se))
		_, err = s.Store.SubjectErasure(ctx, b, "s")
		kindOf(t, err, eusaas.NotFound)
	})

	t.Run("ContextCanceled", func(t *testing.T) {
		s := h.New(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.Store.CreateRequest(cctx, newReq(a, gdpr.KindExport, t0)); err == nil {
			t.Fatal("CreateRequest with a canceled context succeeded")
		}
		if _, err := s.Store.Holds(cctx, a); err == nil {
			t.Fatal("Holds with a canceled context succeeded")
		}
		if _, err := s.Keys.Key(cctx, a); err == nil {
			t.Fatal("Key with a canceled context succeeded")
		}
		if _, err := s.Archives.Create(cctx, "x/y"); err == nil {
			t.Fatal("Archives.Create with a canceled context succeeded")
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
				errs <- s.Store.CreateRequest(ctx, newReq(a, gdpr.KindExport, t0))
			}()
			go func() {
				defer wg.Done()
				// Only one tenant erasure may win.
				if err := s.Store.CreateRequest(ctx, newReq(b, gdpr.KindTenantErasure, t0)); err == nil {
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
		un, err := s.Store.Unfinished(ctx, gdpr.KindExport)
		must(t, err)
		diff(t, 20, len(un))
	})

	t.Run("TxRollback", func(t *testing.T) {
		if !h.Features.Transactions {
			t.Skip("adapter without transactions")
		}
		s := h.New(t)
		r := newReq(a, gdpr.KindExport, t0)
		boom := errors.New("boom")
		err := s.Tx.InTx(ctx, func(ctx context.Context) error {
			must(t, s.Store.CreateRequest(ctx, r))
			must(t, s.Store.PutPolicy(ctx, gdpr.DefaultPolicy(a)))
			must(t, s.Keys.CreateKey(ctx, gdpr.Key{TenantID: a, Material: make([]byte, 32), CreatedAt: t0, DestroyAfter: t0}))
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx: %v", err)
		}
		_, err = s.Store.Request(ctx, a, r.ID)
		kindOf(t, err, eusaas.NotFound)
		_, err = s.Store.Policy(ctx, a)
		kindOf(t, err, eusaas.NotFound)
		_, err = s.Keys.Key(ctx, a)
		kindOf(t, err, eusaas.NotFound)
	})
}

func ids(rs []gdpr.Request) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}
