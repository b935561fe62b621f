package authtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

func ptr[T any](v T) *T { return &v }

// runUserAdmin covers ListUsers, UpdateUser and RemoveUser with the last-owner rule.
func runUserAdmin(t *testing.T, h Harness) {
	ctx := context.Background()
	t.Run("ListFilterPage", func(t *testing.T) {
		s := h.New(t)
		a, b := s.NewTenant(t), s.NewTenant(t)
		var ids []string
		for i, r := range []auth.Role{auth.RoleOwner, auth.RoleAdmin, auth.RoleMember, auth.RoleMember, auth.RoleViewer} {
			u := newUser(a, string(rune('a'+i))+"@example.com")
			u.Role, u.CreatedAt = r, base.Add(time.Duration(i)*time.Minute)
			u.IsActive = i != 3
			require.NoError(t, s.Users.CreateUser(ctx, u))
			ids = append(ids, u.ID.String())
		}
		require.NoError(t, s.Users.CreateUser(ctx, newUser(b, "other@example.com")))

		all, err := s.Users.ListUsers(ctx, a, auth.UserFilter{}, eusaas.Page{Page: 1, Size: 2})
		require.NoError(t, err)
		require.Equal(t, 5, all.Total)
		require.Len(t, all.Items, 2)
		require.Equal(t, ids[0], all.Items[0].ID.String(), "oldest first")
		require.Equal(t, a, all.Items[0].TenantID)
		last, err := s.Users.ListUsers(ctx, a, auth.UserFilter{}, eusaas.Page{Page: 3, Size: 2})
		require.NoError(t, err)
		require.Len(t, last.Items, 1)
		require.Equal(t, ids[4], last.Items[0].ID.String())
		beyond, err := s.Users.ListUsers(ctx, a, auth.UserFilter{}, eusaas.Page{Page: 9, Size: 2})
		require.NoError(t, err)
		require.Empty(t, beyond.Items)
		require.Equal(t, 5, beyond.Total)

		members, err := s.Users.ListUsers(ctx, a, auth.UserFilter{Role: auth.RoleMember}, eusaas.Page{Page: 1, Size: 10})
		require.NoError(t, err)
		require.Equal(t, 2, members.Total)
		inactive, err := s.Users.ListUsers(ctx, a, auth.UserFilter{Active: ptr(false)}, eusaas.Page{Page: 1, Size: 10})
		require.NoError(t, err)
		require.Equal(t, 1, inactive.Total)
		require.Equal(t, ids[3], inactive.Items[0].ID.String())
		activeMembers, err := s.Users.ListUsers(ctx, a, auth.UserFilter{Role: auth.RoleMember, Active: ptr(true)}, eusaas.Page{Page: 1, Size: 10})
		require.NoError(t, err)
		require.Equal(t, 1, activeMembers.Total)

		ob, err := s.Users.ListUsers(ctx, b, auth.UserFilter{}, eusaas.Page{Page: 1, Size: 10})
		require.NoError(t, err)
		require.Equal(t, 1, ob.Total, "never another tenant's users")
		none, err := s.Users.ListUsers(ctx, eusaas.NilTenant, auth.UserFilter{}, eusaas.Page{Page: 1, Size: 10})
		require.NoError(t, err)
		require.Zero(t, none.Total, "operators are no tenant's users")
	})
	t.Run("Update", func(t *testing.T) {
		s := h.New(t)
		a, b := s.NewTenant(t), s.NewTenant(t)
		u := newUser(a, "m@example.com")
		require.NoError(t, s.Users.CreateUser(ctx, u))
		at := base.Add(time.Hour)
		got, err := s.Users.UpdateUser(ctx, a, u.ID, auth.UserChange{Role: ptr(auth.RoleAdmin), FullName: ptr("Grace Hopper")}, at)
		require.NoError(t, err)
		require.Equal(t, auth.RoleAdmin, got.Role)
		require.Equal(t, "Grace Hopper", got.FullName)
		require.True(t, got.IsActive, "untouched fields stay")
		require.WithinDuration(t, at, got.UpdatedAt, h.precision())
		stored, err := s.Users.GetUser(ctx, a, u.ID)
		require.NoError(t, err)
		require.Equal(t, auth.RoleAdmin, stored.Role)
		require.Equal(t, "Grace Hopper", stored.FullName)
		require.Equal(t, u.PasswordHash, stored.PasswordHash)

		_, err = s.Users.UpdateUser(ctx, b, u.ID, auth.UserChange{IsActive: ptr(false)}, at)
		kind(t, eusaas.NotFound, err, "another tenant's user")
		_, err = s.Users.UpdateUser(ctx, a, newUser(a, "x@example.com").ID, auth.UserChange{IsActive: ptr(false)}, at)
		kind(t, eusaas.NotFound, err)
	})
	t.Run("LastOwner", func(t *testing.T) {
		s := h.New(t)
		a := s.NewTenant(t)
		o1 := newUser(a, "o1@example.com")
		o1.Role = auth.RoleOwner
		require.NoError(t, s.Users.CreateUser(ctx, o1))
		for _, ch := range []auth.UserChange{{Role: ptr(auth.RoleAdmin)}, {IsActive: ptr(false)}} {
			_, err := s.Users.UpdateUser(ctx, a, o1.ID, ch, base)
			require.ErrorIs(t, err, auth.ErrLastOwner)
		}
		require.ErrorIs(t, s.Users.RemoveUser(ctx, a, o1.ID), auth.ErrLastOwner)
		got, err := s.Users.UpdateUser(ctx, a, o1.ID, auth.UserChange{FullName: ptr("Still Owner")}, base)
		require.NoError(t, err, "a change that keeps the owner is fine")
		require.Equal(t, auth.RoleOwner, got.Role)

		o2 := newUser(a, "o2@example.com")
		o2.Role, o2.IsActive = auth.RoleOwner, false
		require.NoError(t, s.Users.CreateUser(ctx, o2))
		_, err = s.Users.UpdateUser(ctx, a, o1.ID, auth.UserChange{Role: ptr(auth.RoleMember)}, base)
		require.ErrorIs(t, err, auth.ErrLastOwner, "an inactive OWNER does not count")
		_, err = s.Users.UpdateUser(ctx, a, o2.ID, auth.UserChange{IsActive: ptr(true)}, base)
		require.NoError(t, err)
		_, err = s.Users.UpdateUser(ctx, a, o1.ID, auth.UserChange{Role: ptr(auth.RoleMember)}, base)
		require.NoError(t, err, "another active OWNER remains")
		require.ErrorIs(t, s.Users.RemoveUser(ctx, a, o2.ID), auth.ErrLastOwner)

		require.NoError(t, s.Users.RemoveUser(ctx, a, o1.ID))
		_, err = s.Users.GetUser(ctx, a, o1.ID)
		kind(t, eusaas.NotFound, err)
		kind(t, eusaas.NotFound, s.Users.RemoveUser(ctx, a, o1.ID))
	})
	t.Run("ConcurrentDemotion", func(t *testing.T) {
		s := h.New(t)
		a := s.NewTenant(t)
		owners := make([]auth.User, 4)
		for i := range owners {
			owners[i] = newUser(a, string(rune('p'+i))+"@example.com")
			owners[i].Role = auth.RoleOwner
			require.NoError(t, s.Users.CreateUser(ctx, owners[i]))
		}
		var wg sync.WaitGroup
		errs := make([]error, len(owners))
		for i := range owners {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i%2 == 0 {
					_, errs[i] = s.Users.UpdateUser(ctx, a, owners[i].ID, auth.UserChange{IsActive: ptr(false)}, base)
				} else {
					errs[i] = s.Users.RemoveUser(ctx, a, owners[i].ID)
				}
			}()
		}
		wg.Wait()
		refused := 0
		for _, err := range errs {
			if err != nil {
				require.ErrorIs(t, err, auth.ErrLastOwner)
				refused++
			}
		}
		require.Equal(t, 1, refused, "exactly one owner survives")
		left, err := s.Users.ListUsers(ctx, a, auth.UserFilter{Role: auth.RoleOwner, Active: ptr(true)}, eusaas.Page{Page: 1, Size: 10})
		require.NoError(t, err)
		require.Equal(t, 1, left.Total)
	})
}

// runPendingInvitations covers ListPendingInvitations and DeleteInvitation.
func runPendingInvitations(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.New(t)
	a, b := s.NewTenant(t), s.NewTenant(t)
	now := base.Add(30 * time.Minute)
	p1 := newInvitation(a, "p1@example.com", "p1", base.Add(time.Hour))
	p2 := newInvitation(a, "p2@example.com", "p2", base.Add(time.Hour))
	p2.CreatedAt = base.Add(time.Minute)
	used := newInvitation(a, "u@example.com", "u", base.Add(time.Hour))
	expired := newInvitation(a, "e@example.com", "e", base.Add(time.Minute))
	for _, inv := range []auth.Invitation{p2, p1, used, expired, newInvitation(b, "b@example.com", "b", base.Add(time.Hour))} {
		require.NoError(t, s.Invitations.CreateInvitation(ctx, inv))
	}
	_, err := s.Invitations.ConsumeInvitation(ctx, a, hashOf("u"), base)
	require.NoError(t, err)

	l, err := s.Invitations.ListPendingInvitations(ctx, a, now, eusaas.Page{Page: 1, Size: 10})
	require.NoError(t, err)
	require.Equal(t, 2, l.Total, "used and expired ones are not pending")
	require.Equal(t, p1.ID, l.Items[0].ID, "oldest first")
	require.Equal(t, p2.ID, l.Items[1].ID)
	require.Equal(t, "p1@example.com", l.Items[0].Email)
	require.Equal(t, auth.RoleAdmin, l.Items[0].Role)
	require.Empty(t, l.Items[0].TokenHash, "the hash is not listed")
	page2, err := s.Invitations.ListPendingInvitations(ctx, a, now, eusaas.Page{Page: 2, Size: 1})
	require.NoError(t, err)
	require.Len(t, page2.Items, 1)
	require.Equal(t, p2.ID, page2.Items[0].ID)

	_, err = s.Invitations.DeleteInvitation(ctx, b, p1.ID, now)
	kind(t, eusaas.NotFound, err, "another tenant's invitation")
	_, err = s.Invitations.DeleteInvitation(ctx, a, used.ID, now)
	kind(t, eusaas.NotFound, err, "a used invitation is not pending")
	_, err = s.Invitations.DeleteInvitation(ctx, a, expired.ID, now)
	kind(t, eusaas.NotFound, err)
	got, err := s.Invitations.DeleteInvitation(ctx, a, p1.ID, now)
	require.NoError(t, err)
	require.Equal(t, "p1@example.com", got.Email)
	_, err = s.Invitations.DeleteInvitation(ctx, a, p1.ID, now)
	kind(t, eusaas.NotFound, err)
	_, err = s.Invitations.ConsumeInvitation(ctx, a, hashOf("p1"), base)
	kind(t, eusaas.NotFound, err, "a deleted invitation registers nobody")
}
