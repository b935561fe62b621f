package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

var _ auth.ServiceAccountStore = (*AuthStore)(nil)

const authServiceAccountCols = `id, name, client_id, secret_hash, created_at, created_by, revoked_at`

func authScanServiceAccount(row pgx.Row) (auth.ServiceAccount, error) {
	var a auth.ServiceAccount
	var revoked *time.Time
	if err := row.Scan(&a.ID, &a.Name, &a.ClientID, &a.SecretHash, &a.CreatedAt, &a.CreatedBy, &revoked); err != nil {
		return auth.ServiceAccount{}, err
	}
	a.CreatedAt, a.RevokedAt = a.CreatedAt.UTC(), authUTC(revoked)
	return a, nil
}

func authServiceAccountNotFound(err error) error {
	if eusaas.KindOf(err) == eusaas.NotFound {
		return auth.ErrServiceAccountNotFound.Wrap(err)
	}
	return err
}

// CreateServiceAccount implements auth.ServiceAccountStore (platform schema, migration
// platform/00011_auth_service_accounts.sql).
func (s *AuthStore) CreateServiceAccount(ctx context.Context, a auth.ServiceAccount) error {
	_, err := s.db.q(ctx).Exec(ctx, `INSERT INTO eusaas.auth_service_accounts (`+authServiceAccountCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		a.ID, a.Name, a.ClientID, a.SecretHash, a.CreatedAt, a.CreatedBy, authNullTime(a.RevokedAt))
	return translate(err)
}

// GetServiceAccount implements auth.ServiceAccountStore.
func (s *AuthStore) GetServiceAccount(ctx context.Context, id uuid.UUID) (auth.ServiceAccount, error) {
	a, err := authScanServiceAccount(s.db.q(ctx).QueryRow(ctx,
		`SELECT `+authServiceAccountCols+` FROM eusaas.auth_service_accounts WHERE id = $1`, id))
	return a, authServiceAccountNotFound(translate(err))
}

// GetServiceAccountByClientID implements auth.ServiceAccountStore.
func (s *AuthStore) GetServiceAccountByClientID(ctx context.Context, clientID string) (auth.ServiceAccount, error) {
	a, err := authScanServiceAccount(s.db.q(ctx).QueryRow(ctx,
		`SELECT `+authServiceAccountCols+` FROM eusaas.auth_service_accounts WHERE client_id = $1`, clientID))
	return a, authServiceAccountNotFound(translate(err))
}

// ListServiceAccounts implements auth.ServiceAccountStore.
func (s *AuthStore) ListServiceAccounts(ctx context.Context) ([]auth.ServiceAccount, error) {
	rows, err := s.db.q(ctx).Query(ctx, `SELECT `+authServiceAccountCols+` FROM eusaas.auth_service_accounts
		WHERE revoked_at IS NULL ORDER BY created_at, id`)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []auth.ServiceAccount{}
	for rows.Next() {
		a, err := authScanServiceAccount(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, a)
	}
	return out, translate(rows.Err())
}

// RevokeServiceAccount implements auth.ServiceAccountStore: the conditional UPDATE is atomic,
// so only the first of concurrent revocations matches the row.
func (s *AuthStore) RevokeServiceAccount(ctx context.Context, id uuid.UUID, at time.Time) error {
	tag, err := s.db.q(ctx).Exec(ctx, `UPDATE eusaas.auth_service_accounts SET revoked_at = $2
		WHERE id = $1 AND revoked_at IS NULL`, id, at)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return auth.ErrServiceAccountNotFound
	}
	return nil
}
