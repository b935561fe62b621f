package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/eusaas/eusaas"
)

// Claims are the access token's claims: the registered ones (iss, sub, aud, exp, iat, nbf,
// jti) plus the tenant, the role, the principal kind and the session the token belongs to.
type Claims struct {
	jwt.RegisteredClaims
	TenantID  string `json:"tenant_id,omitempty"` // empty for operators and services
	Role      Role   `json:"role,omitempty"`      // empty for operators and services
	Kind      string `json:"kind"`                // "user", "operator" or "service"
	SessionID string `json:"sid,omitempty"`
	// MFAEnrol marks a token good for enrolling a second factor only: the tenant requires
	// one and the user has none yet (Principal.EnrolmentOnly).
	MFAEnrol bool `json:"mfa_enrol,omitempty"`
}

// MaxLeeway is the largest clock skew verification tolerates on exp, nbf and iat.
const MaxLeeway = 30 * time.Second

// signAccessToken signs claims with the active key, kid in the header. RS256 signatures
// (PKCS #1 v1.5) are deterministic, which the refresh grace window relies on: the same
// claims under the same key give the same token.
func signAccessToken(keys Keys, c *Claims) (string, error) {
	kid, key := keys.SigningKey()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = kid
	return tok.SignedString(key)
}

// verifier checks access tokens strictly: RS256 only, the key chosen by kid from the trusted
// set only (never from the token's own jwk/jku/x5u headers), issuer and audience exact,
// exp, iat and nbf required and checked with a bounded leeway.
type verifier struct {
	keys   Keys
	parser *jwt.Parser
}

func newVerifier(keys Keys, issuer, audience string, leeway time.Duration, clock eusaas.Clock) *verifier {
	return &verifier{keys: keys, parser: jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithLeeway(leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithNotBeforeRequired(),
		jwt.WithTimeFunc(clock.Now),
		jwt.WithStrictDecoding(),
	)}
}

func (v *verifier) keyFunc(t *jwt.Token) (any, error) {
	// WithValidMethods already refuses every other alg; this guards against a parser
	// misconfiguration handing an HMAC verifier an RSA public key as secret.
	if _, ok := t.Method.(*jwt.SigningMethodRSA); !ok {
		return nil, errors.New("unexpected signing method")
	}
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, errors.New("missing kid")
	}
	key, ok := v.keys.PublicKey(kid)
	if !ok {
		return nil, errors.New("unknown kid")
	}
	return key, nil
}

// verify parses and checks raw. Every failure is ErrInvalidToken, with the reason kept as
// the (log-only) cause.
func (v *verifier) verify(raw string) (*Claims, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > 8192 {
		return nil, ErrInvalidToken
	}
	c := &Claims{}
	if _, err := v.parser.ParseWithClaims(raw, c, v.keyFunc); err != nil {
		return nil, ErrInvalidToken.Wrap(err)
	}
	// WithIssuedAt checks iat only when present, and NumericDate also decodes a quoted
	// number ("exp":"9999999999"): both are signed tokens this issuer never makes, so a
	// token that looks like that was forged with a leaked key or by another issuer.
	if c.IssuedAt == nil {
		return nil, ErrInvalidToken.Wrap(errors.New("missing iat"))
	}
	if err := numericDates(raw); err != nil {
		return nil, ErrInvalidToken.Wrap(err)
	}
	if c.ID == "" || c.Subject == "" {
		return nil, ErrInvalidToken.Wrap(errors.New("missing jti or sub"))
	}
	switch eusaas.ActorKind(c.Kind) {
	case eusaas.ActorUser:
		if _, err := eusaas.ParseTenantID(c.TenantID); err != nil || !c.Role.Valid() {
			return nil, ErrInvalidToken.Wrap(errors.New("user token without tenant or role"))
		}
	case eusaas.ActorOperator:
		if c.TenantID != "" {
			return nil, ErrInvalidToken.Wrap(errors.New("operator token with a tenant"))
		}
	case eusaas.ActorService:
		// Service accounts are platform principals without a role and without sessions.
		if c.TenantID != "" || c.Role != "" || c.SessionID != "" {
			return nil, ErrInvalidToken.Wrap(errors.New("service token with a tenant, role or session"))
		}
	default:
		return nil, ErrInvalidToken.Wrap(errors.New("unknown principal kind"))
	}
	return c, nil
}

// numericDates checks that exp, iat and nbf in the (already verified) payload of raw are
// JSON numbers, as RFC 7519 section 2 defines NumericDate, not strings.
func numericDates(raw string) error {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return errors.New("malformed token")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return err
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(payload, &claims); err != nil {
		return err
	}
	for _, name := range []string{"exp", "iat", "nbf"} {
		v, ok := claims[name]
		if !ok {
			continue
		}
		if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
			return errors.New(name + " is not a NumericDate")
		}
	}
	return nil
}
