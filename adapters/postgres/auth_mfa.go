package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

var (
	_ auth.MFAStore    = (*AuthStore)(nil)
	_ auth.APIKeyStore = (*AuthStore)(nil)
)

// ---- TOTP enrolments (columns of auth_users / eusaas.auth_operators) ----

func authTOTPNotFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) || eusaas.KindOf(err) == eusaas.NotFound {
		return eusaas.E(eusaas.NotFound, what+" not found")
	}
	return err
}

// SetPendingTOTP implements auth.MFAStore. The row lock orders it against a concurrent
// ConfirmTOTP: an enabled factor is never overwritten.
func (s *AuthStore) SetPendingTOTP(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, sealed []byte, at time.Time) error {
	users := authTablesFor(tenant).users
	return s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		var confirmed *time.Time
		if err := q.QueryRow(ctx, `SELECT totp_confirmed_at FROM `+users+` WHERE id = $1 FOR UPDATE`, id).Scan(&confirmed); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return auth.ErrUserNotFound
			}
			return err
		}
		if confirmed != nil {
			return auth.ErrMFAEnabled
		}
		_, err := q.Exec(ctx, `UPDATE `+users+` SET totp_secret = $2, totp_created_at = $3, totp_confirmed_at = NULL,
			totp_last_step = 0, totp_recovery = '{}' WHERE id = $1`, id, sealed, at)
		return err
	})
}

// GetTOTP implements auth.MFAStore.
func (s *AuthStore) GetTOTP(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (auth.TOTPEnrolment, error) {
	var e auth.TOTPEnrolment
	err := s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		var created, confirmed *time.Time
		if err := q.QueryRow(ctx, `SELECT totp_secret, totp_created_at, totp_confirmed_at, totp_last_step, totp_recovery
			FROM `+authTablesFor(tenant).users+` WHERE id = $1 AND totp_secret IS NOT NULL`, id).
			Scan(&e.Secret, &created, &confirmed, &e.LastStep, &e.RecoveryHashes); err != nil {
			return err
		}
		e.CreatedAt, e.ConfirmedAt = authUTC(created), authUTC(confirmed)
		return nil
	})
	return e, authTOTPNotFound(err, "TOTP enrolment")
}

// authTOTPUpdate runs an UPDATE that must match one row; none is NotFound(what).
func (s *AuthStore) authTOTPUpdate(ctx context.Context, tenant eusaas.TenantID, what, sql string, args ...any) error {
	err := s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		tag, err := q.Exec(ctx, sql, args...)
		if err == nil && tag.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		return err
	})
	return authTOTPNotFound(err, what)
}

// ConfirmTOTP implements auth.MFAStore.
func (s *AuthStore) ConfirmTOTP(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, step int64, recovery [][]byte, at time.Time) error {
	if recovery == nil {
		recovery = [][]byte{}
	}
	return s.authTOTPUpdate(ctx, tenant, "pending TOTP enrolment", `UPDATE `+authTablesFor(tenant).users+`
		SET totp_confirmed_at = $2, totp_last_step = $3, totp_recovery = $4
		WHERE id = $1 AND totp_secret IS NOT NULL AND totp_confirmed_at IS NULL`, id, at, step, recovery)
}

// UseTOTPStep implements auth.MFAStore. The conditional UPDATE is the single-use guarantee:
// a concurrent use of the same step re-checks the row after the first commits.
func (s *AuthStore) UseTOTPStep(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, step int64) error {
	users := authTablesFor(tenant).users
	return s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		tag, err := q.Exec(ctx, `UPDATE `+users+` SET totp_last_step = $2
			WHERE id = $1 AND totp_confirmed_at IS NOT NULL AND totp_last_step < $2`, id, step)
		if err != nil || tag.RowsAffected() == 1 {
			return err
		}
		var on bool
		if err := q.QueryRow(ctx, `SELECT totp_confirmed_at IS NOT NULL FROM `+users+` WHERE id = $1`, id).Scan(&on); err != nil || !on {
			return eusaas.E(eusaas.NotFound, "TOTP enrolment not found")
		}
		return auth.ErrMFACodeReplayed
	})
}

// UseRecoveryCode implements auth.MFAStore; single use by the conditional UPDATE.
func (s *AuthStore) UseRecoveryCode(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, hash []byte) (int, error) {
	var left int
	err := s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		return q.QueryRow(ctx, `UPDATE `+authTablesFor(tenant).users+` SET totp_recovery = array_remove(totp_recovery, $2::bytea)
			WHERE id = $1 AND totp_confirmed_at IS NOT NULL AND $2::bytea = ANY(totp_recovery)
			RETURNING coalesce(array_length(totp_recovery, 1), 0)`, id, hash).Scan(&left)
	})
	return left, authTOTPNotFound(err, "recovery code")
}

// DeleteTOTP implements auth.MFAStore.
func (s *AuthStore) DeleteTOTP(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) error {
	return s.authTOTPUpdate(ctx, tenant, "TOTP enrolment", `UPDATE `+authTablesFor(tenant).users+`
		SET totp_secret = NULL, totp_created_at = NULL, totp_confirmed_at = NULL, totp_last_step = 0, totp_recovery = '{}'
		WHERE id = $1 AND totp_secret IS NOT NULL`, id)
}

// ---- tenant API keys (tenant/0130_auth_mfa_api_keys.sql) ----

const authAPIKeyCols = `id, name, scopes, prefix, key_hash, created_by, created_at, last_used_at, revoked_at`

func authScanAPIKey(row pgx.Row, tenant eusaas.TenantID) (auth.APIKey, error) {
	var k auth.APIKey
	var scopes string
	var used, revoked *time.Time
	if err := row.Scan(&k.ID, &k.Name, &scopes, &k.Prefix, &k.KeyHash, &k.CreatedBy, &k.CreatedAt, &used, &revoked); err != nil {
		return auth.APIKey{}, err
	}
	for _, sc := range strings.Fields(scopes) {
		k.Scopes = append(k.Scopes, auth.Permission(sc))
	}
	k.TenantID, k.CreatedAt, k.LastUsedAt, k.RevokedAt = tenant, k.CreatedAt.UTC(), authUTC(used), authUTC(revoked)
	return k, nil
}

func authNoTenantKeys(tenant eusaas.TenantID) error {
	if tenant.IsZero() {
		return auth.ErrAPIKeyNotFound
	}
	return nil
}

// CreateAPIKey implements auth.APIKeyStore.
func (s *AuthStore) CreateAPIKey(ctx context.Context, k auth.APIKey) error {
	if k.TenantID.IsZero() {
		return eusaas.E(eusaas.InvalidArgument, "API key without tenant")
	}
	scopes := make([]string, len(k.Scopes))
	for i, p := range k.Scopes {
		scopes[i] = string(p)
	}
	return s.authIn(ctx, k.TenantID, func(ctx context.Context, q querier) error {
		_, err := q.Exec(ctx, `INSERT INTO auth_api_keys (`+authAPIKeyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			k.ID, k.Name, strings.Join(scopes, " "), k.Prefix, k.KeyHash, k.CreatedBy, k.CreatedAt, authNullTime(k.LastUsedAt), authNullTime(k.RevokedAt))
		return err
	})
}

// GetAPIKeyByHash implements auth.APIKeyStore.
func (s *AuthStore) GetAPIKeyByHash(ctx context.Context, tenant eusaas.TenantID, hash []byte) (auth.APIKey, error) {
	if err := authNoTenantKeys(tenant); err != nil {
		return auth.APIKey{}, err
	}
	var k auth.APIKey
	err := s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		var err error
		k, err = authScanAPIKey(q.QueryRow(ctx, `SELECT `+authAPIKeyCols+` FROM auth_api_keys WHERE key_hash = $1`, hash), tenant)
		return err
	})
	if eusaas.KindOf(err) == eusaas.NotFound {
		return k, auth.ErrAPIKeyNotFound.Wrap(err)
	}
	return k, err
}

// ListAPIKeys implements auth.APIKeyStore.
func (s *AuthStore) ListAPIKeys(ctx context.Context, tenant eusaas.TenantID) ([]auth.APIKey, error) {
	out := []auth.APIKey{}
	if tenant.IsZero() {
		return out, ctx.Err()
	}
	err := s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		rows, err := q.Query(ctx, `SELECT `+authAPIKeyCols+` FROM auth_api_keys WHERE revoked_at IS NULL ORDER BY created_at, id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			k, err := authScanAPIKey(rows, tenant)
			if err != nil {
				return err
			}
			out = append(out, k)
		}
		return rows.Err()
	})
	return out, err
}

// RevokeAPIKey implements auth.APIKeyStore.
func (s *AuthStore) RevokeAPIKey(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, at time.Time) error {
	if err := authNoTenantKeys(tenant); err != nil {
		return err
	}
	err := s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		tag, err := q.Exec(ctx, `UPDATE auth_api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, id, at)
		if err == nil && tag.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		return err
	})
	if eusaas.KindOf(err) == eusaas.NotFound {
		return auth.ErrAPIKeyNotFound.Wrap(err)
	}
	return err
}

// TouchAPIKey implements auth.APIKeyStore.
func (s *AuthStore) TouchAPIKey(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, at, notAfter time.Time) error {
	if tenant.IsZero() {
		return ctx.Err()
	}
	return s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		_, err := q.Exec(ctx, `UPDATE auth_api_keys SET last_used_at = $2
			WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)`, id, at, notAfter)
		return err
	})
}
