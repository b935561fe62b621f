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

func newSession(tenant eusaas.TenantID, user uuid.UUID) auth.Session {
	return auth.Session{ID: uuid.New(), TenantID: tenant, UserID: user, TokenHash: randomHash(),
		CreatedAt: base, RotatedAt: base, ExpiresAt: base.Add(7 * 24 * time.Hour), UserAgent: "test-agent/1", IP: "192.0.2.10"}
}

// runSessions covers SessionStore for tenant and operator sessions alike: compare-and-swap
// rotation, revocation and concurrent rotations.
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
			require.Equal(t, x.UserAgent, got.UserAgent)
			require.Equal(t, x.IP, got.IP)

			// The user's live sessions, oldest first; another user's are not listed.
			w := newSession(tenant, user)
			w.CreatedAt, w.UserAgent, w.IP = base.Add(time.Second), "other-agent/2", "2001:db8::7"
			require.NoError(t, s.Sessions.CreateSession(ctx, w))
			require.NoError(t, s.Sessions.CreateSession(ctx, newSession(tenant, uuid.New())))
			list, err := s.Sessions.ListUserSessions(ctx, tenant, user)
			require.NoError(t, err)
			require.Len(t, list, 2)
			require.Equal(t, []uuid.UUID{x.ID, w.ID}, []uuid.UUID{list[0].ID, list[1].ID})
			require.Equal(t, "other-agent/2", list[1].UserAgent)
			require.Equal(t, "2001:db8::7", list[1].IP)
			require.NoError(t, s.Sessions.RevokeSession(ctx, tenant, w.ID, base.Add(2*time.Second), "logout"))
			list, err = s.Sessions.ListUserSessions(ctx, tenant, user)
			require.NoError(t, err)
			require.Len(t, list, 1, "revoked sessions are not listed")
			list, err = s.Sessions.ListUserSessions(ctx, tenant, uuid.New())
			require.NoError(t, err)
			require.Empty(t, list)

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
			require.Equal(t, 4, n, "x, w (revoked by logout), y and z")
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
