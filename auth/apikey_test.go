package auth_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(d *auth.Deps, _ *auth.Config) { d.APIKeys = d.Users.(auth.APIKeyStore) })
	ctx := context.Background()
	owner := e.user(t, "owner@example.com", auth.RoleOwner)
	member := e.user(t, "member@example.com", auth.RoleMember)
	po, err := e.svc.Authenticate(ctx, e.login(t, owner.Email).AccessToken)
	require.NoError(t, err)
	pm, err := e.svc.Authenticate(ctx, e.login(t, member.Email).AccessToken)
	require.NoError(t, err)

	_, _, err = e.svc.CreateAPIKey(ctx, pm, e.tenant, auth.CreateAPIKeyInput{Name: "x", Scopes: []string{"usage:write"}})
	requireKind(t, eusaas.PermissionDenied, err)
	_, _, err = e.svc.CreateAPIKey(ctx, po, eusaas.NewTenantID(), auth.CreateAPIKeyInput{Name: "x", Scopes: []string{"usage:write"}})
	requireKind(t, eusaas.PermissionDenied, err) // another tenant
	for _, bad := range []auth.CreateAPIKeyInput{{Name: "", Scopes: []string{"usage:write"}}, {Name: "x"},
		{Name: "x", Scopes: []string{"billing:read"}}, {Name: "x", Scopes: []string{"usage:write", "usage:write"}}} {
		_, _, err = e.svc.CreateAPIKey(ctx, po, e.tenant, bad)
		requireKind(t, eusaas.InvalidArgument, err)
	}

	k, key, err := e.svc.CreateAPIKey(ctx, po, e.tenant, auth.CreateAPIKeyInput{Name: " backend ", Scopes: []string{"usage:write"}})
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`^eusk_[0-9A-Za-z]{65}$`), key)
	require.Equal(t, "backend", k.Name)
	require.True(t, strings.HasPrefix(key, k.Prefix))
	require.Empty(t, k.KeyHash, "the hash never leaves the service")

	p, err := e.svc.Authenticate(ctx, "Bearer "+key)
	require.NoError(t, err)
	require.Equal(t, eusaas.ActorAPIKey, p.Kind)
	require.Equal(t, e.tenant, p.TenantID)
	require.True(t, p.Can(e.tenant, auth.PermUsageWrite))
	require.False(t, p.Can(e.tenant, auth.PermCostsRead), "outside its scopes")
	require.False(t, p.Can(e.tenant, auth.PermBillingRead))
	require.False(t, p.Can(eusaas.NewTenantID(), auth.PermUsageWrite), "another tenant")
	_, err = e.svc.Me(ctx, p)
	requireKind(t, eusaas.PermissionDenied, err)

	list, err := e.svc.ListAPIKeys(ctx, po, e.tenant)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.False(t, list[0].LastUsedAt.IsZero(), "Authenticate recorded the use")
	require.Empty(t, list[0].KeyHash)

	// A tampered, truncated or foreign-looking key is refused.
	other := "x" // a last character that differs from the key's (1 in 62 keys ends in x)
	if strings.HasSuffix(key, other) {
		other = "y"
	}
	for _, bad := range []string{key[:len(key)-1], key[:len(key)-1] + other, "eusk_" + strings.Repeat("0", 65), "eusk_!" + key[6:]} {
		_, err := e.svc.Authenticate(ctx, bad)
		require.ErrorIs(t, err, auth.ErrInvalidToken, bad)
	}

	require.NoError(t, e.svc.RevokeAPIKey(ctx, po, e.tenant, k.ID))
	_, err = e.svc.Authenticate(ctx, key)
	require.ErrorIs(t, err, auth.ErrInvalidToken, "revoked at once")
	require.ErrorIs(t, e.svc.RevokeAPIKey(ctx, po, e.tenant, k.ID), auth.ErrAPIKeyNotFound)

	b, err := json.Marshal(e.rec.events)
	require.NoError(t, err)
	require.NotContains(t, string(b), key, "the key is never audited")
	require.Contains(t, e.rec.actions(), auth.ActionAPIKeyCreated)
	require.Contains(t, e.rec.actions(), auth.ActionAPIKeyRevoked)
}
