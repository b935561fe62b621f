// Package authtest is the conformance suite of the auth module's storage ports. An adapter
// proves itself by running Run (user, operator, session, invitation and service account
// stores), RunDenylist and RunLimiter from a test of its own package:
//
//	func TestConformanceAuth(t *testing.T) {
//		authtest.Run(t, authtest.Harness{New: func(t *testing.T) authtest.Stores { ... }})
//	}
package authtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

// The suite is one file per area, as River's riverdrivertest is: users.go, operators.go,
// sessions.go, invitations.go, serviceaccounts.go, denylist.go and limiter.go; this file
// holds the harness, the shared helpers and the checks that span every store (tenant
// isolation, cancellation, rollback).

// Stores is one fresh set of stores of the adapter under test.
type Stores struct {
	Users       auth.UserStore
	Operators   auth.OperatorStore
	Sessions    auth.SessionStore
	Invitations auth.InvitationStore
	// ServiceAccounts is the adapter's service account store (platform storage).
	ServiceAccounts auth.ServiceAccountStore
	// PasswordResets is the adapter's reset store (nil: that part is skipped).
	PasswordResets auth.PasswordResetStore
	// EmailVerifications is the adapter's verification store (nil: that part is skipped).
	EmailVerifications auth.EmailVerificationStore
	// MFA is the adapter's TOTP enrolment store (nil: that part is skipped).
	MFA auth.MFAStore
	// APIKeys is the adapter's tenant API key store (nil: that part is skipped).
	APIKeys auth.APIKeyStore
	// SSO is the adapter's SSO configuration store (nil: that part is skipped).
	SSO auth.SSOConfigStore
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
	t.Run("UserAdmin", func(t *testing.T) { runUserAdmin(t, h) })
	t.Run("PendingInvitations", func(t *testing.T) { runPendingInvitations(t, h) })
	t.Run("PasswordResets", func(t *testing.T) { runPasswordResets(t, h) })
	t.Run("EmailVerifications", func(t *testing.T) { runEmailVerifications(t, h) })
	t.Run("ServiceAccounts", func(t *testing.T) { runServiceAccounts(t, h) })
	t.Run("MFA", func(t *testing.T) { runMFA(t, h) })
	t.Run("APIKeys", func(t *testing.T) { runAPIKeys(t, h) })
	t.Run("SSOConfigs", func(t *testing.T) { runSSOConfigs(t, h) })
	t.Run("TenantIsolation", func(t *testing.T) { runIsolation(t, h) })
	t.Run("ContextCanceled", func(t *testing.T) { runCanceled(t, h) })
	t.Run("TxRollback", func(t *testing.T) { runTxRollback(t, h) })
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
