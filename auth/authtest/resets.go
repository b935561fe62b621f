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
)

// runPasswordResets covers PasswordResetStore for tenant users and operators.
func runPasswordResets(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.New(t)
	if s.PasswordResets == nil {
		t.Skip("adapter has no password reset store")
	}
	r := s.PasswordResets
	a, b := s.NewTenant(t), s.NewTenant(t)
	u := newUser(a, "reset@example.com")
	require.NoError(t, s.Users.CreateUser(ctx, u))
	op := newUser(eusaas.NilTenant, "op-reset-"+uuid.NewString()[:8]+"@example.com")
	op.Role = ""
	require.NoError(t, s.Operators.CreateOperator(ctx, op))

	kind(t, eusaas.NotFound, r.SetPasswordReset(ctx, a, uuid.New(), hashOf("x"), base.Add(time.Hour)), "unknown account")
	kind(t, eusaas.NotFound, r.SetPasswordReset(ctx, b, u.ID, hashOf("x"), base.Add(time.Hour)), "another tenant's user")

	require.NoError(t, r.SetPasswordReset(ctx, a, u.ID, hashOf("first"), base.Add(time.Hour)))
	require.NoError(t, r.SetPasswordReset(ctx, a, u.ID, hashOf("second"), base.Add(time.Hour)))
	_, err := r.ConsumePasswordReset(ctx, a, hashOf("first"), base)
	kind(t, eusaas.NotFound, err, "a new request voids the earlier token")
	_, err = r.ConsumePasswordReset(ctx, b, hashOf("second"), base)
	kind(t, eusaas.NotFound, err, "never through another tenant")
	_, err = r.ConsumePasswordReset(ctx, eusaas.NilTenant, hashOf("second"), base)
	kind(t, eusaas.NotFound, err, "a user's token is no operator's")
	_, err = r.ConsumePasswordReset(ctx, a, hashOf("second"), base.Add(time.Hour))
	kind(t, eusaas.NotFound, err, "expired at ExpiresAt")
	id, err := r.ConsumePasswordReset(ctx, a, hashOf("second"), base)
	require.NoError(t, err)
	require.Equal(t, u.ID, id)
	_, err = r.ConsumePasswordReset(ctx, a, hashOf("second"), base)
	kind(t, eusaas.NotFound, err, "single use")

	require.NoError(t, r.SetPasswordReset(ctx, eusaas.NilTenant, op.ID, hashOf("op"), base.Add(time.Hour)))
	id, err = r.ConsumePasswordReset(ctx, eusaas.NilTenant, hashOf("op"), base)
	require.NoError(t, err)
	require.Equal(t, op.ID, id)

	// Erasing the user erases its reset.
	require.NoError(t, r.SetPasswordReset(ctx, a, u.ID, hashOf("erased"), base.Add(time.Hour)))
	n, err := s.Users.DeleteUser(ctx, a, u.ID)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = r.ConsumePasswordReset(ctx, a, hashOf("erased"), base)
	kind(t, eusaas.NotFound, err)

	// Concurrent use: exactly one wins.
	v := newUser(a, "race@example.com")
	require.NoError(t, s.Users.CreateUser(ctx, v))
	require.NoError(t, r.SetPasswordReset(ctx, a, v.ID, hashOf("race"), base.Add(time.Hour)))
	var won atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := r.ConsumePasswordReset(ctx, a, hashOf("race"), base)
			switch {
			case err == nil:
				won.Add(1)
			case eusaas.KindOf(err) != eusaas.NotFound:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	require.Equal(t, int32(1), won.Load())
}

// runEmailVerifications covers EmailVerificationStore and the EmailVerified round trip.
func runEmailVerifications(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.New(t)
	if s.EmailVerifications == nil {
		t.Skip("adapter has no e-mail verification store")
	}
	r := s.EmailVerifications
	a, b := s.NewTenant(t), s.NewTenant(t)
	u := newUser(a, "verify@example.com")
	require.NoError(t, s.Users.CreateUser(ctx, u))
	w := newUser(a, "verified@example.com")
	w.EmailVerified = true
	require.NoError(t, s.Users.CreateUser(ctx, w))
	got, err := s.Users.GetUser(ctx, a, w.ID)
	require.NoError(t, err)
	require.True(t, got.EmailVerified, "the flag round-trips")
	got, err = s.Users.GetUser(ctx, a, u.ID)
	require.NoError(t, err)
	require.False(t, got.EmailVerified)

	kind(t, eusaas.NotFound, r.SetEmailVerification(ctx, b, u.ID, hashOf("v"), base.Add(time.Hour)))
	require.NoError(t, r.SetEmailVerification(ctx, a, u.ID, hashOf("v1"), base.Add(time.Hour)))
	require.NoError(t, r.SetEmailVerification(ctx, a, u.ID, hashOf("v2"), base.Add(time.Hour)))
	_, err = r.ConsumeEmailVerification(ctx, a, hashOf("v1"), base)
	kind(t, eusaas.NotFound, err, "replaced")
	_, err = r.ConsumeEmailVerification(ctx, b, hashOf("v2"), base)
	kind(t, eusaas.NotFound, err, "never through another tenant")
	_, err = r.ConsumeEmailVerification(ctx, a, hashOf("v2"), base.Add(time.Hour))
	kind(t, eusaas.NotFound, err, "expired")
	at := base.Add(time.Minute)
	id, err := r.ConsumeEmailVerification(ctx, a, hashOf("v2"), at)
	require.NoError(t, err)
	require.Equal(t, u.ID, id)
	got, err = s.Users.GetUser(ctx, a, u.ID)
	require.NoError(t, err)
	require.True(t, got.EmailVerified)
	require.WithinDuration(t, at, got.UpdatedAt, h.precision())
	_, err = r.ConsumeEmailVerification(ctx, a, hashOf("v2"), at)
	kind(t, eusaas.NotFound, err, "single use")
}
