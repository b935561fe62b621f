package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

// SSO configurations live in the tenant's schema (tenant/0170_auth_sso.sql, one row); started
// sign-ins in platform storage (platform/00240_auth_sso_states.sql).

var (
	_ auth.SSOConfigStore = (*AuthStore)(nil)
	_ auth.SSOStateStore  = (*AuthStore)(nil)
)

// PutSSOConfig implements auth.SSOConfigStore.
func (s *AuthStore) PutSSOConfig(ctx context.Context, c auth.SSOConfig) error {
	if c.TenantID.IsZero() {
		return eusaas.E(eusaas.InvalidArgument, "SSO configuration without tenant")
	}
	return s.authIn(ctx, c.TenantID, func(ctx context.Context, q querier) error {
		var secret []byte
		if len(c.SealedSecret) > 0 {
			secret = c.SealedSecret
		}
		_, err := q.Exec(ctx, `INSERT INTO auth_sso (singleton, issuer, client_id, client_secret, allowed_domains, default_role, enforce, updated_at)
			VALUES (true, $1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (singleton) DO UPDATE SET issuer = EXCLUDED.issuer, client_id = EXCLUDED.client_id,
				client_secret = EXCLUDED.client_secret, allowed_domains = EXCLUDED.allowed_domains,
				default_role = EXCLUDED.default_role, enforce = EXCLUDED.enforce, updated_at = EXCLUDED.updated_at`,
			c.Issuer, c.ClientID, secret, c.AllowedDomains, string(c.DefaultRole), c.Enforce, c.UpdatedAt)
		return err
	})
}

// GetSSOConfig implements auth.SSOConfigStore.
func (s *AuthStore) GetSSOConfig(ctx context.Context, tenant eusaas.TenantID) (auth.SSOConfig, error) {
	c := auth.SSOConfig{TenantID: tenant}
	if tenant.IsZero() {
		return c, eusaas.E(eusaas.NotFound, "SSO configuration not found")
	}
	err := s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		var role string
		err := q.QueryRow(ctx, `SELECT issuer, client_id, client_secret, allowed_domains, default_role, enforce, updated_at FROM auth_sso`).
			Scan(&c.Issuer, &c.ClientID, &c.SealedSecret, &c.AllowedDomains, &role, &c.Enforce, &c.UpdatedAt)
		c.DefaultRole = auth.Role(role)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) || eusaas.KindOf(err) == eusaas.NotFound {
		return auth.SSOConfig{}, eusaas.E(eusaas.NotFound, "SSO configuration not found")
	}
	c.UpdatedAt = c.UpdatedAt.UTC()
	return c, err
}

// DeleteSSOConfig implements auth.SSOConfigStore.
func (s *AuthStore) DeleteSSOConfig(ctx context.Context, tenant eusaas.TenantID) error {
	if tenant.IsZero() {
		return eusaas.E(eusaas.NotFound, "SSO configuration not found")
	}
	return s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		tag, err := q.Exec(ctx, `DELETE FROM auth_sso`)
		if err == nil && tag.RowsAffected() == 0 {
			return eusaas.E(eusaas.NotFound, "SSO configuration not found")
		}
		return err
	})
}

// PutSSOState implements auth.SSOStateStore.
func (s *AuthStore) PutSSOState(ctx context.Context, st auth.SSOState) error {
	_, err := s.db.q(ctx).Exec(ctx, `INSERT INTO eusaas.auth_sso_states (state_hash, tenant_id, nonce, verifier, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, st.StateHash, st.TenantID.UUID(), st.Nonce, st.Verifier, st.CreatedAt, st.ExpiresAt)
	return translate(err)
}

// ConsumeSSOState implements auth.SSOStateStore: one DELETE … RETURNING, so of concurrent
// consumptions exactly one gets the row.
func (s *AuthStore) ConsumeSSOState(ctx context.Context, hash []byte, now time.Time) (auth.SSOState, error) {
	st := auth.SSOState{StateHash: hash}
	var tenant uuid.UUID
	err := s.db.q(ctx).QueryRow(ctx, `DELETE FROM eusaas.auth_sso_states WHERE state_hash = $1
		RETURNING tenant_id, nonce, verifier, created_at, expires_at`, hash).
		Scan(&tenant, &st.Nonce, &st.Verifier, &st.CreatedAt, &st.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && !st.ExpiresAt.After(now)) {
		return auth.SSOState{}, eusaas.E(eusaas.NotFound, "SSO state not found")
	}
	if err != nil {
		return auth.SSOState{}, translate(err)
	}
	st.TenantID = eusaas.TenantID(tenant)
	st.CreatedAt, st.ExpiresAt = st.CreatedAt.UTC(), st.ExpiresAt.UTC()
	return st, nil
}

// PurgeSSOStates implements auth.SSOStateStore.
func (s *AuthStore) PurgeSSOStates(ctx context.Context, now time.Time) (int, error) {
	tag, err := s.db.q(ctx).Exec(ctx, `DELETE FROM eusaas.auth_sso_states WHERE expires_at <= $1`, now)
	if err != nil {
		return 0, translate(err)
	}
	return int(tag.RowsAffected()), nil
}
