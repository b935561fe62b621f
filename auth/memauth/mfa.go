package memauth

import (
	"bytes"
	"context"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

var (
	_ auth.MFAStore    = (*Store)(nil)
	_ auth.APIKeyStore = (*Store)(nil)
)

func cloneTOTP(e auth.TOTPEnrolment) auth.TOTPEnrolment {
	e.Secret = authClone(e.Secret)
	hs := make([][]byte, len(e.RecoveryHashes))
	for i, h := range e.RecoveryHashes {
		hs[i] = authClone(h)
	}
	e.RecoveryHashes = hs
	return e
}

// SetPendingTOTP implements auth.MFAStore.
func (s *Store) SetPendingTOTP(ctx context.Context, t eusaas.TenantID, id uuid.UUID, sealed []byte, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[t][id]; !ok {
		return auth.ErrUserNotFound
	}
	if e, ok := s.totp[t][id]; ok && e.Enabled() {
		return auth.ErrMFAEnabled
	}
	authPut(ctx, s, s.totp, t, id, auth.TOTPEnrolment{Secret: authClone(sealed), CreatedAt: at})
	return nil
}

// GetTOTP implements auth.MFAStore.
func (s *Store) GetTOTP(ctx context.Context, t eusaas.TenantID, id uuid.UUID) (auth.TOTPEnrolment, error) {
	if err := ctx.Err(); err != nil {
		return auth.TOTPEnrolment{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.totp[t][id]
	if !ok {
		return auth.TOTPEnrolment{}, authNotFound("TOTP enrolment")
	}
	return cloneTOTP(e), nil
}

// ConfirmTOTP implements auth.MFAStore.
func (s *Store) ConfirmTOTP(ctx context.Context, t eusaas.TenantID, id uuid.UUID, step int64, recovery [][]byte, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.totp[t][id]
	if !ok || e.Enabled() {
		return authNotFound("pending TOTP enrolment")
	}
	e.ConfirmedAt, e.LastStep = at, step
	e.RecoveryHashes = cloneTOTP(auth.TOTPEnrolment{RecoveryHashes: recovery}).RecoveryHashes
	authPut(ctx, s, s.totp, t, id, e)
	return nil
}

// UseTOTPStep implements auth.MFAStore.
func (s *Store) UseTOTPStep(ctx context.Context, t eusaas.TenantID, id uuid.UUID, step int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.totp[t][id]
	if !ok || !e.Enabled() {
		return authNotFound("TOTP enrolment")
	}
	if step <= e.LastStep {
		return auth.ErrMFACodeReplayed
	}
	e.LastStep = step
	authPut(ctx, s, s.totp, t, id, e)
	return nil
}

// UseRecoveryCode implements auth.MFAStore.
func (s *Store) UseRecoveryCode(ctx context.Context, t eusaas.TenantID, id uuid.UUID, hash []byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.totp[t][id]
	if !ok || !e.Enabled() {
		return 0, authNotFound("recovery code")
	}
	i := slices.IndexFunc(e.RecoveryHashes, func(h []byte) bool { return bytes.Equal(h, hash) })
	if i < 0 {
		return 0, authNotFound("recovery code")
	}
	e = cloneTOTP(e)
	e.RecoveryHashes = slices.Delete(e.RecoveryHashes, i, i+1)
	authPut(ctx, s, s.totp, t, id, e)
	return len(e.RecoveryHashes), nil
}

// DeleteTOTP implements auth.MFAStore.
func (s *Store) DeleteTOTP(ctx context.Context, t eusaas.TenantID, id uuid.UUID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !authDel(ctx, s, s.totp, t, id) {
		return authNotFound("TOTP enrolment")
	}
	return nil
}

func cloneAPIKey(k auth.APIKey) auth.APIKey {
	k.KeyHash = authClone(k.KeyHash)
	k.Scopes = slices.Clone(k.Scopes)
	return k
}

// CreateAPIKey implements auth.APIKeyStore.
func (s *Store) CreateAPIKey(ctx context.Context, k auth.APIKey) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if k.TenantID.IsZero() {
		return eusaas.E(eusaas.InvalidArgument, "API key without tenant")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.apiKeys[k.TenantID] {
		if x.ID == k.ID || bytes.Equal(x.KeyHash, k.KeyHash) {
			return eusaas.E(eusaas.AlreadyExists, "API key id or hash taken")
		}
	}
	authPut(ctx, s, s.apiKeys, k.TenantID, k.ID, cloneAPIKey(k))
	return nil
}

// GetAPIKeyByHash implements auth.APIKeyStore.
func (s *Store) GetAPIKeyByHash(ctx context.Context, t eusaas.TenantID, hash []byte) (auth.APIKey, error) {
	if err := ctx.Err(); err != nil {
		return auth.APIKey{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.apiKeys[t] {
		if bytes.Equal(x.KeyHash, hash) {
			return cloneAPIKey(x), nil
		}
	}
	return auth.APIKey{}, auth.ErrAPIKeyNotFound
}

// ListAPIKeys implements auth.APIKeyStore.
func (s *Store) ListAPIKeys(ctx context.Context, t eusaas.TenantID) ([]auth.APIKey, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []auth.APIKey{}
	for _, x := range s.apiKeys[t] {
		if x.Active() {
			out = append(out, cloneAPIKey(x))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return bytes.Compare(out[i].ID[:], out[j].ID[:]) < 0
	})
	return out, nil
}

// RevokeAPIKey implements auth.APIKeyStore.
func (s *Store) RevokeAPIKey(ctx context.Context, t eusaas.TenantID, id uuid.UUID, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.apiKeys[t][id]
	if !ok || !k.Active() {
		return auth.ErrAPIKeyNotFound
	}
	k.RevokedAt = at
	authPut(ctx, s, s.apiKeys, t, id, k)
	return nil
}

// TouchAPIKey implements auth.APIKeyStore.
func (s *Store) TouchAPIKey(ctx context.Context, t eusaas.TenantID, id uuid.UUID, at, notAfter time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.apiKeys[t][id]
	if !ok || (!k.LastUsedAt.IsZero() && !k.LastUsedAt.Before(notAfter)) {
		return nil
	}
	k.LastUsedAt = at
	authPut(ctx, s, s.apiKeys, t, id, k)
	return nil
}
