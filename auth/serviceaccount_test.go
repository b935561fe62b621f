package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

// withServiceAccounts gives the service the memory store as its ServiceAccountStore.
func withServiceAccounts(d *auth.Deps, _ *auth.Config) {
	d.ServiceAccounts = d.Users.(auth.ServiceAccountStore)
}

// signRaw signs arbitrary claims with the trusted key, as only a key holder could.
func signRaw(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = auth.Thumbprint(&testKey().PublicKey)
	s, err := tok.SignedString(testKey())
	require.NoError(t, err)
	return s
}

func TestServiceAccountLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withServiceAccounts)
	ctx := context.Background()
	opP := auth.Principal{Kind: eusaas.ActorOperator, UserID: uuid.NewString()}
	owner := auth.Principal{Kind: eusaas.ActorUser, UserID: uuid.NewString(), TenantID: e.tenant, Role: auth.RoleOwner}

	_, _, err := e.svc.CreateServiceAccount(ctx, owner, "agent")
	requireKind(t, eusaas.PermissionDenied, err)
	_, _, err = e.svc.CreateServiceAccount(ctx, opP, "")
	requireKind(t, eusaas.InvalidArgument, err)
	a, secret, err := e.svc.CreateServiceAccount(ctx, opP, " agent ")
	require.NoError(t, err)
	require.Equal(t, "agent", a.Name)
	require.NotContains(t, string(a.SecretHash), secret)

	_, err = e.svc.ServiceToken(ctx, a.ClientID, secret+"x")
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	pair, err := e.svc.ServiceToken(ctx, a.ClientID, secret)
	require.NoError(t, err)
	require.Empty(t, pair.RefreshToken)
	require.Equal(t, 15*60, pair.ExpiresIn)

	p, err := e.svc.Authenticate(ctx, "Bearer "+pair.AccessToken)
	require.NoError(t, err)
	require.Equal(t, eusaas.ActorService, p.Kind)
	require.Equal(t, a.ID.String(), p.UserID)
	require.True(t, p.TenantID.IsZero())
	require.True(t, p.Can(e.tenant, auth.PermUsageWrite))
	require.True(t, p.Can(eusaas.NewTenantID(), auth.PermUsageWrite))
	require.False(t, p.Can(e.tenant, auth.PermBillingRead))
	_, err = e.svc.Me(ctx, p)
	requireKind(t, eusaas.PermissionDenied, err)

	// The token expires like any access token.
	e.clock.Advance(15*time.Minute + auth.MaxLeeway + time.Second)
	_, err = e.svc.Authenticate(ctx, pair.AccessToken)
	require.ErrorIs(t, err, auth.ErrInvalidToken)

	pair, err = e.svc.ServiceToken(ctx, a.ClientID, secret)
	require.NoError(t, err)
	requireKind(t, eusaas.PermissionDenied, e.svc.RevokeServiceAccount(ctx, owner, a.ID))
	require.NoError(t, e.svc.RevokeServiceAccount(ctx, opP, a.ID))
	require.ErrorIs(t, e.svc.RevokeServiceAccount(ctx, opP, a.ID), auth.ErrServiceAccountNotFound)
	_, err = e.svc.Authenticate(ctx, pair.AccessToken)
	require.ErrorIs(t, err, auth.ErrInvalidToken, "a revoked account's token stops working")
	_, err = e.svc.ServiceToken(ctx, a.ClientID, secret)
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	list, err := e.svc.ListServiceAccounts(ctx, opP)
	require.NoError(t, err)
	require.Empty(t, list)

	acts := e.rec.actions()
	require.Contains(t, acts, auth.ActionServiceAccountCreated)
	require.Contains(t, acts, auth.ActionServiceAccountRevoked)
	require.Contains(t, acts, auth.ActionLogin)
	require.Contains(t, acts, auth.ActionLoginFailed)
}

// A service token must carry no tenant, role or session, and name an existing account.
func TestServiceTokenVerification(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withServiceAccounts)
	ctx := context.Background()
	a, _, err := e.svc.CreateServiceAccount(ctx, auth.Principal{Kind: eusaas.ActorOperator}, "agent")
	require.NoError(t, err)
	now := e.clock.Now()
	cfg := auth.DefaultConfig()
	claims := func(extra map[string]any) jwt.MapClaims {
		c := jwt.MapClaims{"iss": cfg.Issuer, "aud": cfg.Audience, "sub": a.ID.String(), "jti": uuid.NewString(),
			"kind": "service", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Minute).Unix()}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	_, err = e.svc.Authenticate(ctx, signRaw(t, claims(nil)))
	require.NoError(t, err, "the control: a well-formed service token passes")
	for name, extra := range map[string]map[string]any{
		"tenant":          {"tenant_id": e.tenant.String()},
		"role":            {"role": "OWNER"},
		"session":         {"sid": uuid.NewString()},
		"unknown account": {"sub": uuid.NewString()},
	} {
		_, err := e.svc.Authenticate(ctx, signRaw(t, claims(extra)))
		require.ErrorIs(t, err, auth.ErrInvalidToken, name)
	}

	// A service built without a ServiceAccountStore refuses service tokens.
	bare := newEnv(t)
	_, err = bare.svc.Authenticate(ctx, signRaw(t, claims(nil)))
	require.ErrorIs(t, err, auth.ErrInvalidToken)
	_, err = bare.svc.ServiceToken(ctx, a.ClientID, "x")
	requireKind(t, eusaas.Unavailable, err)
}
