package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// Refresh token wire format (unpadded base64url of 74 bytes):
//
//	version(1)=1 | kind(1): 0 user, 1 operator | tenant(16) | session(16) | counter(8, big endian) | secret(32)
//
// The tenant travels in the token because the refresh endpoint has no other tenant input and
// the session row lives in the tenant's schema.
const (
	refreshVersion = 1
	refreshLen     = 1 + 1 + 16 + 16 + 8 + 32
	// maxChainWalk bounds how many HMAC steps proving an old token may cost: far more than
	// the rotations a 7-day session sees at one per access token lifetime.
	maxChainWalk = 20000
)

type refreshToken struct {
	operator bool
	tenant   eusaas.TenantID
	session  uuid.UUID
	counter  uint64
	secret   [32]byte
}

func (r refreshToken) encode() string {
	var b [refreshLen]byte
	b[0] = refreshVersion
	if r.operator {
		b[1] = 1
	}
	copy(b[2:18], r.tenant[:])
	copy(b[18:34], r.session[:])
	binary.BigEndian.PutUint64(b[34:42], r.counter)
	copy(b[42:], r.secret[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func parseRefreshToken(s string) (refreshToken, bool) {
	var r refreshToken
	if base64.RawURLEncoding.DecodedLen(len(s)) != refreshLen {
		return r, false
	}
	// Strict: a token has exactly one spelling (no malleable trailing bits).
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != refreshLen || b[0] != refreshVersion || b[1] > 1 {
		return r, false
	}
	r.operator = b[1] == 1
	copy(r.tenant[:], b[2:18])
	copy(r.session[:], b[18:34])
	r.counter = binary.BigEndian.Uint64(b[34:42])
	copy(r.secret[:], b[42:])
	if r.operator != r.tenant.IsZero() {
		return r, false
	}
	return r, true
}

func newSecret() [32]byte {
	var s [32]byte
	_, _ = rand.Read(s[:])
	return s
}

// nextSecret is s_{k+1} = HMAC-SHA256(s_k, "eusaas-refresh" | tenant | session | k+1).
func nextSecret(s [32]byte, tenant eusaas.TenantID, session uuid.UUID, next uint64) [32]byte {
	m := hmac.New(sha256.New, s[:])
	m.Write([]byte("eusaas-refresh"))
	m.Write(tenant[:])
	m.Write(session[:])
	var c [8]byte
	binary.BigEndian.PutUint64(c[:], next)
	m.Write(c[:])
	var out [32]byte
	m.Sum(out[:0])
	return out
}

func secretHash(s [32]byte) []byte {
	h := sha256.Sum256(s[:])
	return h[:]
}

// walkTo derives the secret of counter `to` from the presented token's secret and counter,
// reporting false when that would take more than maxChainWalk steps or to < from.
func walkTo(t refreshToken, to uint64) ([32]byte, bool) {
	if to < t.counter || to-t.counter > maxChainWalk {
		return [32]byte{}, false
	}
	s := t.secret
	for k := t.counter; k < to; k++ {
		s = nextSecret(s, t.tenant, t.session, k+1)
	}
	return s, true
}

// matches reports whether secret hashes to the stored hash, in constant time.
func matches(secret [32]byte, stored []byte) bool {
	return subtle.ConstantTimeCompare(secretHash(secret), stored) == 1
}

// jtiFor derives the access token id from a session secret, so re-issuing the pair for a
// token presented twice within the grace window yields the very same access token.
func jtiFor(secret [32]byte) string {
	m := hmac.New(sha256.New, secret[:])
	m.Write([]byte("eusaas-jti"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// hashToken is the SHA-256 of an opaque token (invitations); only the hash is stored.
func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// newOpaqueToken returns 32 random bytes, base64url.
func newOpaqueToken() string {
	s := newSecret()
	return base64.RawURLEncoding.EncodeToString(s[:])
}
