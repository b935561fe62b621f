package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"sort"
	"sync"
	"time"

	"github.com/eusaas/eusaas"
)

// MinRSABits is the smallest RSA modulus the key set accepts.
const MinRSABits = 2048

// Keys is the port to the token signing keys: one active private key and the public keys
// trusted for verification. *KeySet is the in-process implementation; a KMS-backed one
// would implement the same methods. Implementations must be safe for concurrent use.
type Keys interface {
	// SigningKey returns the active key and its kid.
	SigningKey() (kid string, key *rsa.PrivateKey)
	// PublicKey returns the trusted public key with the given kid; false when the kid is
	// unknown or its key has retired (every token it signed has expired).
	PublicKey(kid string) (*rsa.PublicKey, bool)
	// JWKS returns every trusted public key (active first) as a JSON Web Key Set.
	JWKS() JWKSet
}

// JWK is one RSA public key in JSON Web Key form (RFC 7517/7518).
type JWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// JWKSet is a JSON Web Key Set.
type JWKSet struct {
	Keys []JWK `json:"keys"`
}

// Thumbprint returns the RFC 7638 JWK thumbprint of an RSA public key: the unpadded
// base64url SHA-256 of {"e":..,"kty":"RSA","n":..} with members in lexicographic order.
// It is the kid, so a kid names exactly one key.
func Thumbprint(pub *rsa.PublicKey) string {
	n, e := jwkNE(pub)
	sum := sha256.Sum256([]byte(`{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func jwkNE(pub *rsa.PublicKey) (n, e string) {
	return base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
}

type publicKey struct {
	kid   string
	key   *rsa.PublicKey
	until time.Time // zero: the active key
}

// KeySet is an in-process Keys: the active signing key plus retiring public keys, each
// published and trusted until every token it signed has expired.
type KeySet struct {
	clock eusaas.Clock
	mu    sync.RWMutex
	kid   string
	key   *rsa.PrivateKey
	// retiring keys by kid
	retiring map[string]publicKey
}

var _ Keys = (*KeySet)(nil)

// NewKeySet returns a key set whose active key is key (RSA, at least 2048 bits).
func NewKeySet(key *rsa.PrivateKey, clock eusaas.Clock) (*KeySet, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if clock == nil {
		clock = eusaas.SystemClock
	}
	return &KeySet{clock: clock, kid: Thumbprint(&key.PublicKey), key: key, retiring: map[string]publicKey{}}, nil
}

func checkKey(key *rsa.PrivateKey) error {
	if key == nil || key.N.BitLen() < MinRSABits {
		return eusaas.Errorf(eusaas.InvalidArgument, "JWT signing key must be RSA of at least %d bits", MinRSABits)
	}
	return key.Validate()
}

// Rotate makes next the active key. The previous active key keeps verifying (and stays in
// the JWKS) until retireAt, which must be at least the issue time of its last token plus the
// access token lifetime plus the verification leeway.
func (ks *KeySet) Rotate(next *rsa.PrivateKey, retireAt time.Time) error {
	if err := checkKey(next); err != nil {
		return err
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.retiring[ks.kid] = publicKey{kid: ks.kid, key: &ks.key.PublicKey, until: retireAt}
	ks.kid, ks.key = Thumbprint(&next.PublicKey), next
	delete(ks.retiring, ks.kid)
	return nil
}

// AddRetiring trusts a public key the process cannot sign with (the previous deployment's
// key) until the given time.
func (ks *KeySet) AddRetiring(pub *rsa.PublicKey, until time.Time) error {
	if pub == nil || pub.N.BitLen() < MinRSABits {
		return eusaas.Errorf(eusaas.InvalidArgument, "JWT public key must be RSA of at least %d bits", MinRSABits)
	}
	kid := Thumbprint(pub)
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if kid != ks.kid {
		ks.retiring[kid] = publicKey{kid: kid, key: pub, until: until}
	}
	return nil
}

// SigningKey implements Keys.
func (ks *KeySet) SigningKey() (string, *rsa.PrivateKey) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.kid, ks.key
}

// PublicKey implements Keys.
func (ks *KeySet) PublicKey(kid string) (*rsa.PublicKey, bool) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	if kid == ks.kid {
		return &ks.key.PublicKey, true
	}
	pk, ok := ks.retiring[kid]
	if !ok || !ks.clock.Now().Before(pk.until) {
		return nil, false
	}
	return pk.key, true
}

// JWKS implements Keys.
func (ks *KeySet) JWKS() JWKSet {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	now := ks.clock.Now()
	keys := []publicKey{{kid: ks.kid, key: &ks.key.PublicKey}}
	var ret []publicKey
	for _, pk := range ks.retiring {
		if now.Before(pk.until) {
			ret = append(ret, pk)
		}
	}
	sort.Slice(ret, func(i, j int) bool { return ret[i].kid < ret[j].kid })
	keys = append(keys, ret...)
	out := JWKSet{Keys: make([]JWK, 0, len(keys))}
	for _, pk := range keys {
		n, e := jwkNE(pk.key)
		out.Keys = append(out.Keys, JWK{Kty: "RSA", Kid: pk.kid, Use: "sig", Alg: "RS256", N: n, E: e})
	}
	return out
}

// GenerateKey makes a new 3072-bit RSA signing key (NIST: good beyond 2030).
func GenerateKey() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 3072) }

// EncodePrivateKeyPEM encodes key as a PKCS#8 "PRIVATE KEY" PEM block.
func EncodePrivateKeyPEM(key *rsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// EncodePublicKeyPEM encodes pub as a PKIX "PUBLIC KEY" PEM block.
func EncodePublicKeyPEM(pub *rsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePrivateKeyPEM reads an RSA private key from PEM (PKCS#8 or PKCS#1). Errors never
// quote the key material.
func ParsePrivateKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, eusaas.E(eusaas.InvalidArgument, "JWT private key: no PEM block found")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, eusaas.E(eusaas.InvalidArgument, "JWT private key: expected a PRIVATE KEY or RSA PRIVATE KEY PEM block")
	}
	if err != nil {
		return nil, eusaas.E(eusaas.InvalidArgument, "JWT private key: cannot parse")
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, eusaas.E(eusaas.InvalidArgument, "JWT private key: not an RSA key")
	}
	return rk, checkKey(rk)
}

// ParsePublicKeysPEM reads every RSA public key (PKIX "PUBLIC KEY" or PKCS#1 "RSA PUBLIC
// KEY") from concatenated PEM blocks.
func ParsePublicKeysPEM(data []byte) ([]*rsa.PublicKey, error) {
	var out []*rsa.PublicKey
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		var key any
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		default:
			return nil, eusaas.E(eusaas.InvalidArgument, "JWT public key: expected PUBLIC KEY PEM blocks")
		}
		if err != nil {
			return nil, eusaas.E(eusaas.InvalidArgument, "JWT public key: cannot parse")
		}
		rk, ok := key.(*rsa.PublicKey)
		if !ok {
			return nil, eusaas.E(eusaas.InvalidArgument, "JWT public key: not an RSA key")
		}
		out = append(out, rk)
	}
	if len(out) == 0 {
		return nil, eusaas.E(eusaas.InvalidArgument, "JWT public key: no PEM block found")
	}
	return out, nil
}
