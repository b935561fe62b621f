package oidc_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/adapters/oidc"
	"github.com/eusaas/eusaas/adapters/oidc/oidctest"
	"github.com/eusaas/eusaas/auth"
)

const redirect = "http://127.0.0.1:1/api/v1/auth/sso/callback"

// exchange runs one sign-in against the provider and returns the identity or the error.
func exchange(t *testing.T, op *oidctest.Provider, c auth.OIDCClient, wantNonce string) (auth.OIDCIdentity, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := oidc.New(nil)
	verifier := "a-verifier-of-at-least-43-characters-0123456789"
	h := sha256.Sum256([]byte(verifier))
	u, err := p.AuthCodeURL(ctx, c, "state-1", "nonce-1", base64.RawURLEncoding.EncodeToString(h[:]))
	require.NoError(t, err)
	back, err := op.Authorize(ctx, u)
	require.NoError(t, err)
	require.Equal(t, "state-1", back.Query().Get("state"))
	code := back.Query().Get("code")
	require.NotEmpty(t, code)
	return p.Exchange(ctx, c, code, verifier, wantNonce)
}

func reason(t *testing.T, err error) string {
	t.Helper()
	var oe *auth.OIDCError
	require.ErrorAs(t, err, &oe)
	return oe.Reason
}

func TestExchangeAgainstRealProvider(t *testing.T) {
	op := oidctest.Start(t, redirect)
	c := auth.OIDCClient{Issuer: op.Issuer, ClientID: op.ClientID, ClientSecret: op.ClientSecret, RedirectURL: redirect, AllowInsecure: true}

	id, err := exchange(t, op, c, "nonce-1")
	require.NoError(t, err)
	require.Equal(t, "ada@example.com", id.Email)
	require.True(t, id.EmailVerified)
	require.Equal(t, op.Issuer, id.Issuer)

	_, err = exchange(t, op, c, "another-nonce")
	require.Equal(t, "nonce", reason(t, err))

	op.WrongIssuer(true)
	_, err = exchange(t, op, c, "nonce-1")
	require.Equal(t, "issuer", reason(t, err))
	op.WrongIssuer(false)

	op.ForgeSignature(true)
	_, err = exchange(t, op, c, "nonce-1")
	require.Equal(t, "signature", reason(t, err))
	op.ForgeSignature(false)

	bad := c
	bad.ClientSecret = "wrong"
	_, err = exchange(t, op, bad, "nonce-1")
	require.Equal(t, "code_exchange", reason(t, err))

	other := c
	other.Issuer = op.Issuer + "/nowhere"
	_, err = oidc.New(nil).AuthCodeURL(context.Background(), other, "s", "n", "c")
	require.Equal(t, "discovery", reason(t, err))
}
