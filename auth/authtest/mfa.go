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

// runMFA covers MFAStore for tenant users and operators: pending and confirmed enrolments,
// step replay, single-use recovery codes, isolation and erasure with the account.
func runMFA(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.New(t)
	if s.MFA == nil {
		t.Skip("adapter has no MFA store")
	}
	m := s.MFA
	a, b := s.NewTenant(t), s.NewTenant(t)
	u := newUser(a, "mfa@example.com")
	require.NoError(t, s.Users.CreateUser(ctx, u))
	op := newUser(eusaas.NilTenant, "op-mfa-"+uuid.NewString()[:8]+"@example.com")
	op.Role = ""
	require.NoError(t, s.Operators.CreateOperator(ctx, op))

	kind(t, eusaas.NotFound, m.SetPendingTOTP(ctx, a, uuid.New(), []byte("s"), base), "unknown account")
	kind(t, eusaas.NotFound, m.SetPendingTOTP(ctx, b, u.ID, []byte("s"), base), "another tenant's user")
	_, err := m.GetTOTP(ctx, a, u.ID)
	kind(t, eusaas.NotFound, err, "none yet")

	require.NoError(t, m.SetPendingTOTP(ctx, a, u.ID, []byte("first"), base))
	require.NoError(t, m.SetPendingTOTP(ctx, a, u.ID, []byte("second"), base.Add(time.Second)), "a pending enrolment is replaced")
	e, err := m.GetTOTP(ctx, a, u.ID)
	require.NoError(t, err)
	require.Equal(t, []byte("second"), e.Secret)
	require.False(t, e.Enabled())
	require.WithinDuration(t, base.Add(time.Second), e.CreatedAt, h.precision())
	_, err = m.GetTOTP(ctx, b, u.ID)
	kind(t, eusaas.NotFound, err, "never through another tenant")
	kind(t, eusaas.NotFound, m.UseTOTPStep(ctx, a, u.ID, 10), "a pending enrolment verifies no login")
	_, err = m.UseRecoveryCode(ctx, a, u.ID, hashOf("r"))
	kind(t, eusaas.NotFound, err)

	kind(t, eusaas.NotFound, m.ConfirmTOTP(ctx, b, u.ID, 100, [][]byte{hashOf("r1")}, base), "another tenant")
	at := base.Add(time.Minute)
	require.NoError(t, m.ConfirmTOTP(ctx, a, u.ID, 100, [][]byte{hashOf("r1"), hashOf("r2")}, at))
	kind(t, eusaas.NotFound, m.ConfirmTOTP(ctx, a, u.ID, 101, nil, at), "confirmed once")
	kind(t, eusaas.FailedPrecondition, m.SetPendingTOTP(ctx, a, u.ID, []byte("third"), at), "an enabled factor is not replaced")
	e, err = m.GetTOTP(ctx, a, u.ID)
	require.NoError(t, err)
	require.True(t, e.Enabled())
	require.Equal(t, []byte("second"), e.Secret)
	require.Equal(t, int64(100), e.LastStep)
	require.Len(t, e.RecoveryHashes, 2)
	require.WithinDuration(t, at, e.ConfirmedAt, h.precision())

	kind(t, eusaas.Aborted, m.UseTOTPStep(ctx, a, u.ID, 100), "the confirming step is used")
	kind(t, eusaas.Aborted, m.UseTOTPStep(ctx, a, u.ID, 99), "an earlier step is a replay")
	require.NoError(t, m.UseTOTPStep(ctx, a, u.ID, 101))
	kind(t, eusaas.Aborted, m.UseTOTPStep(ctx, a, u.ID, 101), "replay of the same step")
	kind(t, eusaas.NotFound, m.UseTOTPStep(ctx, b, u.ID, 200))

	var won atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch err := m.UseTOTPStep(ctx, a, u.ID, 150); {
			case err == nil:
				won.Add(1)
			case eusaas.KindOf(err) != eusaas.Aborted:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	require.Equal(t, int32(1), won.Load(), "one step, one use, even concurrently")

	_, err = m.UseRecoveryCode(ctx, b, u.ID, hashOf("r1"))
	kind(t, eusaas.NotFound, err, "never through another tenant")
	left, err := m.UseRecoveryCode(ctx, a, u.ID, hashOf("r1"))
	require.NoError(t, err)
	require.Equal(t, 1, left)
	_, err = m.UseRecoveryCode(ctx, a, u.ID, hashOf("r1"))
	kind(t, eusaas.NotFound, err, "single use")
	_, err = m.UseRecoveryCode(ctx, a, u.ID, hashOf("nope"))
	kind(t, eusaas.NotFound, err)

	kind(t, eusaas.NotFound, m.DeleteTOTP(ctx, b, u.ID))
	require.NoError(t, m.DeleteTOTP(ctx, a, u.ID))
	kind(t, eusaas.NotFound, m.DeleteTOTP(ctx, a, u.ID))
	require.NoError(t, m.SetPendingTOTP(ctx, a, u.ID, []byte("again"), at), "after disabling, a new enrolment may start")

	// Operators.
	require.NoError(t, m.SetPendingTOTP(ctx, eusaas.NilTenant, op.ID, []byte("op"), base))
	require.NoError(t, m.ConfirmTOTP(ctx, eusaas.NilTenant, op.ID, 5, [][]byte{hashOf("op-r")}, base))
	_, err = m.GetTOTP(ctx, a, op.ID)
	kind(t, eusaas.NotFound, err, "an operator's factor is no tenant's")
	require.NoError(t, m.UseTOTPStep(ctx, eusaas.NilTenant, op.ID, 6))
	left, err = m.UseRecoveryCode(ctx, eusaas.NilTenant, op.ID, hashOf("op-r"))
	require.NoError(t, err)
	require.Equal(t, 0, left)

	// Erasing the user erases the factor.
	n, err := s.Users.DeleteUser(ctx, a, u.ID)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = m.GetTOTP(ctx, a, u.ID)
	kind(t, eusaas.NotFound, err)

	_, err = m.GetTOTP(canceled(), eusaas.NilTenant, op.ID)
	require.Error(t, err)
}

// runAPIKeys covers APIKeyStore: create, look up by hash, list active ones in order,
// revoke once, touch at most as asked, tenant isolation.
func runAPIKeys(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.New(t)
	if s.APIKeys == nil {
		t.Skip("adapter has no API key store")
	}
	k := s.APIKeys
	a, b := s.NewTenant(t), s.NewTenant(t)
	mk := func(tenant eusaas.TenantID, name string, at time.Time) auth.APIKey {
		return auth.APIKey{ID: uuid.Must(uuid.NewV7()), TenantID: tenant, Name: name,
			Scopes: []auth.Permission{auth.PermUsageWrite, auth.PermCostsRead}, Prefix: "eusk_" + name,
			KeyHash: hashOf(name + tenant.String()), CreatedBy: "u1", CreatedAt: at}
	}
	k1, k2 := mk(a, "one", base), mk(a, "two", base.Add(time.Second))
	require.NoError(t, k.CreateAPIKey(ctx, k2))
	require.NoError(t, k.CreateAPIKey(ctx, k1))
	dup := k1
	dup.ID = uuid.Must(uuid.NewV7())
	kind(t, eusaas.AlreadyExists, k.CreateAPIKey(ctx, dup), "hash taken")
	require.NoError(t, k.CreateAPIKey(ctx, mk(b, "other", base)))

	got, err := k.GetAPIKeyByHash(ctx, a, k1.KeyHash)
	require.NoError(t, err)
	require.Equal(t, k1.ID, got.ID)
	require.Equal(t, a, got.TenantID)
	require.Equal(t, "one", got.Name)
	require.Equal(t, k1.Scopes, got.Scopes)
	require.Equal(t, k1.Prefix, got.Prefix)
	require.Equal(t, "u1", got.CreatedBy)
	require.True(t, got.LastUsedAt.IsZero())
	require.True(t, got.Active())
	_, err = k.GetAPIKeyByHash(ctx, b, k1.KeyHash)
	kind(t, eusaas.NotFound, err, "never through another tenant")

	list, err := k.ListAPIKeys(ctx, a)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, []uuid.UUID{k1.ID, k2.ID}, []uuid.UUID{list[0].ID, list[1].ID}, "oldest first")

	t1 := base.Add(time.Hour)
	require.NoError(t, k.TouchAPIKey(ctx, a, k1.ID, t1, t1.Add(-time.Minute)))
	require.NoError(t, k.TouchAPIKey(ctx, a, k1.ID, t1.Add(time.Second), t1.Add(-59*time.Second)), "too soon: kept")
	require.NoError(t, k.TouchAPIKey(ctx, b, k1.ID, t1.Add(time.Hour), t1.Add(time.Hour)), "another tenant: nothing")
	got, err = k.GetAPIKeyByHash(ctx, a, k1.KeyHash)
	require.NoError(t, err)
	require.WithinDuration(t, t1, got.LastUsedAt, h.precision())

	kind(t, eusaas.NotFound, k.RevokeAPIKey(ctx, b, k1.ID, t1), "another tenant")
	require.NoError(t, k.RevokeAPIKey(ctx, a, k1.ID, t1))
	kind(t, eusaas.NotFound, k.RevokeAPIKey(ctx, a, k1.ID, t1.Add(time.Second)), "revoked once")
	got, err = k.GetAPIKeyByHash(ctx, a, k1.KeyHash)
	require.NoError(t, err, "revoked keys stay, to be refused")
	require.False(t, got.Active())
	require.WithinDuration(t, t1, got.RevokedAt, h.precision())
	list, err = k.ListAPIKeys(ctx, a)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, k2.ID, list[0].ID)

	_, err = k.ListAPIKeys(canceled(), a)
	require.Error(t, err)
}
