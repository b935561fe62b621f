// Package oidc is the OpenID Connect relying party of the auth module's SSO
// (auth.OIDCProvider), on github.com/zitadel/oidc/v3 (ADR 0024): discovery, the
// authorization URL with state, nonce and S256 challenge, the code exchange and the ID
// token's verification (signature against the issuer's JWKS, issuer, audience, expiry,
// nonce).
package oidc

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/eusaas/eusaas/auth"
)

// Provider implements auth.OIDCProvider.
type Provider struct {
	http *http.Client
}

var _ auth.OIDCProvider = (*Provider)(nil)

// New returns a Provider; client nil means one with a 10-second timeout (an IdP that hangs
// must not hold a request forever).
func New(client *http.Client) *Provider {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &Provider{http: client}
}

type nonceKey struct{}

func (p *Provider) party(ctx context.Context, c auth.OIDCClient) (rp.RelyingParty, error) {
	// One relying party per call: discovery answers are small, and a tenant's configuration
	// may change between two calls. The nonce comes through the context so the verifier
	// checks this sign-in's nonce.
	r, err := rp.NewRelyingPartyOIDC(ctx, c.Issuer, c.ClientID, c.ClientSecret, c.RedirectURL,
		[]string{oidc.ScopeOpenID, oidc.ScopeEmail, oidc.ScopeProfile},
		rp.WithHTTPClient(p.http),
		rp.WithVerifierOpts(rp.WithNonce(func(ctx context.Context) string {
			n, _ := ctx.Value(nonceKey{}).(string)
			return n
		})))
	if err != nil {
		return nil, &auth.OIDCError{Reason: "discovery", Err: err}
	}
	return r, nil
}

// AuthCodeURL implements auth.OIDCProvider.
func (p *Provider) AuthCodeURL(ctx context.Context, c auth.OIDCClient, state, nonce, challenge string) (string, error) {
	r, err := p.party(ctx, c)
	if err != nil {
		return "", err
	}
	return rp.AuthURL(state, r, rp.WithCodeChallenge(challenge), rp.AuthURLOpt(rp.WithURLParam("nonce", nonce))), nil
}

// Exchange implements auth.OIDCProvider.
func (p *Provider) Exchange(ctx context.Context, c auth.OIDCClient, code, verifier, nonce string) (auth.OIDCIdentity, error) {
	r, err := p.party(ctx, c)
	if err != nil {
		return auth.OIDCIdentity{}, err
	}
	ctx = context.WithValue(ctx, nonceKey{}, nonce)
	tok, err := rp.CodeExchange[*oidc.IDTokenClaims](ctx, code, r, rp.WithCodeVerifier(verifier))
	if err != nil {
		return auth.OIDCIdentity{}, &auth.OIDCError{Reason: reason(err), Err: err}
	}
	cl := tok.IDTokenClaims
	return auth.OIDCIdentity{Issuer: cl.Issuer, Subject: cl.Subject, Email: cl.Email,
		EmailVerified: bool(cl.EmailVerified), Name: cl.Name}, nil
}

// reason classifies a failed exchange for the audit trail.
func reason(err error) string {
	switch {
	case errors.Is(err, oidc.ErrIssuerInvalid):
		return "issuer"
	case errors.Is(err, oidc.ErrAudience), errors.Is(err, oidc.ErrAzpMissing), errors.Is(err, oidc.ErrAzpInvalid):
		return "audience"
	case errors.Is(err, oidc.ErrSignatureInvalid), errors.Is(err, oidc.ErrSignatureUnsupportedAlg),
		errors.Is(err, oidc.ErrSignatureMultiple), errors.Is(err, oidc.ErrSignatureInvalidPayload), errors.Is(err, oidc.ErrSignatureMissing):
		return "signature"
	case errors.Is(err, oidc.ErrExpired), errors.Is(err, oidc.ErrIatInFuture), errors.Is(err, oidc.ErrIatToOld):
		return "expired"
	case errors.Is(err, oidc.ErrNonceInvalid):
		return "nonce"
	case errors.Is(err, rp.ErrMissingIDToken), errors.Is(err, oidc.ErrParse):
		return "id_token"
	}
	return "code_exchange"
}
