package authtest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

func newServiceAccount(name string, created time.Time) auth.ServiceAccount {
	return auth.ServiceAccount{ID: uuid.Must(uuid.NewV7()), Name: name, ClientID: "svc_" + uuid.NewString(),
		SecretHash: randomHash(), CreatedAt: created, CreatedBy: uuid.NewString()}
}

func runServiceAccounts(t *testing.T, h Harness) {
	ctx := context.Background()
	store := func(t *testing.T) auth.ServiceAccountStore {
		s := h.New(t)
		require.NotNil(t, s.ServiceAccounts, "the harness must provide ServiceAccounts")
		return s.ServiceAccounts
	}
	t.Run("CreateGet", func(t *testing.T) {
		s := store(t)
		a := newServiceAccount("metering agent", base)
		require.NoError(t, s.CreateServiceAccount(ctx, a))
		for _, get := range []func() (auth.ServiceAccount, error){
			func() (auth.ServiceAccount, error) { return s.GetServiceAccount(ctx, a.ID) },
			func() (auth.ServiceAccount, error) { return s.GetServiceAccountByClientID(ctx, a.ClientID) },
		} {
			got, err := get()
			require.NoError(t, err)
			require.Equal(t, a.ID, got.ID)
			require.Equal(t, a.Name, got.Name)
			require.Equal(t, a.ClientID, got.ClientID)
			require.Equal(t, a.SecretHash, got.SecretHash)
			require.Equal(t, a.CreatedBy, got.CreatedBy)
			require.True(t, a.CreatedAt.Equal(got.CreatedAt), "%s != %s", a.CreatedAt, got.CreatedAt)
			require.True(t, got.Active())
		}
		_, err := s.GetServiceAccount(ctx, uuid.New())
		kind(t, eusaas.NotFound, err)
		_, err = s.GetServiceAccountByClientID(ctx, "svc_unknown")
		kind(t, eusaas.NotFound, err)
	})
	t.Run("Duplicate", func(t *testing.T) {
		s := store(t)
		a := newServiceAccount("a", base)
		require.NoError(t, s.CreateServiceAccount(ctx, a))
		b := newServiceAccount("b", base)
		b.ClientID = a.ClientID
		kind(t, eusaas.AlreadyExists, s.CreateServiceAccount(ctx, b), "client id taken")
		c := newServiceAccount("c", base)
		c.ID = a.ID
		kind(t, eusaas.AlreadyExists, s.CreateServiceAccount(ctx, c), "id taken")
	})
	t.Run("ListAndRevoke", func(t *testing.T) {
		s := store(t)
		list, err := s.ListServiceAccounts(ctx)
		require.NoError(t, err)
		require.Empty(t, list)
		// Created out of order: the list is ordered by created_at.
		b := newServiceAccount("b", base.Add(time.Hour))
		a := newServiceAccount("a", base)
		c := newServiceAccount("c", base.Add(2*time.Hour))
		for _, x := range []auth.ServiceAccount{b, a, c} {
			require.NoError(t, s.CreateServiceAccount(ctx, x))
		}
		list, err = s.ListServiceAccounts(ctx)
		require.NoError(t, err)
		require.Len(t, list, 3)
		require.Equal(t, []uuid.UUID{a.ID, b.ID, c.ID}, []uuid.UUID{list[0].ID, list[1].ID, list[2].ID})

		at := base.Add(3 * time.Hour)
		require.NoError(t, s.RevokeServiceAccount(ctx, b.ID, at))
		kind(t, eusaas.NotFound, s.RevokeServiceAccount(ctx, b.ID, at.Add(time.Hour)), "already revoked")
		kind(t, eusaas.NotFound, s.RevokeServiceAccount(ctx, uuid.New(), at), "absent")
		got, err := s.GetServiceAccount(ctx, b.ID)
		require.NoError(t, err, "a revoked account is still readable")
		require.False(t, got.Active())
		require.True(t, at.Equal(got.RevokedAt), "the first revocation time is kept: %s", got.RevokedAt)
		got, err = s.GetServiceAccountByClientID(ctx, b.ClientID)
		require.NoError(t, err)
		require.False(t, got.Active())
		list, err = s.ListServiceAccounts(ctx)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{a.ID, c.ID}, []uuid.UUID{list[0].ID, list[1].ID})
		require.Len(t, list, 2)
	})
	t.Run("ContextCanceled", func(t *testing.T) {
		s := store(t)
		a := newServiceAccount("a", base)
		require.NoError(t, s.CreateServiceAccount(ctx, a))
		c := canceled()
		require.Error(t, s.CreateServiceAccount(c, newServiceAccount("b", base)))
		_, err := s.GetServiceAccount(c, a.ID)
		require.Error(t, err)
		_, err = s.GetServiceAccountByClientID(c, a.ClientID)
		require.Error(t, err)
		_, err = s.ListServiceAccounts(c)
		require.Error(t, err)
		require.Error(t, s.RevokeServiceAccount(c, a.ID, base))
		list, err := s.ListServiceAccounts(ctx)
		require.NoError(t, err)
		require.Len(t, list, 1, "nothing created or revoked under a canceled context")
	})
	t.Run("Concurrent", func(t *testing.T) {
		s := store(t)
		const n = 16
		accounts := make([]auth.ServiceAccount, n)
		var wg sync.WaitGroup
		for i := range accounts {
			accounts[i] = newServiceAccount(fmt.Sprintf("agent-%d", i), base)
			wg.Add(1)
			go func(a auth.ServiceAccount) {
				defer wg.Done()
				if err := s.CreateServiceAccount(ctx, a); err != nil {
					t.Error(err)
				}
			}(accounts[i])
		}
		wg.Wait()
		// n concurrent revocations of one account: exactly one wins.
		var won, lost atomic.Int32
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.RevokeServiceAccount(ctx, accounts[0].ID, base.Add(time.Hour))
				if err == nil {
					won.Add(1)
				} else if eusaas.KindOf(err) == eusaas.NotFound {
					lost.Add(1)
				}
			}()
		}
		wg.Wait()
		require.Equal(t, int32(1), won.Load())
		require.Equal(t, int32(n-1), lost.Load())
		list, err := s.ListServiceAccounts(ctx)
		require.NoError(t, err)
		require.Len(t, list, n-1)
	})
	t.Run("TxRollback", func(t *testing.T) {
		st := h.New(t)
		if st.Tx == nil {
			t.Skip("the adapter has no transaction runner")
		}
		s := st.ServiceAccounts
		a := newServiceAccount("a", base)
		require.NoError(t, s.CreateServiceAccount(ctx, a))
		b := newServiceAccount("b", base)
		boom := eusaas.E(eusaas.Internal, "boom")
		err := st.Tx.InTx(ctx, func(ctx context.Context) error {
			require.NoError(t, s.CreateServiceAccount(ctx, b))
			require.NoError(t, s.RevokeServiceAccount(ctx, a.ID, base))
			return boom
		})
		require.ErrorIs(t, err, boom)
		_, err = s.GetServiceAccount(ctx, b.ID)
		kind(t, eusaas.NotFound, err, "the creation is rolled back")
		got, err := s.GetServiceAccount(ctx, a.ID)
		require.NoError(t, err)
		require.True(t, got.Active(), "the revocation is rolled back")
	})
}
