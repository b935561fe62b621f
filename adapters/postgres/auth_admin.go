package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

// User administration (issue 12): listing, partial updates and removal under the
// last-owner rule, and the pending invitations.

const authUserColumns = `id, email, full_name, role, password_hash, is_active, created_at, updated_at, last_login_at, email_verified`

func scanAuthUser(row pgx.Row, tenant eusaas.TenantID) (auth.User, error) {
	var u auth.User
	var role string
	var last *time.Time
	if err := row.Scan(&u.ID, &u.Email, &u.FullName, &role, &u.PasswordHash, &u.IsActive, &u.CreatedAt, &u.UpdatedAt, &last, &u.EmailVerified); err != nil {
		return u, err
	}
	u.TenantID, u.Role, u.LastLoginAt = tenant, auth.Role(role), authUTC(last)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, nil
}

// ListUsers implements auth.UserStore.
func (s *AuthStore) ListUsers(ctx context.Context, tenant eusaas.TenantID, f auth.UserFilter, page eusaas.Page) (eusaas.List[auth.User], error) {
	out := eusaas.List[auth.User]{Items: []auth.User{}}
	if tenant.IsZero() {
		return out, ctx.Err()
	}
	err := s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		const where = ` WHERE ($1 = '' OR role = $1) AND ($2::boolean IS NULL OR is_active = $2)`
		if err := q.QueryRow(ctx, `SELECT count(*) FROM auth_users`+where, string(f.Role), f.Active).Scan(&out.Total); err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT `+authUserColumns+` FROM auth_users`+where+
			` ORDER BY created_at, id LIMIT $3 OFFSET $4`, string(f.Role), f.Active, page.Size, page.Offset())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			u, err := scanAuthUser(rows, tenant)
			if err != nil {
				return err
			}
			out.Items = append(out.Items, u)
		}
		return rows.Err()
	})
	return out, err
}

// authOwnerGuard takes the tenant's user lock (the seat lock: both serialise changes to the
// set of users) and reads the user for update, then refuses when the change takes the last
// active OWNER away. Under READ COMMITTED the count after the lock sees every change
// committed by an earlier holder, so two owners demoting each other at once cannot both
// pass.
func authOwnerGuard(ctx context.Context, q querier, tenant eusaas.TenantID, id uuid.UUID, keeps func(auth.User) bool) (auth.User, error) {
	if _, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, authSeatLockClass, tenant.String()); err != nil {
		return auth.User{}, err
	}
	u, err := scanAuthUser(q.QueryRow(ctx, `SELECT `+authUserColumns+` FROM auth_users WHERE id = $1 FOR UPDATE`, id), tenant)
	if err != nil {
		return u, err
	}
	if keeps(u) {
		return u, nil
	}
	var others int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM auth_users WHERE role = 'OWNER' AND is_active AND id <> $1`, id).Scan(&others); err != nil {
		return u, err
	}
	if others == 0 {
		return u, auth.ErrLastOwner
	}
	return u, nil
}

// UpdateUser implements auth.UserStore.
func (s *AuthStore) UpdateUser(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, ch auth.UserChange, at time.Time) (auth.User, error) {
	if tenant.IsZero() {
		return auth.User{}, auth.ErrUserNotFound
	}
	var out auth.User
	err := s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		u, err := authOwnerGuard(ctx, q, tenant, id, ch.KeepsOwner)
		if err != nil {
			return err
		}
		out = ch.Apply(u, at)
		_, err = q.Exec(ctx, `UPDATE auth_users SET role = $2, is_active = $3, full_name = $4, updated_at = $5 WHERE id = $1`,
			id, string(out.Role), out.IsActive, out.FullName, at)
		return err
	})
	return out, authUserNotFound(err)
}

// RemoveUser implements auth.UserStore.
func (s *AuthStore) RemoveUser(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) error {
	if tenant.IsZero() {
		return auth.ErrUserNotFound
	}
	err := s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		removes := func(u auth.User) bool { return u.Role != auth.RoleOwner || !u.IsActive }
		if _, err := authOwnerGuard(ctx, q, tenant, id, removes); err != nil {
			return err
		}
		_, err := q.Exec(ctx, `DELETE FROM auth_users WHERE id = $1`, id)
		return err
	})
	return authUserNotFound(err)
}

const authInvitationColumns = `id, email, role, created_by, created_at, expires_at, used_at`

func scanAuthInvitation(row pgx.Row, tenant eusaas.TenantID) (auth.Invitation, error) {
	inv := auth.Invitation{TenantID: tenant}
	var role string
	var used *time.Time
	if err := row.Scan(&inv.ID, &inv.Email, &role, &inv.CreatedBy, &inv.CreatedAt, &inv.ExpiresAt, &used); err != nil {
		return inv, err
	}
	inv.Role, inv.UsedAt = auth.Role(role), authUTC(used)
	inv.CreatedAt, inv.ExpiresAt = inv.CreatedAt.UTC(), inv.ExpiresAt.UTC()
	return inv, nil
}

// ListPendingInvitations implements auth.InvitationStore.
func (s *AuthStore) ListPendingInvitations(ctx context.Context, tenant eusaas.TenantID, now time.Time, page eusaas.Page) (eusaas.List[auth.Invitation], error) {
	out := eusaas.List[auth.Invitation]{Items: []auth.Invitation{}}
	if tenant.IsZero() {
		return out, ctx.Err()
	}
	err := s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		const where = ` WHERE used_at IS NULL AND expires_at > $1`
		if err := q.QueryRow(ctx, `SELECT count(*) FROM auth_invitations`+where, now).Scan(&out.Total); err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT `+authInvitationColumns+` FROM auth_invitations`+where+
			` ORDER BY created_at, id LIMIT $2 OFFSET $3`, now, page.Size, page.Offset())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			inv, err := scanAuthInvitation(rows, tenant)
			if err != nil {
				return err
			}
			out.Items = append(out.Items, inv)
		}
		return rows.Err()
	})
	return out, err
}

// DeleteInvitation implements auth.InvitationStore.
func (s *AuthStore) DeleteInvitation(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, now time.Time) (auth.Invitation, error) {
	if tenant.IsZero() {
		return auth.Invitation{}, eusaas.E(eusaas.NotFound, "invitation not found")
	}
	var inv auth.Invitation
	err := s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		var err error
		inv, err = scanAuthInvitation(q.QueryRow(ctx, `DELETE FROM auth_invitations WHERE id = $1 AND used_at IS NULL AND expires_at > $2
			RETURNING `+authInvitationColumns, id, now), tenant)
		return err
	})
	return inv, err
}

var _ auth.PasswordResetStore = (*AuthStore)(nil)

// SetPasswordReset implements auth.PasswordResetStore.
func (s *AuthStore) SetPasswordReset(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, hash []byte, expires time.Time) error {
	return s.authExecOne(ctx, tenant, `UPDATE `+authTablesFor(tenant).users+` SET reset_token_hash = $2, reset_expires_at = $3 WHERE id = $1`, id, hash, expires)
}

// ConsumePasswordReset implements auth.PasswordResetStore. The conditional UPDATE is the
// single-use guarantee, as for invitations: a concurrent second consumer re-checks the row
// after the first commits and matches nothing.
func (s *AuthStore) ConsumePasswordReset(ctx context.Context, tenant eusaas.TenantID, hash []byte, now time.Time) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		return q.QueryRow(ctx, `UPDATE `+authTablesFor(tenant).users+` SET reset_token_hash = NULL, reset_expires_at = NULL
			WHERE reset_token_hash = $1 AND reset_expires_at > $2 RETURNING id`, hash, now).Scan(&id)
	})
	return id, err
}

var _ auth.EmailVerificationStore = (*AuthStore)(nil)

// SetEmailVerification implements auth.EmailVerificationStore.
func (s *AuthStore) SetEmailVerification(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, hash []byte, expires time.Time) error {
	if tenant.IsZero() {
		return auth.ErrUserNotFound
	}
	return s.authExecOne(ctx, tenant, `UPDATE auth_users SET verify_token_hash = $2, verify_expires_at = $3 WHERE id = $1`, id, hash, expires)
}

// ConsumeEmailVerification implements auth.EmailVerificationStore; single use as
// ConsumePasswordReset.
func (s *AuthStore) ConsumeEmailVerification(ctx context.Context, tenant eusaas.TenantID, hash []byte, now time.Time) (uuid.UUID, error) {
	var id uuid.UUID
	if tenant.IsZero() {
		return id, eusaas.E(eusaas.NotFound, "e-mail verification not found")
	}
	err := s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		return q.QueryRow(ctx, `UPDATE auth_users SET verify_token_hash = NULL, verify_expires_at = NULL, email_verified = true, updated_at = $2
			WHERE verify_token_hash = $1 AND verify_expires_at > $2 RETURNING id`, hash, now).Scan(&id)
	})
	return id, err
}
