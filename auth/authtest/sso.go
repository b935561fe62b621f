package authtest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

func runSSOConfigs(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.New(t)
	if s.SSO == nil {
		t.Skip("adapter has no SSO configuration store")
	}
	a, b := s.NewTenant(t), s.NewTenant(t)
	_, err := s.SSO.GetSSOConfig(ctx, a)
	kind(t, eusaas.NotFound, err, "none yet")
	kind(t, eusaas.NotFound, s.SSO.DeleteSSOConfig(ctx, a), "nothing to delete")

	c := auth.SSOConfig{TenantID: a, Issuer: "https://idp.example.com", ClientID: "eusaas", SealedSecret: []byte{1, 2, 3},
		AllowedDomains: []string{"example.com", "example.org"}, DefaultRole: auth.RoleViewer, Enforce: true, UpdatedAt: base}
	require.NoError(t, s.SSO.PutSSOConfig(ctx, c))
	got, err := s.SSO.GetSSOConfig(ctx, a)
	require.NoError(t, err)
	require.Equal(t, c.Issuer, got.Issuer)
	require.Equal(t, c.ClientID, got.ClientID)
	require.Equal(t, c.SealedSecret, got.SealedSecret)
	require.Equal(t, c.AllowedDomains, got.AllowedDomains)
	require.Equal(t, c.DefaultRole, got.DefaultRole)
	require.True(t, got.Enforce)
	require.True(t, got.UpdatedAt.Equal(base))
	require.Equal(t, a, got.TenantID)
	_, err = s.SSO.GetSSOConfig(ctx, b)
	kind(t, eusaas.NotFound, err, "never through another tenant")
	kind(t, eusaas.NotFound, s.SSO.DeleteSSOConfig(ctx, b), "never through another tenant")

	// Replacing keeps one row; a public client has no secret.
	c.ClientID, c.SealedSecret, c.Enforce, c.AllowedDomains = "other", nil, false, []string{"example.net"}
	require.NoError(t, s.SSO.PutSSOConfig(ctx, c))
	got, err = s.SSO.GetSSOConfig(ctx, a)
	require.NoError(t, err)
	require.Equal(t, "other", got.ClientID)
	require.Empty(t, got.SealedSecret)
	require.False(t, got.Enforce)
	require.Equal(t, []string{"example.net"}, got.AllowedDomains)

	require.NoError(t, s.SSO.DeleteSSOConfig(ctx, a))
	_, err = s.SSO.GetSSOConfig(ctx, a)
	kind(t, eusaas.NotFound, err, "deleted")

	if s.Tx != nil {
		boom := eusaas.E(eusaas.Internal, "boom")
		err = s.Tx.InTx(ctx, func(ctx context.Context) error {
			require.NoError(t, s.SSO.PutSSOConfig(ctx, c))
			return boom
		})
		require.ErrorIs(t, err, boom)
		_, err = s.SSO.GetSSOConfig(ctx, a)
		kind(t, eusaas.NotFound, err, "rolled back")
	}
	require.Error(t, s.SSO.PutSSOConfig(canceled(), c))
}

// SSOStateHarness makes a fresh SSO state store.
type SSOStateHarness struct {
	New func(t *testing.T) auth.SSOStateStore
}

// RunSSOStates is the suite of auth.SSOStateStore.
func RunSSOStates(t *testing.T, h SSOStateHarness) {
	ctx := context.Background()
	t.Run("SingleUse", func(t *testing.T) {
		s := h.New(t)
		tenant := eusaas.NewTenantID()
		st := auth.SSOState{StateHash: randomHash(), TenantID: tenant, Nonce: "n1", Verifier: "v1",
			CreatedAt: base, ExpiresAt: base.Add(10 * time.Minute)}
		require.NoError(t, s.PutSSOState(ctx, st))
		kind(t, eusaas.AlreadyExists, s.PutSSOState(ctx, st), "hash taken")
		_, err := s.ConsumeSSOState(ctx, randomHash(), base)
		kind(t, eusaas.NotFound, err, "unknown")
		got, err := s.ConsumeSSOState(ctx, st.StateHash, base.Add(time.Minute))
		require.NoError(t, err)
		require.Equal(t, tenant, got.TenantID)
		require.Equal(t, "n1", got.Nonce)
		require.Equal(t, "v1", got.Verifier)
		require.True(t, got.ExpiresAt.Equal(st.ExpiresAt))
		_, err = s.ConsumeSSOState(ctx, st.StateHash, base.Add(time.Minute))
		kind(t, eusaas.NotFound, err, "used: a replay is refused")
	})
	t.Run("Expired", func(t *testing.T) {
		s := h.New(t)
		st := auth.SSOState{StateHash: randomHash(), TenantID: eusaas.NewTenantID(), Nonce: "n", Verifier: "v",
			CreatedAt: base, ExpiresAt: base.Add(time.Minute)}
		require.NoError(t, s.PutSSOState(ctx, st))
		_, err := s.ConsumeSSOState(ctx, st.StateHash, base.Add(time.Minute))
		kind(t, eusaas.NotFound, err, "expired at ExpiresAt")
		_, err = s.ConsumeSSOState(ctx, st.StateHash, base)
		kind(t, eusaas.NotFound, err, "an expired state is removed when met")
	})
	t.Run("Purge", func(t *testing.T) {
		s := h.New(t)
		old := auth.SSOState{StateHash: randomHash(), TenantID: eusaas.NewTenantID(), Nonce: "n", Verifier: "v",
			CreatedAt: base, ExpiresAt: base.Add(time.Minute)}
		live := old
		live.StateHash, live.ExpiresAt = randomHash(), base.Add(time.Hour)
		require.NoError(t, s.PutSSOState(ctx, old))
		require.NoError(t, s.PutSSOState(ctx, live))
		n, err := s.PurgeSSOStates(ctx, base.Add(time.Minute))
		require.NoError(t, err)
		require.GreaterOrEqual(t, n, 1)
		_, err = s.ConsumeSSOState(ctx, old.StateHash, base)
		kind(t, eusaas.NotFound, err, "purged")
		_, err = s.ConsumeSSOState(ctx, live.StateHash, base)
		require.NoError(t, err, "a live state survives the purge")
	})
	t.Run("ConcurrentConsume", func(t *testing.T) {
		s := h.New(t)
		st := auth.SSOState{StateHash: randomHash(), TenantID: eusaas.NewTenantID(), Nonce: "n", Verifier: "v",
			CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
		require.NoError(t, s.PutSSOState(ctx, st))
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if _, err := s.ConsumeSSOState(ctx, st.StateHash, base); err == nil {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		require.EqualValues(t, 1, wins.Load(), "exactly one consumption succeeds")
	})
	t.Run("Canceled", func(t *testing.T) {
		s := h.New(t)
		require.Error(t, s.PutSSOState(canceled(), auth.SSOState{StateHash: randomHash(), ExpiresAt: base}))
	})
}
