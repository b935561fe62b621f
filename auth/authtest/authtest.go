// Package authtest is the conformance suite of the auth module's storage ports. An adapter
// proves itself by running Run (user, operator, session, invitation and service account
// stores), RunDenylist
// and RunLimiter from a test of its own package:
//
//	func TestConformanceAuth(t *testing.T) {
//		authtest.Run(t, authtest.Harness{New: func(t *testing.T) authtest.Stores { ... }})
//	}
package authtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

// Stores is one fresh set of stores of the adapter under test.
type Stores struct {
	Users       auth.UserStore
	Operators   auth.OperatorStore
	Sessions    auth.SessionStore
	Invitations auth.InvitationStore
	// ServiceAccounts is the adapter's service account store (platform storage).
	ServiceAccounts auth.ServiceAccountStore
	// Tx is the adapter's transaction runner; nil when the adapter has none (TxRollback is
	// then skipped).
	Tx eusaas.TxRunner
	// NewTenant makes a tenant whose data the stores can hold (Postgres: creates its schema).
	NewTenant func(t *testing.T) eusaas.TenantID
}

// Features are optional behaviours of an adapter.
type Features struct {
	// TimePrecision is the precision times survive a round trip with (Postgres: 1µs).
	TimePrecision time.Duration
}

// Harness makes fresh stores for each subtest.
type Harness struct {
	New      func(t *testing.T) Stores
	Features Features
}

func (h Harness) precision() time.Duration {
	if h.Features.TimePrecision > 0 {
		return h.Features.TimePrecision
	}
	return time.Microsecond
}

var base = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func randomHash() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

func newUser(tenant eusaas.TenantID, email string) auth.User {
	return auth.User{ID: uuid.Must(uuid.NewV7()), TenantID: tenant, Email: email, FullName: "Ada Lovelace",
		Role: auth.RoleMember, PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
		IsActive: true, CreatedAt: base, UpdatedAt: base}
}

func newSession(tenant eusaas.TenantID, user uuid.UUID) auth.Session {
	return auth.Session{ID: uuid.New(), TenantID: tenant, UserID: user, TokenHash: randomHash(),
		CreatedAt: base, RotatedAt: base, ExpiresAt: base.Add(7 * 24 * time.Hour)}
}

func kind(t *testing.T, want eusaas.Kind, err error, msg ...string) {
	t.Helper()
	require.Error(t, err, msg)
	require.Equal(t, want, eusaas.KindOf(err), "error: %v %v", err, msg)
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// Run runs the store suite.
func Run(t *testing.T, h Harness) {
	t.Run("Users", func(t *testing.T) { runUsers(t, h) })
	t.Run("UserSeats", func(t *testing.T) { runUserSeats(t, h) })
	t.Run("Operators", func(t *testing.T) { runOperators(t, h) })
	t.Run("Sessions", func(t *testing.T) { runSessions(t, h) })
	t.Run("Invitations", func(t *testing.T) { runInvitations(t, h) })
	t.Run("ServiceAccounts", func(t *testing.T) { runServiceAccounts(t, h) })
	t.Run("TenantIsolation", func(t *testing.T) { runIsolation(t, h) })
	t.Run("ContextCanceled", func(t *testing.T) { runCanceled(t, h) })
	t.Run("TxRollback", func(t *testing.T) { runTxRollback(t, h) })
}

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

func runOperators(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.New(t)
	n, err := s.Operators.CountOperators(ctx)
	require.NoError(t, err)
	require.Equal(t, 0, n)
	op := newUser(eusaas.NilTenant, "root@example.com")
	op.Role = ""
	require.NoError(t, s.Operators.CreateOperator(ctx, op))
	kind(t, eusaas.AlreadyExists, s.Operators.CreateOperator(ctx, func() auth.User {
		o := newUser(eusaas.NilTenant, "root@example.com")
		o.Role = ""
		return o
	}()))
	got, err := s.Operators.GetOperatorByEmail(ctx, "root@example.com")
	require.NoError(t, err)
	require.Equal(t, op.ID, got.ID)
	require.True(t, got.TenantID.IsZero())
	require.True(t, got.IsOperator())
	at := base.Add(time.Minute)
	require.NoError(t, s.Operators.SetOperatorPassword(ctx, op.ID, "$argon2id$x", at))
	require.NoError(t, s.Operators.RecordOperatorLogin(ctx, op.ID, at))
	require.NoError(t, s.Operators.SetOperatorActive(ctx, op.ID, false, at))
	got, err = s.Operators.GetOperator(ctx, op.ID)
	require.NoError(t, err)
	require.Equal(t, "$argon2id$x", got.PasswordHash)
	require.False(t, got.IsActive)
	require.WithinDuration(t, at, got.LastLoginAt, h.precision())
	n, err = s.Operators.CountOperators(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = s.Operators.GetOperator(ctx, uuid.New())
	kind(t, eusaas.NotFound, err)
	kind(t, eusaas.NotFound, s.Operators.SetOperatorActive(ctx, uuid.New(), true, at))
	// Operators are not tenant users and tenant users are not operators.
	a := s.NewTenant(t)
	_, err = s.Users.GetUser(ctx, a, op.ID)
	kind(t, eusaas.NotFound, err)
	u := newUser(a, "root@example.com")
	require.NoError(t, s.Users.CreateUser(ctx, u), "an operator's email is free in a tenant")
	_, err = s.Operators.GetOperator(ctx, u.ID)
	kind(t, eusaas.NotFound, err)
}

func runSessions(t *testing.T, h Harness) {
	ctx := context.Background()
	for _, operator := range []bool{false, true} {
		name := "Tenant"
		if operator {
			name = "Operator"
		}
		t.Run(name, func(t *testing.T) {
			s := h.New(t)
			tenant := eusaas.NilTenant
			if !operator {
				tenant = s.NewTenant(t)
			}
			user := uuid.New()
			x := newSession(tenant, user)
			require.NoError(t, s.Sessions.CreateSession(ctx, x))
			kind(t, eusaas.AlreadyExists, s.Sessions.CreateSession(ctx, x))
			got, err := s.Sessions.GetSession(ctx, tenant, x.ID)
			require.NoError(t, err)
			require.Equal(t, x.UserID, got.UserID)
			require.Equal(t, x.TokenHash, got.TokenHash)
			require.Equal(t, uint64(0), got.Counter)
			require.Equal(t, tenant, got.TenantID)
			require.WithinDuration(t, x.ExpiresAt, got.ExpiresAt, h.precision())
			require.False(t, got.Revoked())

			// Compare-and-swap rotation.
			h1, at := randomHash(), base.Add(time.Minute)
			require.NoError(t, s.Sessions.RotateSession(ctx, tenant, x.ID, 0, h1, at))
			kind(t, eusaas.Aborted, s.Sessions.RotateSession(ctx, tenant, x.ID, 0, randomHash(), at))
			got, err = s.Sessions.GetSession(ctx, tenant, x.ID)
			require.NoError(t, err)
			require.Equal(t, uint64(1), got.Counter)
			require.Equal(t, h1, got.TokenHash)
			require.WithinDuration(t, at, got.RotatedAt, h.precision())
			require.WithinDuration(t, x.CreatedAt, got.CreatedAt, h.precision(), "rotation never moves the start")
			require.WithinDuration(t, x.ExpiresAt, got.ExpiresAt, h.precision(), "rotation never extends the session")
			kind(t, eusaas.NotFound, s.Sessions.RotateSession(ctx, tenant, uuid.New(), 0, h1, at))

			// Revocation keeps the first reason; rotation of a revoked session fails.
			require.NoError(t, s.Sessions.RevokeSession(ctx, tenant, x.ID, at, "reuse"))
			require.NoError(t, s.Sessions.RevokeSession(ctx, tenant, x.ID, at.Add(time.Hour), "logout"))
			got, err = s.Sessions.GetSession(ctx, tenant, x.ID)
			require.NoError(t, err)
			require.True(t, got.Revoked())
			require.Equal(t, "reuse", got.RevokeReason)
			require.WithinDuration(t, at, got.RevokedAt, h.precision())
			kind(t, eusaas.Aborted, s.Sessions.RotateSession(ctx, tenant, x.ID, 1, randomHash(), at))
			kind(t, eusaas.NotFound, s.Sessions.RevokeSession(ctx, tenant, uuid.New(), at, "logout"))

			// Per-user revocation and deletion.
			y, z, other := newSession(tenant, user), newSession(tenant, user), newSession(tenant, uuid.New())
			for _, v := range []auth.Session{y, z, other} {
				require.NoError(t, s.Sessions.CreateSession(ctx, v))
			}
			n, err := s.Sessions.RevokeUserSessions(ctx, tenant, user, at, "deactivated")
			require.NoError(t, err)
			require.Equal(t, 2, n, "only the live sessions of the user")
			got, err = s.Sessions.GetSession(ctx, tenant, other.ID)
			require.NoError(t, err)
			require.False(t, got.Revoked(), "another user's session is untouched")
			n, err = s.Sessions.DeleteUserSessions(ctx, tenant, user)
			require.NoError(t, err)
			require.Equal(t, 3, n)
			n, err = s.Sessions.DeleteUserSessions(ctx, tenant, user)
			require.NoError(t, err)
			require.Equal(t, 0, n)
			_, err = s.Sessions.GetSession(ctx, tenant, y.ID)
			kind(t, eusaas.NotFound, err)
		})
	}
	t.Run("Concurrent", func(t *testing.T) {
		s := h.New(t)
		a := s.NewTenant(t)
		x := newSession(a, uuid.New())
		require.NoError(t, s.Sessions.CreateSession(ctx, x))
		var won, lost atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.Sessions.RotateSession(ctx, a, x.ID, 0, randomHash(), base)
				switch {
				case err == nil:
					won.Add(1)
				case eusaas.KindOf(err) == eusaas.Aborted:
					lost.Add(1)
				default:
					t.Errorf("unexpected error: %v", err)
				}
			}()
		}
		wg.Wait()
		require.Equal(t, int32(1), won.Load(), "exactly one rotation from counter 0")
		got, err := s.Sessions.GetSession(ctx, a, x.ID)
		require.NoError(t, err)
		require.Equal(t, uint64(1), got.Counter)
	})
}

func newInvitation(tenant eusaas.TenantID, email, token string, expires time.Time) auth.Invitation {
	return auth.Invitation{ID: uuid.Must(uuid.NewV7()), TenantID: tenant, Email: email, Role: auth.RoleAdmin,
		TokenHash: hashOf(token), CreatedBy: "system", CreatedAt: base, ExpiresAt: expires}
}

func runInvitations(t *testing.T, h Harness) {
	ctx := context.Background()
	t.Run("SingleUse", func(t *testing.T) {
		s := h.New(t)
		a := s.NewTenant(t)
		inv := newInvitation(a, "bob@example.com", "tok-1", base.Add(time.Hour))
		require.NoError(t, s.Invitations.CreateInvitation(ctx, inv))
		_, err := s.Invitations.ConsumeInvitation(ctx, a, hashOf("wrong"), base)
		kind(t, eusaas.NotFound, err)
		got, err := s.Invitations.ConsumeInvitation(ctx, a, hashOf("tok-1"), base)
		require.NoError(t, err)
		require.Equal(t, inv.ID, got.ID)
		require.Equal(t, "bob@example.com", got.Email)
		require.Equal(t, auth.RoleAdmin, got.Role)
		_, err = s.Invitations.ConsumeInvitation(ctx, a, hashOf("tok-1"), base)
		kind(t, eusaas.NotFound, err)
	})
	t.Run("Expired", func(t *testing.T) {
		s := h.New(t)
		a := s.NewTenant(t)
		require.NoError(t, s.Invitations.CreateInvitation(ctx, newInvitation(a, "bob@example.com", "tok", base.Add(time.Hour))))
		_, err := s.Invitations.ConsumeInvitation(ctx, a, hashOf("tok"), base.Add(time.Hour))
		kind(t, eusaas.NotFound, err)
	})
	t.Run("DeleteByEmail", func(t *testing.T) {
		s := h.New(t)
		a := s.NewTenant(t)
		require.NoError(t, s.Invitations.CreateInvitation(ctx, newInvitation(a, "bob@example.com", "t1", base.Add(time.Hour))))
		require.NoError(t, s.Invitations.CreateInvitation(ctx, newInvitation(a, "bob@example.com", "t2", base.Add(time.Hour))))
		require.NoError(t, s.Invitations.CreateInvitation(ctx, newInvitation(a, "eve@example.com", "t3", base.Add(time.Hour))))
		kind(t, eusaas.AlreadyExists, s.Invitations.CreateInvitation(ctx, newInvitation(a, "x@example.com", "t3", base.Add(time.Hour))))
		n, err := s.Invitations.DeleteInvitationsByEmail(ctx, a, "bob@example.com")
		require.NoError(t, err)
		require.Equal(t, 2, n)
		n, err = s.Invitations.DeleteInvitationsByEmail(ctx, a, "bob@example.com")
		require.NoError(t, err)
		require.Equal(t, 0, n)
		_, err = s.Invitations.ConsumeInvitation(ctx, a, hashOf("t3"), base)
		require.NoError(t, err, "other emails' invitations are kept")
	})
	t.Run("Concurrent", func(t *testing.T) {
		s := h.New(t)
		a := s.NewTenant(t)
		require.NoError(t, s.Invitations.CreateInvitation(ctx, newInvitation(a, "bob@example.com", "race", base.Add(time.Hour))))
		var won atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.Invitations.ConsumeInvitation(ctx, a, hashOf("race"), base)
				switch {
				case err == nil:
					won.Add(1)
				case eusaas.KindOf(err) != eusaas.NotFound:
					t.Errorf("unexpected error: %v", err)
				}
			}()
		}
		wg.Wait()
		require.Equal(t, int32(1), won.Load(), "an invitation is used at most once")
	})
}

func runIsolation(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.New(t)
	a, b := s.NewTenant(t), s.NewTenant(t)
	u := newUser(a, "ada@example.com")
	require.NoError(t, s.Users.CreateUser(ctx, u))
	_, err := s.Users.GetUser(ctx, b, u.ID)
	kind(t, eusaas.NotFound, err)
	_, err = s.Users.GetUserByEmail(ctx, b, u.Email)
	kind(t, eusaas.NotFound, err)
	kind(t, eusaas.NotFound, s.Users.SetUserActive(ctx, b, u.ID, false, base))
	n, err := s.Users.DeleteUser(ctx, b, u.ID)
	require.NoError(t, err)
	require.Equal(t, 0, n)
	require.NoError(t, s.Users.CreateUser(ctx, newUser(b, "ada@example.com")), "emails are unique per tenant only")

	x := newSession(a, u.ID)
	require.NoError(t, s.Sessions.CreateSession(ctx, x))
	_, err = s.Sessions.GetSession(ctx, b, x.ID)
	kind(t, eusaas.NotFound, err)
	_, err = s.Sessions.GetSession(ctx, eusaas.NilTenant, x.ID)
	kind(t, eusaas.NotFound, err, "a tenant session is not an operator session")
	kind(t, eusaas.NotFound, s.Sessions.RotateSession(ctx, b, x.ID, 0, randomHash(), base))
	kind(t, eusaas.NotFound, s.Sessions.RevokeSession(ctx, b, x.ID, base, "logout"))
	n, err = s.Sessions.RevokeUserSessions(ctx, b, u.ID, base, "x")
	require.NoError(t, err)
	require.Equal(t, 0, n)
	n, err = s.Sessions.DeleteUserSessions(ctx, b, u.ID)
	require.NoError(t, err)
	require.Equal(t, 0, n)

	require.NoError(t, s.Invitations.CreateInvitation(ctx, newInvitation(a, "bob@example.com", "iso", base.Add(time.Hour))))
	_, err = s.Invitations.ConsumeInvitation(ctx, b, hashOf("iso"), base)
	kind(t, eusaas.NotFound, err)
	n, err = s.Invitations.DeleteInvitationsByEmail(ctx, b, "bob@example.com")
	require.NoError(t, err)
	require.Equal(t, 0, n)

	got, err := s.Sessions.GetSession(ctx, a, x.ID)
	require.NoError(t, err)
	require.False(t, got.Revoked())
	_, err = s.Invitations.ConsumeInvitation(ctx, a, hashOf("iso"), base)
	require.NoError(t, err, "tenant A's invitation survived B's attempts")
}

func runCanceled(t *testing.T, h Harness) {
	s := h.New(t)
	a := s.NewTenant(t)
	ctx := canceled()
	id := uuid.New()
	require.Error(t, s.Users.CreateUser(ctx, newUser(a, "c@example.com")))
	_, err := s.Users.GetUser(ctx, a, id)
	require.Error(t, err)
	_, err = s.Operators.GetOperatorByEmail(ctx, "c@example.com")
	require.Error(t, err)
	require.Error(t, s.Sessions.CreateSession(ctx, newSession(a, id)))
	_, err = s.Sessions.GetSession(ctx, a, id)
	require.Error(t, err)
	_, err = s.Invitations.ConsumeInvitation(ctx, a, hashOf("x"), base)
	require.Error(t, err)
	_, err = s.Users.GetUserByEmail(context.Background(), a, "c@example.com")
	kind(t, eusaas.NotFound, err)
}

func runTxRollback(t *testing.T, h Harness) {
	s := h.New(t)
	if s.Tx == nil {
		t.Skip("adapter has no transactions")
	}
	ctx := context.Background()
	a := s.NewTenant(t)
	u := newUser(a, "tx@example.com")
	x := newSession(a, u.ID)
	require.NoError(t, s.Sessions.CreateSession(ctx, x))
	require.NoError(t, s.Invitations.CreateInvitation(ctx, newInvitation(a, "tx@example.com", "txtok", base.Add(time.Hour))))
	boom := eusaas.E(eusaas.Aborted, "boom")
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.Invitations.ConsumeInvitation(ctx, a, hashOf("txtok"), base); err != nil {
			return err
		}
		if err := s.Users.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := s.Sessions.RotateSession(ctx, a, x.ID, 0, randomHash(), base); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	_, err = s.Users.GetUser(ctx, a, u.ID)
	kind(t, eusaas.NotFound, err)
	got, err := s.Sessions.GetSession(ctx, a, x.ID)
	require.NoError(t, err)
	require.Equal(t, uint64(0), got.Counter)
	_, err = s.Invitations.ConsumeInvitation(ctx, a, hashOf("txtok"), base)
	require.NoError(t, err, "the consumption was rolled back")
}

// DenylistHarness makes a fresh denylist (on the real clock) per subtest.
type DenylistHarness struct {
	New func(t *testing.T) auth.Denylist
}

// RunDenylist runs the denylist suite.
func RunDenylist(t *testing.T, h DenylistHarness) {
	ctx := context.Background()
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
	t.Run("DenyAndCheck", func(t *testing.T) {
		d := h.New(t)
		until := time.Now().Add(time.Hour)
		require.NoError(t, d.Deny(ctx, a, "iss", "jti-1", until))
		require.NoError(t, d.Deny(ctx, a, "iss", "jti-1", until), "twice is fine")
		for _, c := range []struct {
			t        eusaas.TenantID
			iss, jti string
			want     bool
		}{{a, "iss", "jti-1", true}, {a, "iss", "jti-2", false}, {a, "other", "jti-1", false}} {
			got, err := d.Denied(ctx, c.t, c.iss, c.jti)
			require.NoError(t, err)
			require.Equal(t, c.want, got, "%s %s", c.iss, c.jti)
		}
	})
	t.Run("TenantIsolation", func(t *testing.T) {
		d := h.New(t)
		require.NoError(t, d.Deny(ctx, a, "iss", "j", time.Now().Add(time.Hour)))
		got, err := d.Denied(ctx, b, "iss", "j")
		require.NoError(t, err)
		require.False(t, got)
		require.NoError(t, d.Deny(ctx, eusaas.NilTenant, "iss", "op", time.Now().Add(time.Hour)))
		got, err = d.Denied(ctx, eusaas.NilTenant, "iss", "op")
		require.NoError(t, err)
		require.True(t, got, "operator tokens (zero tenant) are denylisted too")
	})
	t.Run("Expiry", func(t *testing.T) {
		d := h.New(t)
		require.NoError(t, d.Deny(ctx, a, "iss", "short", time.Now().Add(300*time.Millisecond)))
		require.NoError(t, d.Deny(ctx, a, "iss", "past", time.Now().Add(-time.Second)))
		got, err := d.Denied(ctx, a, "iss", "past")
		require.NoError(t, err)
		require.False(t, got, "an entry already past its time is not kept")
		got, err = d.Denied(ctx, a, "iss", "short")
		require.NoError(t, err)
		require.True(t, got)
		time.Sleep(600 * time.Millisecond)
		got, err = d.Denied(ctx, a, "iss", "short")
		require.NoError(t, err)
		require.False(t, got)
	})
	t.Run("Concurrent", func(t *testing.T) {
		d := h.New(t)
		var wg sync.WaitGroup
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				jti := uuid.NewString()
				if err := d.Deny(ctx, a, "iss", jti, time.Now().Add(time.Hour)); err != nil {
					t.Error(err)
					return
				}
				got, err := d.Denied(ctx, a, "iss", jti)
				if err != nil || !got {
					t.Errorf("denied=%v err=%v", got, err)
				}
			}()
		}
		wg.Wait()
	})
	t.Run("ContextCanceled", func(t *testing.T) {
		d := h.New(t)
		require.Error(t, d.Deny(canceled(), a, "iss", "j", time.Now().Add(time.Hour)))
		_, err := d.Denied(canceled(), a, "iss", "j")
		require.Error(t, err)
	})
}

// LimiterHarness makes a fresh limiter per subtest.
type LimiterHarness struct {
	New func(t *testing.T) auth.Limiter
}

// RunLimiter runs the brute-force counter suite.
func RunLimiter(t *testing.T, h LimiterHarness) {
	ctx := context.Background()
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
	t.Run("Count", func(t *testing.T) {
		l := h.New(t)
		now := time.Now()
		fc, err := l.Failures(ctx, a, "k", now)
		require.NoError(t, err)
		require.Equal(t, 0, fc.Failures)
		for i := 1; i <= 3; i++ {
			at := now.Add(time.Duration(i) * time.Millisecond)
			fc, err = l.RecordFailure(ctx, a, "k", at, time.Minute)
			require.NoError(t, err)
			require.Equal(t, i, fc.Failures)
			require.WithinDuration(t, at, fc.Last, time.Millisecond)
		}
		fc, err = l.Failures(ctx, a, "k", now.Add(10*time.Millisecond))
		require.NoError(t, err)
		require.Equal(t, 3, fc.Failures)
		require.WithinDuration(t, now.Add(3*time.Millisecond), fc.Last, time.Millisecond)
		require.NoError(t, l.ResetFailures(ctx, a, "k"))
		require.NoError(t, l.ResetFailures(ctx, a, "k"), "resetting twice is fine")
		fc, err = l.Failures(ctx, a, "k", now)
		require.NoError(t, err)
		require.Equal(t, 0, fc.Failures)
	})
	t.Run("TenantIsolation", func(t *testing.T) {
		l := h.New(t)
		now := time.Now()
		_, err := l.RecordFailure(ctx, a, "k", now, time.Minute)
		require.NoError(t, err)
		for _, tn := range []eusaas.TenantID{b, eusaas.NilTenant} {
			fc, err := l.Failures(ctx, tn, "k", now)
			require.NoError(t, err)
			require.Equal(t, 0, fc.Failures)
		}
		fc, err := l.Failures(ctx, a, "other", now)
		require.NoError(t, err)
		require.Equal(t, 0, fc.Failures)
	})
	t.Run("Window", func(t *testing.T) {
		l := h.New(t)
		_, err := l.RecordFailure(ctx, a, "w", time.Now(), 300*time.Millisecond)
		require.NoError(t, err)
		time.Sleep(600 * time.Millisecond)
		now := time.Now()
		fc, err := l.Failures(ctx, a, "w", now)
		require.NoError(t, err)
		require.Equal(t, 0, fc.Failures, "a quiet window forgets the counter")
		fc, err = l.RecordFailure(ctx, a, "w", now, time.Minute)
		require.NoError(t, err)
		require.Equal(t, 1, fc.Failures, "counting restarts")
	})
	t.Run("Concurrent", func(t *testing.T) {
		l := h.New(t)
		var wg sync.WaitGroup
		for i := 0; i < 40; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := l.RecordFailure(ctx, a, "c", time.Now(), time.Minute); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		fc, err := l.Failures(ctx, a, "c", time.Now())
		require.NoError(t, err)
		require.Equal(t, 40, fc.Failures, "increments are atomic")
	})
	t.Run("ContextCanceled", func(t *testing.T) {
		l := h.New(t)
		_, err := l.RecordFailure(canceled(), a, "k", time.Now(), time.Minute)
		require.Error(t, err)
		_, err = l.Failures(canceled(), a, "k", time.Now())
		require.Error(t, err)
	})
}
