// Package tenancytest is the conformance suite of the tenancy ports. An adapter proves its
// tenancy.Store with Run and its tenancy.Cache with RunCache:
//
//	func TestConformanceTenantStore(t *testing.T) {
//		tenancytest.Run(t, tenancytest.Harness{
//			NewStore: func(t *testing.T) (tenancy.Store, eusaas.TxRunner) { ... },
//			Features: tenancytest.Features{Transactions: true},
//		})
//	}
//
// Each subtest gets a fresh store from the harness. Run the suite with -race: the
// Concurrent subtests exist to be raced.
package tenancytest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/tenancy"
)

// Features reports optional abilities of the store under test.
type Features struct {
	// Transactions: the TxRunner returned by NewStore rolls back the store's writes.
	Transactions bool
}

// Harness builds stores for the suite.
type Harness struct {
	// NewStore returns a fresh, empty store and the TxRunner its writes take part in (nil
	// when Features.Transactions is false). Cleanup goes through t.Cleanup.
	NewStore func(t *testing.T) (tenancy.Store, eusaas.TxRunner)
	Features Features
}

// base is a fixed instant with microsecond precision (what Postgres keeps).
var base = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

// NewTenant returns a valid ACTIVE tenant with slug and every field set, for suites and
// adapter tests.
func NewTenant(slug string) tenancy.Tenant {
	id := eusaas.NewTenantID()
	s := tenancy.DefaultSettings()
	s.CostAlertThreshold = decimal.RequireFromString("1234.56")
	s.AnomalyMinImpact = decimal.RequireFromString("12.34")
	s.AllowSelfRegistration = true
	s.RequireEmailVerification = true
	s.MFARequired = true
	return tenancy.Tenant{
		ID: id, Name: "Org " + slug, Slug: slug, Status: tenancy.StatusActive, Tier: tenancy.TierProfessional,
		SchemaName: id.SchemaName(), Region: "eu-west-3", AdminEmail: "admin@" + slug + ".example",
		Metadata: map[string]string{"crm": "42", "note": "élan ✓"}, Settings: s,
		CreatedAt: base, UpdatedAt: base.Add(time.Second), Version: 1,
	}
}

func equal(t *testing.T, want, got tenancy.Tenant) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("tenant mismatch (-want +got):\n%s", d)
	}
}

func kind(t *testing.T, err error, k eusaas.Kind) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, k, eusaas.KindOf(err), "error %v", err)
}

// Run runs the Store suite.
func Run(t *testing.T, h Harness) {
	ctx := context.Background()
	newStore := func(t *testing.T) tenancy.Store {
		s, _ := h.NewStore(t)
		return s
	}

	t.Run("CreateGet", func(t *testing.T) {
		s := newStore(t)
		a := NewTenant("acme")
		require.NoError(t, s.Create(ctx, a))
		got, err := s.Get(ctx, a.ID)
		require.NoError(t, err)
		equal(t, a, got)
		got, err = s.GetBySlug(ctx, "acme")
		require.NoError(t, err)
		equal(t, a, got)

		// Optional fields round-trip too: empty metadata, a deletion time, a reason.
		b := NewTenant("beta")
		b.Metadata = map[string]string{}
		d := base.Add(time.Hour)
		b.Status, b.DeletedAt, b.StatusReason, b.AdminEmail = tenancy.StatusDeleted, &d, "provisioning failed: x", ""
		require.NoError(t, s.Create(ctx, b))
		got, err = s.Get(ctx, b.ID)
		require.NoError(t, err)
		equal(t, b, got)
	})

	t.Run("ReturnedValuesAreCopies", func(t *testing.T) {
		s := newStore(t)
		a := NewTenant("acme")
		require.NoError(t, s.Create(ctx, a))
		a.Metadata["crm"] = "changed after create"
		got, err := s.Get(ctx, a.ID)
		require.NoError(t, err)
		require.Equal(t, "42", got.Metadata["crm"])
		got.Metadata["crm"] = "changed after get"
		again, err := s.Get(ctx, a.ID)
		require.NoError(t, err)
		require.Equal(t, "42", again.Metadata["crm"])
	})

	t.Run("CreateDuplicateID", func(t *testing.T) {
		s := newStore(t)
		a := NewTenant("acme")
		require.NoError(t, s.Create(ctx, a))
		b := a
		b.Slug = "other"
		kind(t, s.Create(ctx, b), eusaas.AlreadyExists)
		got, err := s.Get(ctx, a.ID)
		require.NoError(t, err)
		equal(t, a, got)
	})

	t.Run("DuplicateSlug", func(t *testing.T) {
		s := newStore(t)
		a := NewTenant("acme")
		require.NoError(t, s.Create(ctx, a))
		b := NewTenant("acme")
		err := s.Create(ctx, b)
		require.ErrorIs(t, err, tenancy.ErrSlugTaken)
		kind(t, err, eusaas.AlreadyExists)
		_, err = s.Get(ctx, b.ID)
		require.ErrorIs(t, err, tenancy.ErrNotFound)
		l, err := s.List(ctx, tenancy.ListFilter{}, eusaas.Page{Page: 1, Size: 10})
		require.NoError(t, err)
		require.Equal(t, 1, l.Total)
	})

	t.Run("SlugReusableAfterDelete", func(t *testing.T) {
		s := newStore(t)
		old := NewTenant("acme")
		require.NoError(t, s.Create(ctx, old))
		old.Status = tenancy.StatusDeleted
		old, err := s.Update(ctx, old)
		require.NoError(t, err)
		_, err = s.GetBySlug(ctx, "acme")
		require.ErrorIs(t, err, tenancy.ErrNotFound, "a DELETED tenant is not found by slug")

		fresh := NewTenant("acme")
		require.NoError(t, s.Create(ctx, fresh))
		got, err := s.GetBySlug(ctx, "acme")
		require.NoError(t, err)
		require.Equal(t, fresh.ID, got.ID)
		// The tombstone is still there by id, and cannot be revived onto the taken slug.
		got, err = s.Get(ctx, old.ID)
		require.NoError(t, err)
		require.Equal(t, tenancy.StatusDeleted, got.Status)
		got.Status = tenancy.StatusActive
		_, err = s.Update(ctx, got)
		require.ErrorIs(t, err, tenancy.ErrSlugTaken)
	})

	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Get(ctx, eusaas.NewTenantID())
		require.ErrorIs(t, err, tenancy.ErrNotFound)
		kind(t, err, eusaas.NotFound)
		_, err = s.GetBySlug(ctx, "nobody")
		require.ErrorIs(t, err, tenancy.ErrNotFound)
		_, err = s.Update(ctx, NewTenant("ghost"))
		require.ErrorIs(t, err, tenancy.ErrNotFound)
	})

	t.Run("List", func(t *testing.T) {
		s := newStore(t)
		var want []tenancy.Tenant
		statuses := []tenancy.Status{tenancy.StatusActive, tenancy.StatusSuspended, tenancy.StatusActive, tenancy.StatusDeleted, tenancy.StatusActive}
		for i, st := range statuses {
			x := NewTenant(fmt.Sprintf("t%d", i))
			x.Status = st
			x.CreatedAt = base.Add(time.Duration(i) * time.Minute)
			require.NoError(t, s.Create(ctx, x))
			want = append(want, x)
		}
		// Two tenants created in the same microsecond are ordered by id.
		x, y := NewTenant("same-a"), NewTenant("same-b")
		x.CreatedAt, y.CreatedAt = base.Add(time.Hour), base.Add(time.Hour)
		if string(x.ID[:]) > string(y.ID[:]) {
			x, y = y, x
		}
		require.NoError(t, s.Create(ctx, y))
		require.NoError(t, s.Create(ctx, x))
		want = append(want, x, y)

		var got []tenancy.Tenant
		for p := 1; p <= 4; p++ {
			l, err := s.List(ctx, tenancy.ListFilter{}, eusaas.Page{Page: p, Size: 2})
			require.NoError(t, err)
			require.Equal(t, 7, l.Total)
			if p == 4 {
				require.Len(t, l.Items, 1)
			}
			got = append(got, l.Items...)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("list order (-want +got):\n%s", d)
		}
		l, err := s.List(ctx, tenancy.ListFilter{}, eusaas.Page{Page: 9, Size: 2})
		require.NoError(t, err)
		require.Equal(t, 7, l.Total)
		require.Empty(t, l.Items)

		l, err = s.List(ctx, tenancy.ListFilter{Status: tenancy.StatusActive}, eusaas.Page{Page: 1, Size: 100})
		require.NoError(t, err)
		require.Equal(t, 5, l.Total)
		for _, it := range l.Items {
			require.Equal(t, tenancy.StatusActive, it.Status)
		}
		l, err = s.List(ctx, tenancy.ListFilter{Status: tenancy.StatusDeleted}, eusaas.Page{Page: 1, Size: 100})
		require.NoError(t, err)
		require.Equal(t, 1, l.Total)
		require.Equal(t, want[3].ID, l.Items[0].ID)
	})

	t.Run("UpdateCompareAndSwap", func(t *testing.T) {
		s := newStore(t)
		a := NewTenant("acme")
		require.NoError(t, s.Create(ctx, a))
		next := a
		next.Name, next.Tier, next.Status = "Acme GmbH", tenancy.TierEnterprise, tenancy.StatusSuspended
		next.Metadata = map[string]string{"k": "v"}
		next.Settings.MaxUsers = 7
		next.Settings.CostAlertThreshold = decimal.RequireFromString("0.01")
		next.Settings.AnomalyMinImpact = decimal.RequireFromString("1000000000")
		next.UpdatedAt = base.Add(time.Hour)
		// Immutable fields are kept whatever the caller passes.
		next.SchemaName, next.CreatedAt = "t_bogus", base.Add(-time.Hour)
		saved, err := s.Update(ctx, next)
		require.NoError(t, err)
		want := next
		want.SchemaName, want.CreatedAt, want.Version = a.SchemaName, a.CreatedAt, 2
		equal(t, want, saved)
		got, err := s.Get(ctx, a.ID)
		require.NoError(t, err)
		equal(t, want, got)

		// A stale version changes nothing.
		stale := a
		stale.Name = "Stale"
		_, err = s.Update(ctx, stale)
		require.ErrorIs(t, err, tenancy.ErrVersionConflict)
		kind(t, err, eusaas.Aborted)
		got, err = s.Get(ctx, a.ID)
		require.NoError(t, err)
		equal(t, want, got)
	})

	t.Run("TenantIsolation", func(t *testing.T) {
		s := newStore(t)
		a, b := NewTenant("tenant-a"), NewTenant("tenant-b")
		require.NoError(t, s.Create(ctx, a))
		require.NoError(t, s.Create(ctx, b))
		// Changing A leaves B untouched.
		a2 := a
		a2.Name, a2.Status = "A changed", tenancy.StatusSuspended
		_, err := s.Update(ctx, a2)
		require.NoError(t, err)
		got, err := s.Get(ctx, b.ID)
		require.NoError(t, err)
		equal(t, b, got)
		// A's slug never answers with B, nor B's with A.
		got, err = s.GetBySlug(ctx, "tenant-a")
		require.NoError(t, err)
		require.Equal(t, a.ID, got.ID)
		got, err = s.GetBySlug(ctx, "tenant-b")
		require.NoError(t, err)
		require.Equal(t, b.ID, got.ID)
		// B's version cannot be used to update A.
		cross := a2
		cross.Version = b.Version
		cross.ID = b.ID
		cross.Slug = b.Slug
		_, err = s.Update(ctx, cross)
		require.NoError(t, err, "updating B with B's version works")
		got, err = s.Get(ctx, a.ID)
		require.NoError(t, err)
		require.Equal(t, "A changed", got.Name)
		require.Equal(t, int64(2), got.Version)
	})

	t.Run("ContextCanceled", func(t *testing.T) {
		s := newStore(t)
		a := NewTenant("acme")
		require.NoError(t, s.Create(ctx, a))
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		b := NewTenant("beta")
		require.Error(t, s.Create(cctx, b))
		_, err := s.Get(ctx, b.ID)
		require.ErrorIs(t, err, tenancy.ErrNotFound, "nothing stored under a canceled context")
		_, err = s.Get(cctx, a.ID)
		require.Error(t, err)
		_, err = s.GetBySlug(cctx, "acme")
		require.Error(t, err)
		_, err = s.List(cctx, tenancy.ListFilter{}, eusaas.Page{Page: 1, Size: 10})
		require.Error(t, err)
		a2 := a
		a2.Name = "changed"
		_, err = s.Update(cctx, a2)
		require.Error(t, err)
		got, err := s.Get(ctx, a.ID)
		require.NoError(t, err)
		equal(t, a, got)
	})

	t.Run("Concurrent", func(t *testing.T) {
		s := newStore(t)
		a := NewTenant("acme")
		require.NoError(t, s.Create(ctx, a))
		const n = 8
		var wins, conflicts atomic.Int32
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				next := a
				next.Name = fmt.Sprintf("writer %d", i)
				_, err := s.Update(ctx, next)
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, tenancy.ErrVersionConflict):
					conflicts.Add(1)
				default:
					t.Errorf("update: %v", err)
				}
			}()
		}
		wg.Wait()
		require.Equal(t, int32(1), wins.Load(), "exactly one compare-and-swap wins")
		require.Equal(t, int32(n-1), conflicts.Load())
		got, err := s.Get(ctx, a.ID)
		require.NoError(t, err)
		require.Equal(t, int64(2), got.Version)

		// Racing creations of one slug: exactly one tenant gets it.
		var created atomic.Int32
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.Create(ctx, NewTenant("contested"))
				switch {
				case err == nil:
					created.Add(1)
				case errors.Is(err, tenancy.ErrSlugTaken):
				default:
					t.Errorf("create: %v", err)
				}
			}()
		}
		wg.Wait()
		require.Equal(t, int32(1), created.Load())

		// Retrying writers never lose an increment.
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					cur, err := s.Get(ctx, a.ID)
					if err != nil {
						t.Errorf("get: %v", err)
						return
					}
					cur.Settings.MaxUsers++
					if _, err := s.Update(ctx, cur); err == nil {
						return
					} else if !errors.Is(err, tenancy.ErrVersionConflict) {
						t.Errorf("update: %v", err)
						return
					}
				}
			}()
		}
		wg.Wait()
		got, err = s.Get(ctx, a.ID)
		require.NoError(t, err)
		require.Equal(t, int64(2+n), got.Version)
		require.Equal(t, a.Settings.MaxUsers+n, got.Settings.MaxUsers)
	})

	t.Run("TxRollback", func(t *testing.T) {
		if !h.Features.Transactions {
			t.Skip("store has no transactions")
		}
		s, tx := h.NewStore(t)
		a := NewTenant("acme")
		require.NoError(t, s.Create(ctx, a))
		boom := errors.New("boom")
		b := NewTenant("beta")
		err := tx.InTx(ctx, func(ctx context.Context) error {
			require.NoError(t, s.Create(ctx, b))
			a2 := a
			a2.Name = "inside tx"
			_, err := s.Update(ctx, a2)
			require.NoError(t, err)
			got, err := s.Get(ctx, b.ID)
			require.NoError(t, err, "the transaction sees its own writes")
			require.Equal(t, b.ID, got.ID)
			return boom
		})
		require.ErrorIs(t, err, boom)
		_, err = s.Get(ctx, b.ID)
		require.ErrorIs(t, err, tenancy.ErrNotFound)
		got, err := s.Get(ctx, a.ID)
		require.NoError(t, err)
		equal(t, a, got)
		// The rolled-back slug is free.
		require.NoError(t, s.Create(ctx, NewTenant("beta")))
	})
}
