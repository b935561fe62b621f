package memauth

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

func authCloneServiceAccount(a auth.ServiceAccount) auth.ServiceAccount {
	a.SecretHash = authClone(a.SecretHash)
	return a
}

// CreateServiceAccount implements auth.ServiceAccountStore.
func (s *Store) CreateServiceAccount(ctx context.Context, a auth.ServiceAccount) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, x := range s.svcAccounts[eusaas.NilTenant] {
		if id == a.ID || x.ClientID == a.ClientID {
			return eusaas.E(eusaas.AlreadyExists, "service account id or client id taken")
		}
	}
	authPut(ctx, s, s.svcAccounts, eusaas.NilTenant, a.ID, authCloneServiceAccount(a))
	return nil
}

// GetServiceAccount implements auth.ServiceAccountStore.
func (s *Store) GetServiceAccount(ctx context.Context, id uuid.UUID) (auth.ServiceAccount, error) {
	if err := ctx.Err(); err != nil {
		return auth.ServiceAccount{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.svcAccounts[eusaas.NilTenant][id]
	if !ok {
		return auth.ServiceAccount{}, auth.ErrServiceAccountNotFound
	}
	return authCloneServiceAccount(a), nil
}

// GetServiceAccountByClientID implements auth.ServiceAccountStore.
func (s *Store) GetServiceAccountByClientID(ctx context.Context, clientID string) (auth.ServiceAccount, error) {
	if err := ctx.Err(); err != nil {
		return auth.ServiceAccount{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.svcAccounts[eusaas.NilTenant] {
		if a.ClientID == clientID {
			return authCloneServiceAccount(a), nil
		}
	}
	return auth.ServiceAccount{}, auth.ErrServiceAccountNotFound
}

// ListServiceAccounts implements auth.ServiceAccountStore.
func (s *Store) ListServiceAccounts(ctx context.Context) ([]auth.ServiceAccount, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []auth.ServiceAccount{}
	for _, a := range s.svcAccounts[eusaas.NilTenant] {
		if a.Active() {
			out = append(out, authCloneServiceAccount(a))
		}
	}
	slices.SortFunc(out, func(a, b auth.ServiceAccount) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return slices.Compare(a.ID[:], b.ID[:])
	})
	return out, nil
}

// RevokeServiceAccount implements auth.ServiceAccountStore.
func (s *Store) RevokeServiceAccount(ctx context.Context, id uuid.UUID, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.svcAccounts[eusaas.NilTenant][id]
	if !ok || !a.Active() {
		return auth.ErrServiceAccountNotFound
	}
	a.RevokedAt = at
	authPut(ctx, s, s.svcAccounts, eusaas.NilTenant, id, a)
	return nil
}
