package authtest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

// runUsers covers UserStore: creation, lookups, updates, deletion and concurrent writers.
func runUsers(t *testing.T, h Harness) {
	ctx := context.Background()
	t.Run("CreateGet", func(t *testing.T) {
		s := h.New(t)
		a := s.NewTenant(t)
		u := newUser(a, "ada@example.com")
		require.NoError(t, s.Users.CreateUser(ctx, u))
		got, err := s.Users.GetUser(ctx, a, u.ID)
		require.NoError(t, err)
		require.Equal(t, u.Email, got.Email)
		require.Equal(t, u.FullName, got.FullName)
		require.Equal(t, u.Role, got.Role)
		require.Equal(t, u.PasswordHash, got.PasswordHash)
		require.Equal(t, a, got.TenantID)
		require.True(t, got.IsActive)
		require.WithinDuration(t, base, got.CreatedAt, h.precision())
		require.True(t, got.LastLoginAt.IsZero())
		byEmail, err := s.Users.GetUserByEmail(ctx, a, "ada@example.com")
		require.NoError(t, err)
		require.Equal(t, u.ID, byEmail.ID)
		_, err = s.Users.GetUserByEmail(ctx, a, "nobody@example.com")
		kind(t, eusaas.NotFound, err)
		_, err = s.Users.GetUser(ctx, a, uuid.New())
		kind(t, eusaas.NotFound, err)
	})
	t.Run("DuplicateEmail", func(t *testing.T) {
		s := h.New(t)
		a := s.NewTenant(t)
		require.NoError(t, s.Users.CreateUser(ctx, newUser(a, "ada@example.com")))
		kind(t, eusaas.AlreadyExists, s.Users.CreateUser(ctx, newUser(a, "ada@example.com")))
	})
	t.Run("Updates", func(t *testing.T) {
		s := h.New(t)
		a := s.NewTenant(t)
		u := newUser(a, "ada@example.com")
		require.NoError(t, s.Users.CreateUser(ctx, u))
		at := base.Add(time.Hour)
		require.NoError(t, s.Users.SetUserPassword(ctx, a, u.ID, "$argon2id$new", at))
		require.NoError(t, s.Users.RecordUserLogin(ctx, a, u.ID, at))
		require.NoError(t, s.Users.SetUserActive(ctx, a, u.ID, false, at))
		require.NoError(t, s.Users.SetUserActive(ctx, a, u.ID, false, at), "idempotent")
		got, err := s.Users.GetUser(ctx, a, u.ID)
		require.NoError(t, err)
		require.Equal(t, "$argon2id$new", got.PasswordHash)
		require.False(t, got.IsActive)
		require.WithinDuration(t, at, got.LastLoginAt, h.precision())
		missing := uuid.New()
		kind(t, eusaas.NotFound, s.Users.SetUserPassword(ctx, a, missing, "x", at))
		kind(t, eusaas.NotFound, s.Users.SetUserActive(ctx, a, missing, true, at))
		kind(t, eusaas.NotFound, s.Users.RecordUserLogin(ctx, a, missing, at))
	})
	t.Run("Delete", func(t *testing.T) {
		s := h.New(t)
		a := s.NewTenant(t)
		u := newUser(a, "ada@example.com")
		require.NoError(t, s.Users.CreateUser(ctx, u))
		n, err := s.Users.DeleteUser(ctx, a, u.ID)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		n, err = s.Users.DeleteUser(ctx, a, u.ID)
		require.NoError(t, err)
		require.Equal(t, 0, n, "idempotent")
		_, err = s.Users.GetUser(ctx, a, u.ID)
		kind(t, eusaas.NotFound, err)
		require.NoError(t, s.Users.CreateUser(ctx, newUser(a, "ada@example.com")), "email free again")
	})
	t.Run("Concurrent", func(t *testing.T) {
		s := h.New(t)
		a := s.NewTenant(t)
		var ok, dup atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.Users.CreateUser(ctx, newUser(a, "race@example.com"))
				switch {
				case err == nil:
					ok.Add(1)
				case eusaas.KindOf(err) == eusaas.AlreadyExists:
					dup.Add(1)
				default:
					t.Errorf("unexpected error: %v", err)
				}
			}()
		}
		wg.Wait()
		require.Equal(t, int32(1), ok.Load(), "exactly one registration wins the email")
		require.Equal(t, int32(7), dup.Load())
	})
}

// runUserSeats covers CountUsers and CreateUserWithinLimit, the max_users enforcement.
// runUserSeats covers the seat count and CreateUserWithinLimit, the race-safe limit.
func runUserSeats(t *testing.T, h Harness) {
	ctx := context.Background()
	count := func(t *testing.T, s Stores, tenant eusaas.TenantID, want int, msg string) {
		t.Helper()
		n, err := s.Users.CountUsers(ctx, tenant)
		require.NoError(t, err)
		require.Equal(t, want, n, msg)
	}
	t.Run("Count", func(t *testing.T) {
		s := h.New(t)
		a := s.NewTenant(t)
		count(t, s, a, 0, "a tenant without users")
		u := newUser(a, "ada@example.com")
		require.NoError(t, s.Users.CreateUser(ctx, u))
		require.NoError(t, s.Users.CreateUser(ctx, newUser(a, "bob@example.com")))
		count(t, s, a, 2, "")
		require.NoError(t, s.Users.SetUserActive(ctx, a, u.ID, false, base))
		count(t, s, a, 2, "a deactivated user still holds a seat")
		_, err := s.Users.DeleteUser(ctx, a, u.ID)
		require.NoError(t, err)
		count(t, s, a, 1, "deletion frees the seat")
		require.NoError(t, s.Operators.CreateOperator(ctx, newUser(eusaas.NilTenant, "root@example.com")))
		count(t, s, a, 1, "operators are no tenant's users")
	})
	t.Run("WithinLimit", func(t *testing.T) {
		s := h.New(t)
		a := s.NewTenant(t)
		require.NoError(t, s.Users.CreateUserWithinLimit(ctx, newUser(a, "u1@example.com"), 2))
		off := newUser(a, "u2@example.com")
		require.NoError(t, s.Users.CreateUserWithinLimit(ctx, off, 2))
		require.NoError(t, s.Users.SetUserActive(ctx, a, off.ID, false, base))
		late := newUser(a, "u3@example.com")
		err := s.Users.CreateUserWithinLimit(ctx, late, 2)
		kind(t, eusaas.FailedPrecondition, err, "the deactivated user's seat is taken")
		require.ErrorIs(t, err, auth.ErrTenantUserLimit)
		_, err = s.Users.GetUser(ctx, a, late.ID)
		kind(t, eusaas.NotFound, err, "a refused user is not stored")
		count(t, s, a, 2, "")
		kind(t, eusaas.AlreadyExists, s.Users.CreateUserWithinLimit(ctx, newUser(a, "u1@example.com"), 5),
			"the email check still applies below the limit")
		require.NoError(t, s.Users.CreateUserWithinLimit(ctx, late, 0), "0 means no limit")
		count(t, s, a, 3, "")
	})
	t.Run("Concurrent", func(t *testing.T) {
		s := h.New(t)
		a := s.NewTenant(t)
		for i := 0; i < 4; i++ {
			require.NoError(t, s.Users.CreateUser(ctx, newUser(a, "seed"+string(rune('a'+i))+"@example.com")))
		}
		var ok, full atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u := newUser(a, uuid.NewString()+"@example.com")
				var err error
				if s.Tx != nil && i%2 == 0 {
					// As registration does: the limit is enforced inside a wider transaction;
					// the other half call bare, so the store's own atomicity is tested too.
					err = s.Tx.InTx(ctx, func(ctx context.Context) error { return s.Users.CreateUserWithinLimit(ctx, u, 5) })
				} else {
					err = s.Users.CreateUserWithinLimit(ctx, u, 5)
				}
				switch {
				case err == nil:
					ok.Add(1)
				case eusaas.KindOf(err) == eusaas.FailedPrecondition:
					full.Add(1)
				default:
					t.Errorf("unexpected error: %v", err)
				}
			}()
		}
		wg.Wait()
		require.Equal(t, int32(1), ok.Load(), "exactly one takes the last seat")
		require.Equal(t, int32(9), full.Load())
		count(t, s, a, 5, "")
	})
	t.Run("TenantIsolation", func(t *testing.T) {
		s := h.New(t)
		a, b := s.NewTenant(t), s.NewTenant(t)
		require.NoError(t, s.Users.CreateUser(ctx, newUser(a, "ada@example.com")))
		require.NoError(t, s.Users.CreateUser(ctx, newUser(a, "bob@example.com")))
		count(t, s, b, 0, "A's users are not B's")
		require.NoError(t, s.Users.CreateUserWithinLimit(ctx, newUser(b, "ada@example.com"), 1), "A's users take none of B's seats")
		count(t, s, a, 2, "")
		count(t, s, b, 1, "")
	})
	t.Run("ContextCanceled", func(t *testing.T) {
		s := h.New(t)
		a := s.NewTenant(t)
		_, err := s.Users.CountUsers(canceled(), a)
		require.Error(t, err)
		require.Error(t, s.Users.CreateUserWithinLimit(canceled(), newUser(a, "c@example.com"), 5))
		count(t, s, a, 0, "nothing was stored")
	})
	t.Run("TxRollback", func(t *testing.T) {
		s := h.New(t)
		if s.Tx == nil {
			t.Skip("adapter has no transactions")
		}
		a := s.NewTenant(t)
		boom := eusaas.E(eusaas.Internal, "boom")
		err := s.Tx.InTx(ctx, func(ctx context.Context) error {
			if err := s.Users.CreateUserWithinLimit(ctx, newUser(a, "ada@example.com"), 1); err != nil {
				return err
			}
			return boom
		})
		require.ErrorIs(t, err, boom)
		count(t, s, a, 0, "the rolled back user holds no seat")
		require.NoError(t, s.Users.CreateUserWithinLimit(ctx, newUser(a, "bob@example.com"), 1))
	})
}
