package postgres_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/auth/authtest"
	"github.com/eusaas/eusaas/auth/memauth"
	"github.com/eusaas/eusaas/internal/pgtest"
)

func TestConformanceAuth(t *testing.T) {
	t.Parallel()
	authtest.Run(t, authtest.Harness{New: func(t *testing.T) authtest.Stores {
		ctx := context.Background()
		db := postgres.New(pgtest.Pool(t))
		require.NoError(t, db.MigratePlatform(ctx))
		s := postgres.NewAuthStore(db)
		return authtest.Stores{Users: s, Operators: s, Sessions: s, Invitations: s, ServiceAccounts: s, PasswordResets: s, EmailVerifications: s, MFA: s, APIKeys: s, SSO: s, Tx: db,
			NewTenant: func(t *testing.T) eusaas.TenantID {
				id := eusaas.NewTenantID()
				require.NoError(t, db.CreateTenantSchema(ctx, id))
				return id
			}}
	}, Features: authtest.Features{TimePrecision: 1000}})
}

func TestConformanceSSOStates(t *testing.T) {
	t.Parallel()
	authtest.RunSSOStates(t, authtest.SSOStateHarness{New: func(t *testing.T) auth.SSOStateStore {
		db := postgres.New(pgtest.Pool(t))
		require.NoError(t, db.MigratePlatform(context.Background()))
		return postgres.NewAuthStore(db)
	}})
}

type authTenants map[string]auth.TenantInfo

func (t authTenants) Resolve(_ context.Context, s string) (auth.TenantInfo, error) {
	if ti, ok := t[s]; ok {
		return ti, nil
	}
	for _, ti := range t { // by id too, as auth.TenantResolver's contract says
		if ti.ID.String() == s {
			return ti, nil
		}
	}
	return auth.TenantInfo{}, eusaas.E(eusaas.NotFound, "tenant not found")
}

// TestAuthServiceOnPostgres runs the service's transactional paths on Postgres: a
// registration whose email does not match the invitation rolls the consumption back; login,
// rotation, grace, reuse and erasure work on the tenant schema; operators on the platform one.
func TestAuthServiceOnPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(t))
	require.NoError(t, db.MigratePlatform(ctx))
	tenant := eusaas.NewTenantID()
	require.NoError(t, db.CreateTenantSchema(ctx, tenant))
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	keys, err := auth.NewKeySet(key, nil)
	require.NoError(t, err)
	hasher, err := auth.NewHasher(auth.OWASPParams, auth.HasherOptions{})
	require.NoError(t, err)
	store := postgres.NewAuthStore(db)
	svc, err := auth.NewService(auth.Deps{Users: store, Operators: store, Sessions: store, Invitations: store,
		Denylist: memauth.NewDenylist(nil), Limiter: memauth.NewLimiter(), Keys: keys, Hasher: hasher, Tx: db,
		Tenants: authTenants{"acme": {ID: tenant, Status: auth.TenantActive}}}, auth.Config{})
	require.NoError(t, err)

	const pw = "Correct-Horse-9"
	tok, _, err := svc.IssueOwnerInvitation(ctx, tenant, "owner@example.com")
	require.NoError(t, err)
	_, err = svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "acme", Email: "eve@example.com", Password: pw, FullName: "Eve", InvitationToken: tok})
	require.ErrorIs(t, err, auth.ErrInvalidInvitation)
	u, err := svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "acme", Email: "owner@example.com", Password: pw, FullName: "Olga", InvitationToken: tok})
	require.NoError(t, err, "the mismatched attempt rolled the consumption back")
	require.Equal(t, auth.RoleOwner, u.Role)

	p0, err := svc.Login(ctx, auth.LoginInput{TenantIDOrSlug: "acme", Email: "owner@example.com", Password: pw})
	require.NoError(t, err)
	p1, err := svc.Refresh(ctx, p0.RefreshToken)
	require.NoError(t, err)
	again, err := svc.Refresh(ctx, p0.RefreshToken)
	require.NoError(t, err)
	require.Equal(t, p1, again, "grace window: the same pair, from a microsecond-precision row")
	p2, err := svc.Refresh(ctx, p1.RefreshToken)
	require.NoError(t, err)
	_, err = svc.Refresh(ctx, p0.RefreshToken)
	require.ErrorIs(t, err, auth.ErrInvalidRefreshToken)
	_, err = svc.Refresh(ctx, p2.RefreshToken)
	require.ErrorIs(t, err, auth.ErrInvalidRefreshToken, "reuse revoked the session")

	created, err := svc.BootstrapOperator(ctx, "root@example.com", pw)
	require.NoError(t, err)
	require.True(t, created)
	op, err := svc.Login(ctx, auth.LoginInput{Email: "root@example.com", Password: pw})
	require.NoError(t, err)
	pr, err := svc.Authenticate(ctx, op.AccessToken)
	require.NoError(t, err)
	require.Equal(t, eusaas.ActorOperator, pr.Kind)

	counts, err := svc.EraseSubject(ctx, tenant, u.ID.String())
	require.NoError(t, err)
	require.Equal(t, map[string]int{"users": 1, "sessions": 1, "invitations": 1}, counts)
}

// NUL cannot be stored in Postgres text: a full name or a login email carrying one must be
// answered as bad input (422 / the usual 401), not reach the database (they answered 500).
func TestAuthNULInputOnPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(t))
	require.NoError(t, db.MigratePlatform(ctx))
	tenant := eusaas.NewTenantID()
	require.NoError(t, db.CreateTenantSchema(ctx, tenant))
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	keys, err := auth.NewKeySet(key, nil)
	require.NoError(t, err)
	hasher, err := auth.NewHasher(auth.OWASPParams, auth.HasherOptions{})
	require.NoError(t, err)
	store := postgres.NewAuthStore(db)
	svc, err := auth.NewService(auth.Deps{Users: store, Operators: store, Sessions: store, Invitations: store,
		Denylist: memauth.NewDenylist(nil), Limiter: memauth.NewLimiter(), Keys: keys, Hasher: hasher, Tx: db,
		Tenants: authTenants{"acme": {ID: tenant, Status: auth.TenantActive}}}, auth.Config{})
	require.NoError(t, err)

	const pw = "Correct-Horse-9"
	tok, _, err := svc.IssueOwnerInvitation(ctx, tenant, "owner@example.com")
	require.NoError(t, err)
	_, err = svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "acme", Email: "owner@example.com", Password: pw, FullName: "Ol\x00ga", InvitationToken: tok})
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err), "%v", err)
	_, err = svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "acme", Email: "owner@example.com", Password: pw, FullName: "Olga", InvitationToken: tok})
	require.NoError(t, err, "the refused attempt did not consume the invitation")

	for _, tenantHeader := range []string{"acme", ""} {
		_, err = svc.Login(ctx, auth.LoginInput{TenantIDOrSlug: tenantHeader, Email: "owner\x00@example.com", Password: pw})
		require.ErrorIs(t, err, auth.ErrInvalidCredentials, "tenant header %q", tenantHeader)
	}
}

// TestAuthRegisterMaxUsersConcurrentOnPostgres: ten registrations at once, each with its own
// invitation, into a tenant with one seat left create exactly one user; the nine refused get
// tenant_user_limit and keep their invitations unused.
func TestAuthRegisterMaxUsersConcurrentOnPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(t))
	require.NoError(t, db.MigratePlatform(ctx))
	tenant := eusaas.NewTenantID()
	require.NoError(t, db.CreateTenantSchema(ctx, tenant))
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	keys, err := auth.NewKeySet(key, nil)
	require.NoError(t, err)
	// A long queue wait: ten Argon2id hashes at once on a small machine must not turn into
	// ErrBusy, which would let the test pass without reaching the seat check.
	hasher, err := auth.NewHasher(auth.OWASPParams, auth.HasherOptions{MaxWait: 5 * time.Minute})
	require.NoError(t, err)
	store := postgres.NewAuthStore(db)
	tenants := authTenants{"acme": {ID: tenant, Status: auth.TenantActive, MaxUsers: 2}}
	svc, err := auth.NewService(auth.Deps{Users: store, Operators: store, Sessions: store, Invitations: store,
		Denylist: memauth.NewDenylist(nil), Limiter: memauth.NewLimiter(), Keys: keys, Hasher: hasher, Tx: db,
		Tenants: tenants}, auth.Config{})
	require.NoError(t, err)

	const pw = "Correct-Horse-9"
	tok, _, err := svc.IssueOwnerInvitation(ctx, tenant, "owner@example.com")
	require.NoError(t, err)
	_, err = svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "acme", Email: "owner@example.com", Password: pw, FullName: "Olga", InvitationToken: tok})
	require.NoError(t, err)

	operator := auth.Principal{Kind: eusaas.ActorOperator}
	inputs := make([]auth.RegisterInput, 10)
	for i := range inputs {
		email := fmt.Sprintf("user%d@example.com", i)
		_, tok, err := svc.Invite(ctx, operator, auth.InviteInput{TenantID: tenant, Email: email, Role: auth.RoleMember})
		require.NoError(t, err)
		inputs[i] = auth.RegisterInput{TenantIDOrSlug: "acme", Email: email, Password: pw, FullName: "User", InvitationToken: tok}
	}
	errs := make([]error, len(inputs))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range inputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = svc.Register(ctx, inputs[i])
		}()
	}
	close(start)
	wg.Wait()
	var refused []int
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, auth.ErrTenantUserLimit):
			refused = append(refused, i)
		default:
			t.Errorf("registration %d: unexpected error %v", i, err)
		}
	}
	require.Equal(t, 1, won, "exactly one registration takes the last seat")
	require.Len(t, refused, 9)
	n, err := store.CountUsers(ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, 2, n)

	tenants["acme"] = auth.TenantInfo{ID: tenant, Status: auth.TenantActive, MaxUsers: 3}
	_, err = svc.Register(ctx, inputs[refused[0]])
	require.NoError(t, err, "a refused registration left its invitation unused")
}
