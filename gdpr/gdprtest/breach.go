package gdprtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

func newBreach(at time.Time, tenants ...eusaas.TenantID) gdpr.Breach {
	return gdpr.Breach{ID: uuid.NewString(), Version: 1, DetectedAt: at, Description: "laptop lost", Categories: []string{"e-mail", "name"},
		AffectedTenants: tenants, ApproxSubjects: 120, Measures: "remote wipe", NotifyAuthorityBy: at.Add(gdpr.BreachWindow),
		Status: gdpr.BreachOpen, RecordedAt: at.Add(time.Hour), RecordedBy: "operator:op"}
}

// RunBreaches checks a gdpr.BreachStore (Stores.Breaches): round trip, optimistic
// concurrency, order, the overdue count, cancellation and rollback. Skipped when the
// adapter has no breach register.
func RunBreaches(t *testing.T, h Harness) {
	ctx := context.Background()
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
	fresh := func(t *testing.T) Stores {
		s := h.New(t)
		if s.Breaches == nil {
			t.Skip("adapter without a breach register")
		}
		return s
	}

	t.Run("RoundTrip", func(t *testing.T) {
		s := fresh(t)
		br := newBreach(t0, a, b)
		must(t, s.Breaches.CreateBreach(ctx, br))
		kindOf(t, s.Breaches.CreateBreach(ctx, br), eusaas.AlreadyExists)
		got, err := s.Breaches.Breach(ctx, br.ID)
		must(t, err)
		diff(t, br, got)
		stale := br
		br.Status, br.NotifiedAt = gdpr.BreachNotified, t0.Add(24*time.Hour)
		must(t, s.Breaches.UpdateBreach(ctx, &br))
		diff(t, int64(2), br.Version)
		got, err = s.Breaches.Breach(ctx, br.ID)
		must(t, err)
		diff(t, br, got)
		kindOf(t, s.Breaches.UpdateBreach(ctx, &stale), eusaas.Aborted)
		missing := newBreach(t0)
		kindOf(t, s.Breaches.UpdateBreach(ctx, &missing), eusaas.NotFound)
		_, err = s.Breaches.Breach(ctx, uuid.NewString())
		kindOf(t, err, eusaas.NotFound)
	})

	t.Run("ListAndOverdue", func(t *testing.T) {
		s := fresh(t)
		old, recent, notified := newBreach(t0.Add(-96*time.Hour), a), newBreach(t0.Add(-time.Hour)), newBreach(t0.Add(-100*time.Hour), b)
		notified.Status, notified.NotifiedAt = gdpr.BreachNotified, t0.Add(-50*time.Hour)
		for _, br := range []gdpr.Breach{old, recent, notified} {
			must(t, s.Breaches.CreateBreach(ctx, br))
		}
		got, err := s.Breaches.Breaches(ctx)
		must(t, err)
		var ids []string
		for _, br := range got {
			ids = append(ids, br.ID)
		}
		diff(t, []string{recent.ID, old.ID, notified.ID}, ids)
		n, err := s.Breaches.CountBreachesOverdue(ctx, t0)
		must(t, err)
		diff(t, 1, n)
		n, err = s.Breaches.CountBreachesOverdue(ctx, t0.Add(72*time.Hour))
		must(t, err)
		diff(t, 2, n)
	})

	t.Run("ContextCanceled", func(t *testing.T) {
		s := fresh(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.Breaches.CreateBreach(cctx, newBreach(t0)); err == nil {
			t.Fatal("CreateBreach with a canceled context succeeded")
		}
	})

	t.Run("TxRollback", func(t *testing.T) {
		if !h.Features.Transactions {
			t.Skip("adapter without transactions")
		}
		s := fresh(t)
		br := newBreach(t0, a)
		boom := errors.New("boom")
		err := s.Tx.InTx(ctx, func(ctx context.Context) error {
			must(t, s.Breaches.CreateBreach(ctx, br))
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx: %v", err)
		}
		_, err = s.Breaches.Breach(ctx, br.ID)
		kindOf(t, err, eusaas.NotFound)
	})
}
