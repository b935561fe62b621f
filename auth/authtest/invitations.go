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

func newInvitation(tenant eusaas.TenantID, email, token string, expires time.Time) auth.Invitation {
	return auth.Invitation{ID: uuid.Must(uuid.NewV7()), TenantID: tenant, Email: email, Role: auth.RoleAdmin,
		TokenHash: hashOf(token), CreatedBy: "system", CreatedAt: base, ExpiresAt: expires}
}

// runInvitations covers InvitationStore: single use, expiry and erasure by email.
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
