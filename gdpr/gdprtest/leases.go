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

// RunLeases checks a gdpr.LeaseStore (Stores.Leases; skipped when nil).
func RunLeases(t *testing.T, h Harness) {
	ctx := context.Background()
	acquire := func(t *testing.T, s gdpr.LeaseStore, id, owner string, now, until time.Time, want bool) {
		t.Helper()
		ok, err := s.AcquireLease(ctx, id, owner, now, until)
		must(t, err)
		if ok != want {
			t.Fatalf("AcquireLease(%q at %v) = %v, want %v", owner, now, ok, want)
		}
	}
	lease := func(t *testing.T, s gdpr.LeaseStore, id string) gdpr.Lease {
		t.Helper()
		l, err := s.Lease(ctx, id)
		must(t, err)
		return l
	}
	fresh := func(t *testing.T) gdpr.LeaseStore {
		s := h.New(t)
		if s.Leases == nil {
			t.Skip("adapter without leases")
		}
		return s.Leases
	}

	t.Run("AcquireRenewExpire", func(t *testing.T) {
		s := fresh(t)
		id := uuid.NewString()
		_, err := s.Lease(ctx, id)
		kindOf(t, err, eusaas.NotFound)
		acquire(t, s, id, "a", t0, t0.Add(15*time.Second), true)
		diff(t, gdpr.Lease{RequestID: id, Owner: "a", Until: t0.Add(15 * time.Second)}, lease(t, s, id))
		// Held: another owner and a queue marker are refused; the holder renews.
		acquire(t, s, id, "b", t0.Add(time.Second), t0.Add(16*time.Second), false)
		acquire(t, s, id, "", t0.Add(time.Second), t0.Add(time.Minute), false)
		acquire(t, s, id, "a", t0.Add(5*time.Second), t0.Add(20*time.Second), true)
		diff(t, t0.Add(20*time.Second), lease(t, s, id).Until)
		// Expired (Until not after now): anyone takes it over.
		acquire(t, s, id, "b", t0.Add(20*time.Second), t0.Add(35*time.Second), true)
		diff(t, "b", lease(t, s, id).Owner)
		// The previous owner's renewal and release no longer touch it.
		acquire(t, s, id, "a", t0.Add(21*time.Second), t0.Add(36*time.Second), false)
		must(t, s.ReleaseLease(ctx, id, "a", time.Time{}))
		diff(t, "b", lease(t, s, id).Owner)
		must(t, s.ReleaseLease(ctx, id, "b", time.Time{}))
		_, err = s.Lease(ctx, id)
		kindOf(t, err, eusaas.NotFound)
	})

	t.Run("QueueMarker", func(t *testing.T) {
		s := fresh(t)
		id := uuid.NewString()
		acquire(t, s, id, "", t0, t0.Add(time.Minute), true)
		diff(t, gdpr.Lease{RequestID: id, Until: t0.Add(time.Minute)}, lease(t, s, id))
		// A second marker waits for the first to expire; a run takes the marker over.
		acquire(t, s, id, "", t0.Add(time.Second), t0.Add(2*time.Minute), false)
		acquire(t, s, id, "run", t0.Add(time.Second), t0.Add(16*time.Second), true)
		// Released after a failure: a marker until the given time.
		must(t, s.ReleaseLease(ctx, id, "run", t0.Add(time.Hour)))
		diff(t, gdpr.Lease{RequestID: id, Until: t0.Add(time.Hour)}, lease(t, s, id))
		acquire(t, s, id, "", t0.Add(time.Minute), t0.Add(2*time.Minute), false)
		acquire(t, s, id, "", t0.Add(time.Hour), t0.Add(2*time.Hour), true)
	})

	t.Run("Independent", func(t *testing.T) {
		s := fresh(t)
		a, b := uuid.NewString(), uuid.NewString()
		acquire(t, s, a, "x", t0, t0.Add(time.Minute), true)
		acquire(t, s, b, "y", t0, t0.Add(time.Minute), true)
		diff(t, "x", lease(t, s, a).Owner)
		diff(t, "y", lease(t, s, b).Owner)
	})

	t.Run("TxRollback", func(t *testing.T) {
		st := h.New(t)
		if st.Leases == nil || !h.Features.Transactions {
			t.Skip("adapter without leases or transactions")
		}
		id := uuid.NewString()
		boom := errors.New("boom")
		err := st.Tx.InTx(ctx, func(ctx context.Context) error {
			ok, err := st.Leases.AcquireLease(ctx, id, "", t0, t0.Add(time.Minute))
			must(t, err)
			if !ok {
				t.Fatal("marker refused")
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx: %v", err)
		}
		_, err = st.Leases.Lease(ctx, id)
		kindOf(t, err, eusaas.NotFound)
	})
}
