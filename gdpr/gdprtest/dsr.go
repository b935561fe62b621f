package gdprtest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

func newDSR(tenant eusaas.TenantID, typ gdpr.DSRType, at time.Time) gdpr.DSR {
	id, _ := uuid.NewV7()
	return gdpr.DSR{ID: id.String(), Version: 1, TenantID: tenant, Type: typ, Status: gdpr.DSRReceived, SubjectID: "u1",
		Email: "u1@example.eu", ReceivedAt: at, DueAt: gdpr.DueDate(at),
		Timeline: []gdpr.DSREvent{{At: at, Event: gdpr.EventReceived, Status: gdpr.DSRReceived, Actor: "user:a"}}}
}

func dsrIDs(ds []gdpr.DSR) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

// RunDSRs checks a gdpr.DSRStore (Stores.DSRs): round trip of every field, optimistic
// concurrency, the filters and cursor of ListDSRs, OpenDSRsByJob, the deadline counts,
// tenant isolation, cancellation, concurrent creation and rollback. Skipped when the
// adapter has no DSR store.
func RunDSRs(t *testing.T, h Harness) {
	ctx := context.Background()
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
	fresh := func(t *testing.T) Stores {
		s := h.New(t)
		if s.DSRs == nil {
			t.Skip("adapter without a DSR store")
		}
		return s
	}

	t.Run("RoundTrip", func(t *testing.T) {
		s := fresh(t)
		d := newDSR(a, gdpr.DSRAccess, t0)
		d.Details, d.Format = "all my data", gdpr.FormatCSV
		must(t, s.DSRs.CreateDSR(ctx, d))
		kindOf(t, s.DSRs.CreateDSR(ctx, d), eusaas.AlreadyExists)
		got, err := s.DSRs.DSR(ctx, a, d.ID)
		must(t, err)
		diff(t, d, got)

		d.Status, d.ExtendedDueAt, d.ExtensionReason = gdpr.DSRCompleted, gdpr.Deadline(t0, 3), "complex"
		d.IdentityVerifiedAt, d.IdentityVerifiedBy, d.IdentityMethod = t0.Add(time.Hour), "user:b", "video call"
		d.CompletedAt, d.Outcome, d.RejectionReason, d.JobID = t0.Add(48*time.Hour), "done", "", uuid.NewString()
		d.Counts = map[string]int{"users": 1}
		d.Timeline = append(d.Timeline, gdpr.DSREvent{At: t0.Add(time.Hour), Event: gdpr.EventCompleted, Status: gdpr.DSRCompleted, Note: "n"})
		// The evidence is kept byte for byte, key order included (its signature covers the
		// exact bytes; a jsonb column would reorder them). It is compact JSON, as signed.
		d.Evidence = &gdpr.SignedEvidence{Evidence: []byte(`{"z":1,"a":"\u003cb\u003e"}`), Algorithm: "Ed25519", Signature: "sig", PublicKey: "pk"}
		must(t, s.DSRs.UpdateDSR(ctx, &d))
		diff(t, int64(2), d.Version)
		got, err = s.DSRs.DSR(ctx, a, d.ID)
		must(t, err)
		diff(t, d, got)

		missing := newDSR(a, gdpr.DSRAccess, t0)
		kindOf(t, s.DSRs.UpdateDSR(ctx, &missing), eusaas.NotFound)
		_, err = s.DSRs.DSR(ctx, a, uuid.NewString())
		kindOf(t, err, eusaas.NotFound)
	})

	t.Run("OptimisticConcurrency", func(t *testing.T) {
		s := fresh(t)
		d := newDSR(a, gdpr.DSRErasure, t0)
		must(t, s.DSRs.CreateDSR(ctx, d))
		first, second := d, d
		first.Status = gdpr.DSRInProgress
		must(t, s.DSRs.UpdateDSR(ctx, &first))
		second.Status = gdpr.DSRRejected
		kindOf(t, s.DSRs.UpdateDSR(ctx, &second), eusaas.Aborted)
		diff(t, int64(1), second.Version)
		got, err := s.DSRs.DSR(ctx, a, d.ID)
		must(t, err)
		diff(t, gdpr.DSRInProgress, got.Status)
	})

	t.Run("ListFilters", func(t *testing.T) {
		s := fresh(t)
		open := newDSR(a, gdpr.DSRAccess, t0)
		late := newDSR(a, gdpr.DSRErasure, t0.Add(-60*24*time.Hour)) // due a month before t0
		done := newDSR(a, gdpr.DSRErasure, t0.Add(-60*24*time.Hour))
		done.Status = gdpr.DSRCompleted
		extended := newDSR(a, gdpr.DSRObjection, t0.Add(-40*24*time.Hour))
		extended.Status, extended.ExtendedDueAt = gdpr.DSRExtended, gdpr.Deadline(extended.ReceivedAt, 3)
		all := []gdpr.DSR{open, late, done, extended}
		for _, d := range all {
			must(t, s.DSRs.CreateDSR(ctx, d))
		}
		must(t, s.DSRs.CreateDSR(ctx, newDSR(b, gdpr.DSRAccess, t0)))
		list := func(f gdpr.DSRFilter) []string {
			t.Helper()
			ds, err := s.DSRs.ListDSRs(ctx, a, f)
			must(t, err)
			return dsrIDs(ds)
		}
		diff(t, dsrIDs(all), list(gdpr.DSRFilter{}))
		diff(t, []string{late.ID, done.ID}, list(gdpr.DSRFilter{Type: gdpr.DSRErasure}))
		diff(t, []string{done.ID}, list(gdpr.DSRFilter{Type: gdpr.DSRErasure, Status: gdpr.DSRCompleted}))
		diff(t, []string{extended.ID}, list(gdpr.DSRFilter{Status: gdpr.DSRExtended}))
		// Overdue: open past the deadline in force (the extended one counts once extended).
		diff(t, []string{late.ID}, list(gdpr.DSRFilter{OverdueAt: t0}))
		diff(t, []string{late.ID}, list(gdpr.DSRFilter{OverdueAt: open.DueAt}))
		diff(t, []string{open.ID, late.ID, extended.ID}, list(gdpr.DSRFilter{OverdueAt: extended.ExtendedDueAt.Add(time.Second)}))
		// Cursor and limit page through in id order.
		diff(t, []string{open.ID, late.ID}, list(gdpr.DSRFilter{Limit: 2}))
		diff(t, []string{done.ID, extended.ID}, list(gdpr.DSRFilter{After: late.ID, Limit: 2}))
		diff(t, []string{}, list(gdpr.DSRFilter{After: extended.ID}))
	})

	t.Run("OpenByJob", func(t *testing.T) {
		s := fresh(t)
		job := uuid.NewString()
		d1, d2, closed := newDSR(a, gdpr.DSRErasure, t0), newDSR(a, gdpr.DSRErasure, t0), newDSR(a, gdpr.DSRErasure, t0)
		d1.JobID, d2.JobID, closed.JobID = job, job, job
		closed.Status = gdpr.DSRCompleted
		other := newDSR(b, gdpr.DSRErasure, t0)
		other.JobID = job
		for _, d := range []gdpr.DSR{d1, d2, closed, other, newDSR(a, gdpr.DSRAccess, t0)} {
			must(t, s.DSRs.CreateDSR(ctx, d))
		}
		ds, err := s.DSRs.OpenDSRsByJob(ctx, a, job)
		must(t, err)
		diff(t, []string{d1.ID, d2.ID}, dsrIDs(ds))
		ds, err = s.DSRs.OpenDSRsByJob(ctx, a, uuid.NewString())
		must(t, err)
		diff(t, 0, len(ds))
	})

	t.Run("CountDeadlines", func(t *testing.T) {
		s := fresh(t)
		now := t0.Add(40 * 24 * time.Hour)
		soon := now.Add(7 * 24 * time.Hour)
		late := newDSR(a, gdpr.DSRAccess, t0)                           // due t0+1 month: overdue
		lateB := newDSR(b, gdpr.DSRAccess, t0)                          // another tenant: counted too
		dueSoon := newDSR(a, gdpr.DSRAccess, now.Add(-26*24*time.Hour)) // due in about 4-5 days
		later := newDSR(a, gdpr.DSRAccess, now)                         // due in a month
		closedLate := newDSR(a, gdpr.DSRAccess, t0)                     // closed: not counted
		extended := newDSR(a, gdpr.DSRAccess, t0.Add(-10*24*time.Hour)) // extended: due months later
		closedLate.Status, extended.ExtendedDueAt = gdpr.DSRRejected, gdpr.Deadline(extended.ReceivedAt, 3)
		for _, d := range []gdpr.DSR{late, lateB, dueSoon, later, closedLate, extended} {
			must(t, s.DSRs.CreateDSR(ctx, d))
		}
		overdue, due, err := s.DSRs.CountDSRDeadlines(ctx, now, soon)
		must(t, err)
		diff(t, [2]int{2, 1}, [2]int{overdue, due})
	})

	t.Run("TenantIsolation", func(t *testing.T) {
		s := fresh(t)
		d := newDSR(a, gdpr.DSRAccess, t0)
		d.JobID = uuid.NewString()
		must(t, s.DSRs.CreateDSR(ctx, d))
		_, err := s.DSRs.DSR(ctx, b, d.ID)
		kindOf(t, err, eusaas.NotFound)
		other := d
		other.TenantID = b
		kindOf(t, s.DSRs.UpdateDSR(ctx, &other), eusaas.NotFound)
		ds, err := s.DSRs.ListDSRs(ctx, b, gdpr.DSRFilter{})
		must(t, err)
		diff(t, 0, len(ds))
		ds, err = s.DSRs.OpenDSRsByJob(ctx, b, d.JobID)
		must(t, err)
		diff(t, 0, len(ds))
	})

	t.Run("ContextCanceled", func(t *testing.T) {
		s := fresh(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.DSRs.CreateDSR(cctx, newDSR(a, gdpr.DSRAccess, t0)); err == nil {
			t.Fatal("CreateDSR with a canceled context succeeded")
		}
		if _, err := s.DSRs.ListDSRs(cctx, a, gdpr.DSRFilter{}); err == nil {
			t.Fatal("ListDSRs with a canceled context succeeded")
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		s := fresh(t)
		d := newDSR(a, gdpr.DSRAccess, t0)
		must(t, s.DSRs.CreateDSR(ctx, d))
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := d
				c.Outcome = "run"
				err := s.DSRs.UpdateDSR(ctx, &c)
				if err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				} else if eusaas.KindOf(err) != eusaas.Aborted {
					t.Errorf("UpdateDSR: %v", err)
				}
				if err := s.DSRs.CreateDSR(ctx, newDSR(a, gdpr.DSRErasure, t0)); err != nil {
					t.Errorf("CreateDSR: %v", err)
				}
			}()
		}
		wg.Wait()
		diff(t, 1, wins)
		ds, err := s.DSRs.ListDSRs(ctx, a, gdpr.DSRFilter{})
		must(t, err)
		diff(t, 9, len(ds))
	})

	t.Run("TxRollback", func(t *testing.T) {
		if !h.Features.Transactions {
			t.Skip("adapter without transactions")
		}
		s := fresh(t)
		d := newDSR(a, gdpr.DSRAccess, t0)
		must(t, s.DSRs.CreateDSR(ctx, d))
		boom := errors.New("boom")
		fresh := newDSR(a, gdpr.DSRErasure, t0)
		err := s.Tx.InTx(ctx, func(ctx context.Context) error {
			must(t, s.DSRs.CreateDSR(ctx, fresh))
			c := d
			c.Status = gdpr.DSRRejected
			must(t, s.DSRs.UpdateDSR(ctx, &c))
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx: %v", err)
		}
		_, err = s.DSRs.DSR(ctx, a, fresh.ID)
		kindOf(t, err, eusaas.NotFound)
		got, err := s.DSRs.DSR(ctx, a, d.ID)
		must(t, err)
		diff(t, d, got)
	})
}
