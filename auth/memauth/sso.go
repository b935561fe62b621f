package memauth

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/memtx"
)

var _ auth.SSOConfigStore = (*Store)(nil)

func cloneSSO(c auth.SSOConfig) auth.SSOConfig {
	c.SealedSecret = authClone(c.SealedSecret)
	c.AllowedDomains = slices.Clone(c.AllowedDomains)
	return c
}

// PutSSOConfig implements auth.SSOConfigStore.
func (s *Store) PutSSOConfig(ctx context.Context, c auth.SSOConfig) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sso == nil {
		s.sso = map[eusaas.TenantID]auth.SSOConfig{}
	}
	old, had := s.sso[c.TenantID]
	s.sso[c.TenantID] = cloneSSO(c)
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if had {
			s.sso[c.TenantID] = old
		} else {
			delete(s.sso, c.TenantID)
		}
	})
	return nil
}

// GetSSOConfig implements auth.SSOConfigStore.
func (s *Store) GetSSOConfig(ctx context.Context, t eusaas.TenantID) (auth.SSOConfig, error) {
	if err := ctx.Err(); err != nil {
		return auth.SSOConfig{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.sso[t]
	if !ok {
		return auth.SSOConfig{}, authNotFound("SSO configuration")
	}
	return cloneSSO(c), nil
}

// DeleteSSOConfig implements auth.SSOConfigStore.
func (s *Store) DeleteSSOConfig(ctx context.Context, t eusaas.TenantID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.sso[t]
	if !ok {
		return authNotFound("SSO configuration")
	}
	delete(s.sso, t)
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.sso[t] = old
	})
	return nil
}

// SSOStates keeps started SSO sign-ins in memory (auth.SSOStateStore).
type SSOStates struct {
	mu     sync.Mutex
	states map[string]auth.SSOState
}

var _ auth.SSOStateStore = (*SSOStates)(nil)

// NewSSOStates returns an empty state store.
func NewSSOStates() *SSOStates { return &SSOStates{states: map[string]auth.SSOState{}} }

// PutSSOState implements auth.SSOStateStore.
func (s *SSOStates) PutSSOState(ctx context.Context, st auth.SSOState) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := string(st.StateHash)
	if _, ok := s.states[k]; ok {
		return eusaas.E(eusaas.AlreadyExists, "SSO state exists")
	}
	st.StateHash = authClone(st.StateHash)
	s.states[k] = st
	return nil
}

// ConsumeSSOState implements auth.SSOStateStore.
func (s *SSOStates) ConsumeSSOState(ctx context.Context, hash []byte, now time.Time) (auth.SSOState, error) {
	if err := ctx.Err(); err != nil {
		return auth.SSOState{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.states[string(hash)]
	if !ok {
		return auth.SSOState{}, authNotFound("SSO state")
	}
	delete(s.states, string(hash))
	if !st.ExpiresAt.After(now) {
		return auth.SSOState{}, authNotFound("SSO state")
	}
	return st, nil
}

// PurgeSSOStates implements auth.SSOStateStore.
func (s *SSOStates) PurgeSSOStates(ctx context.Context, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, st := range s.states {
		if !st.ExpiresAt.After(now) {
			delete(s.states, k)
			n++
		}
	}
	return n, nil
}
