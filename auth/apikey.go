package auth

import (
	"context"
	"crypto/rand"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// Tenant API keys: machine access for a tenant's own backend (usage ingestion, cost reads),
// presented as "Authorization: Bearer eusk_...". A key is 32 random bytes and the tenant's id
// (16 bytes, so the key says which tenant's storage holds it), base62, after the "eusk_"
// prefix; only its SHA-256 is stored (hashToken, as service account secrets: a 256-bit
// random key needs no slow hash).

// Audit actions of API keys. None carries the key.
const (
	ActionAPIKeyCreated = "API_KEY_CREATED"
	ActionAPIKeyRevoked = "API_KEY_REVOKED"
)

// APIKeyPrefix starts every tenant API key.
const APIKeyPrefix = "eusk_"

// APIKeyScopes are the scopes a key may carry; each is the permission of the same name.
var APIKeyScopes = []Permission{PermUsageWrite, PermCostsRead}

// apiKeyTouchEvery bounds how often a key's last use is written: at most once a minute, so a
// busy ingestion client does not turn every request into a write.
const apiKeyTouchEvery = time.Minute

// APIKey is a tenant API key. KeyHash never leaves the package's callers' stores.
type APIKey struct {
	ID         uuid.UUID
	TenantID   eusaas.TenantID
	Name       string
	Scopes     []Permission
	Prefix     string // the key's first characters, shown to tell keys apart
	KeyHash    []byte // SHA-256 of the whole key
	CreatedBy  string // id of the user or operator who created it
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never (precision: apiKeyTouchEvery)
	RevokedAt  time.Time // zero: active
}

// Active reports whether the key is not revoked.
func (k APIKey) Active() bool { return k.RevokedAt.IsZero() }

// ErrAPIKeyNotFound: no active API key with the id in the tenant.
var ErrAPIKeyNotFound = eusaas.Sentinel(eusaas.NotFound, "api_key_not_found", "API key not found")

var errNoAPIKeys = eusaas.E(eusaas.Unavailable, "API keys are not configured")

const base62Alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// apiKeyBodyLen is the base62 length of 48 bytes: ceil(384 / log2 62).
const apiKeyBodyLen = 65

func newAPIKey(tenant eusaas.TenantID) string {
	var b [48]byte
	if _, err := rand.Read(b[:32]); err != nil {
		panic(err)
	}
	id := tenant.UUID()
	copy(b[32:], id[:])
	s := new(big.Int).SetBytes(b[:]).Text(62)
	return APIKeyPrefix + strings.Repeat("0", apiKeyBodyLen-len(s)) + s
}

// apiKeyTenant returns the tenant a well-formed key names.
func apiKeyTenant(key string) (eusaas.TenantID, bool) {
	body, ok := strings.CutPrefix(key, APIKeyPrefix)
	if !ok || len(body) != apiKeyBodyLen || strings.Trim(body, base62Alphabet) != "" {
		return eusaas.NilTenant, false
	}
	n, ok := new(big.Int).SetString(body, 62)
	if !ok || n.BitLen() > 384 {
		return eusaas.NilTenant, false
	}
	var b [48]byte
	n.FillBytes(b[:])
	t := eusaas.TenantID(uuid.UUID(b[32:]))
	return t, !t.IsZero()
}

// CreateAPIKeyInput is a new key's name and scopes.
type CreateAPIKeyInput struct {
	Name   string
	Scopes []string
}

func (in CreateAPIKeyInput) validate() ([]Permission, error) {
	var v eusaas.Violations
	if n := len(strings.TrimSpace(in.Name)); n == 0 || n > 100 {
		v.Add("body.name", "must be 1 to 100 characters")
	} else if strings.ContainsFunc(in.Name, unicode.IsControl) {
		v.Add("body.name", "must not contain control characters")
	}
	var out []Permission
	if len(in.Scopes) == 0 || len(in.Scopes) > len(APIKeyScopes) {
		v.Add("body.scopes", "must list 1 to 2 scopes of usage:write, costs:read")
	}
	for i, sc := range in.Scopes {
		p := Permission(sc)
		switch {
		case !slices.Contains(APIKeyScopes, p):
			v.Add("body.scopes["+strconv.Itoa(i)+"]", "must be usage:write or costs:read")
		case slices.Contains(out, p):
			v.Add("body.scopes["+strconv.Itoa(i)+"]", "is listed twice")
		default:
			out = append(out, p)
		}
	}
	return out, v.Err()
}

// CreateAPIKey creates a key for the tenant (PermAPIKeys: OWNER, ADMIN, operators) and
// returns it with the key itself, shown this once.
func (s *Service) CreateAPIKey(ctx context.Context, p Principal, tenant eusaas.TenantID, in CreateAPIKeyInput) (APIKey, string, error) {
	if !p.Can(tenant, PermAPIKeys) {
		return APIKey{}, "", eusaas.E(eusaas.PermissionDenied, "only the tenant's OWNER or ADMIN may manage API keys")
	}
	if s.d.APIKeys == nil {
		return APIKey{}, "", errNoAPIKeys
	}
	scopes, err := in.validate()
	if err != nil {
		return APIKey{}, "", err
	}
	key := newAPIKey(tenant)
	k := APIKey{ID: uuid.Must(uuid.NewV7()), TenantID: tenant, Name: strings.TrimSpace(in.Name), Scopes: scopes,
		Prefix: key[:len(APIKeyPrefix)+8], KeyHash: hashToken(key), CreatedBy: p.UserID, CreatedAt: s.now()}
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.APIKeys.CreateAPIKey(ctx, k); err != nil {
			return err
		}
		return s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: p.Actor(), Action: ActionAPIKeyCreated,
			ResourceType: "api_key", ResourceID: k.ID.String(),
			Changes: map[string]any{"name": k.Name, "scopes": scopeStrings(k.Scopes), "prefix": k.Prefix}})
	})
	if err != nil {
		return APIKey{}, "", err
	}
	k.KeyHash = nil
	return k, key, nil
}

func scopeStrings(ps []Permission) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

// ListAPIKeys returns the tenant's active keys without their hashes.
func (s *Service) ListAPIKeys(ctx context.Context, p Principal, tenant eusaas.TenantID) ([]APIKey, error) {
	if !p.Can(tenant, PermAPIKeys) {
		return nil, eusaas.E(eusaas.PermissionDenied, "only the tenant's OWNER or ADMIN may manage API keys")
	}
	if s.d.APIKeys == nil {
		return nil, errNoAPIKeys
	}
	ks, err := s.d.APIKeys.ListAPIKeys(ctx, tenant)
	for i := range ks {
		ks[i].KeyHash = nil
	}
	return ks, err
}

// RevokeAPIKey revokes an active key; it is refused from its next request on.
func (s *Service) RevokeAPIKey(ctx context.Context, p Principal, tenant eusaas.TenantID, id uuid.UUID) error {
	if !p.Can(tenant, PermAPIKeys) {
		return eusaas.E(eusaas.PermissionDenied, "only the tenant's OWNER or ADMIN may manage API keys")
	}
	if s.d.APIKeys == nil {
		return errNoAPIKeys
	}
	now := s.now()
	return s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.APIKeys.RevokeAPIKey(ctx, tenant, id, now); err != nil {
			return notFoundAs(err, ErrAPIKeyNotFound)
		}
		return s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: p.Actor(), Action: ActionAPIKeyRevoked,
			ResourceType: "api_key", ResourceID: id.String()})
	})
}

// authenticateAPIKey completes Authenticate for an eusk_ key: known, active, and of an
// ACTIVE tenant is checked by the HTTP guard as for users. Every rejection is
// ErrInvalidToken.
func (s *Service) authenticateAPIKey(ctx context.Context, key string) (Principal, error) {
	if s.d.APIKeys == nil {
		return Principal{}, ErrInvalidToken
	}
	tenant, ok := apiKeyTenant(key)
	if !ok {
		return Principal{}, ErrInvalidToken
	}
	k, err := s.d.APIKeys.GetAPIKeyByHash(ctx, tenant, hashToken(key))
	if err != nil {
		if eusaas.KindOf(err) == eusaas.NotFound {
			return Principal{}, ErrInvalidToken
		}
		return Principal{}, err
	}
	if !k.Active() || k.TenantID != tenant {
		return Principal{}, ErrInvalidToken
	}
	now := s.now()
	if k.LastUsedAt.IsZero() || now.Sub(k.LastUsedAt) >= apiKeyTouchEvery {
		if err := s.d.APIKeys.TouchAPIKey(ctx, tenant, k.ID, now, now.Add(-apiKeyTouchEvery)); err != nil {
			return Principal{}, err
		}
	}
	return Principal{Kind: eusaas.ActorAPIKey, UserID: k.ID.String(), TenantID: tenant, Scopes: k.Scopes}, nil
}
