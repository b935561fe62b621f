package authtest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

// runOperators covers OperatorStore.
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
