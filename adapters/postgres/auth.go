package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

// AuthStore keeps auth data: tenant users, sessions and invitations in the tenant's schema
// (migration tenant/0010_auth.sql), operators and their sessions in the platform schema
// (platform/00010_auth.sql). It implements auth.UserStore, auth.OperatorStore,
// auth.SessionStore and auth.InvitationStore, and joins the DB's ctx transactions.
type AuthStore struct {
	db *DB
}

var (
	_ auth.UserStore       = (*AuthStore)(nil)
	_ auth.OperatorStore   = (*AuthStore)(nil)
	_ auth.SessionStore    = (*AuthStore)(nil)
	_ auth.InvitationStore = (*AuthStore)(nil)
)

// NewAuthStore returns an AuthStore on db.
func NewAuthStore(db *DB) *AuthStore { return &AuthStore{db: db} }

// authIn runs fn with the tenant's search_path, or, for the zero tenant (operators), on the
// context's transaction or the pool with platform tables schema-qualified.
func (s *AuthStore) authIn(ctx context.Context, tenant eusaas.TenantID, fn func(ctx context.Context, q querier) error) error {
	if tenant.IsZero() {
		return translate(fn(ctx, s.db.q(ctx)))
	}
	err := s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error { return fn(ctx, tx) })
	return translate(err)
}

// Table names per side: tenant tables resolve through the search_path.
type authTables struct{ users, sessions string }

func authTablesFor(tenant eusaas.TenantID) authTables {
	if tenant.IsZero() {
		return authTables{users: PlatformSchema + ".auth_operators", sessions: PlatformSchema + ".auth_operator_sessions"}
	}
	return authTables{users: "auth_users", sessions: "auth_sessions"}
}

func authUTC(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func authNullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func authUserNotFound(err error) error {
	if eusaas.KindOf(err) == eusaas.NotFound {
		return auth.ErrUserNotFound.Wrap(err)
	}
	return err
}

// ---- users and operators ----

func (s *AuthStore) createAccount(ctx context.Context, tenant eusaas.TenantID, u auth.User) error {
	return s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		var err error
		if tenant.IsZero() {
			_, err = q.Exec(ctx, `INSERT INTO eusaas.auth_operators (id, email, full_name, password_hash, is_active, created_at, updated_at, last_login_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				u.ID, u.Email, u.FullName, u.PasswordHash, u.IsActive, u.CreatedAt, u.UpdatedAt, authNullTime(u.LastLoginAt))
		} else {
			_, err = q.Exec(ctx, `INSERT INTO auth_users (id, email, full_name, role, password_hash, is_active, created_at, updated_at, last_login_at, email_verified)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
				u.ID, u.Email, u.FullName, string(u.Role), u.PasswordHash, u.IsActive, u.CreatedAt, u.UpdatedAt, authNullTime(u.LastLoginAt), u.EmailVerified)
		}
		return err
	})
}

func (s *AuthStore) getAccount(ctx context.Context, tenant eusaas.TenantID, where string, arg any) (auth.User, error) {
	var u auth.User
	err := s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		var role string
		var last *time.Time
		sql := `SELECT ` + authUserColumns + ` FROM auth_users WHERE ` + where
		if tenant.IsZero() {
			// Operators' e-mail verification is not tracked (false, as the memory store's zero value).
			sql = `SELECT id, email, full_name, '', password_hash, is_active, created_at, updated_at, last_login_at, false FROM eusaas.auth_operators WHERE ` + where
		}
		if err := q.QueryRow(ctx, sql, arg).Scan(&u.ID, &u.Email, &u.FullName, &role, &u.PasswordHash, &u.IsActive,
			&u.CreatedAt, &u.UpdatedAt, &last, &u.EmailVerified); err != nil {
			return err
		}
		u.TenantID, u.Role, u.LastLoginAt = tenant, auth.Role(role), authUTC(last)
		u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
		return nil
	})
	return u, authUserNotFound(err)
}

// authExecOne runs an UPDATE/DELETE that must touch one row; none is NotFound.
func (s *AuthStore) authExecOne(ctx context.Context, tenant eusaas.TenantID, sql string, args ...any) error {
	err := s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		tag, err := q.Exec(ctx, sql, args...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		return nil
	})
	return authUserNotFound(err)
}

// CreateUser implements auth.UserStore.
func (s *AuthStore) CreateUser(ctx context.Context, u auth.User) error {
	if u.TenantID.IsZero() {
		return eusaas.E(eusaas.InvalidArgument, "user without tenant")
	}
	return s.createAccount(ctx, u.TenantID, u)
}

// authSeatLockClass is the first key of the two-key advisory lock serialising a tenant's
// seat allocation (the second is hashtext(tenant id)); it keeps these locks apart from
// tenancy's schema-migration locks (tenancyLockClass). A hash collision between two tenants
// only makes their registrations wait for each other.
const authSeatLockClass = 0x5ea7

// CreateUserWithinLimit implements auth.UserStore. The advisory lock is transaction-scoped:
// it is held until the ctx transaction (or the statement's own) ends, so the user inserted
// here is committed before a concurrent registration of the tenant counts. The count runs
// after the lock is granted, and under READ COMMITTED (pgx's default, which DB.InTx uses)
// its snapshot then includes that commit.
func (s *AuthStore) CreateUserWithinLimit(ctx context.Context, u auth.User, limit int) error {
	if u.TenantID.IsZero() {
		return eusaas.E(eusaas.InvalidArgument, "user without tenant")
	}
	if limit <= 0 {
		return s.createAccount(ctx, u.TenantID, u)
	}
	return s.authIn(ctx, u.TenantID, func(ctx context.Context, q querier) error {
		if _, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, authSeatLockClass, u.TenantID.String()); err != nil {
			return err
		}
		var n int
		if err := q.QueryRow(ctx, `SELECT count(*) FROM auth_users`).Scan(&n); err != nil {
			return err
		}
		if n >= limit {
			return auth.ErrTenantUserLimit
		}
		return s.createAccount(ctx, u.TenantID, u) // joins this transaction
	})
}

// CountUsers implements auth.UserStore; deactivated users count.
func (s *AuthStore) CountUsers(ctx context.Context, tenant eusaas.TenantID) (int, error) {
	if tenant.IsZero() {
		return 0, ctx.Err() // operators are no tenant's users
	}
	var n int
	err := s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		return q.QueryRow(ctx, `SELECT count(*) FROM auth_users`).Scan(&n)
	})
	return n, err
}

// GetUser implements auth.UserStore.
func (s *AuthStore) GetUser(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (auth.User, error) {
	if tenant.IsZero() {
		return auth.User{}, auth.ErrUserNotFound
	}
	return s.getAccount(ctx, tenant, "id = $1", id)
}

// GetUserByEmail implements auth.UserStore.
func (s *AuthStore) GetUserByEmail(ctx context.Context, tenant eusaas.TenantID, email string) (auth.User, error) {
	if tenant.IsZero() {
		return auth.User{}, auth.ErrUserNotFound
	}
	return s.getAccount(ctx, tenant, "email = $1", email)
}

// SetUserPassword implements auth.UserStore.
func (s *AuthStore) SetUserPassword(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, hash string, at time.Time) error {
	if tenant.IsZero() {
		return auth.ErrUserNotFound
	}
	return s.authExecOne(ctx, tenant, `UPDATE auth_users SET password_hash = $2, updated_at = $3 WHERE id = $1`, id, hash, at)
}

// SetUserActive implements auth.UserStore.
func (s *AuthStore) SetUserActive(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, active bool, at time.Time) error {
	if tenant.IsZero() {
		return auth.ErrUserNotFound
	}
	return s.authExecOne(ctx, tenant, `UPDATE auth_users SET is_active = $2, updated_at = $3 WHERE id = $1`, id, active, at)
}

// RecordUserLogin implements auth.UserStore.
func (s *AuthStore) RecordUserLogin(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, at time.Time) error {
	if tenant.IsZero() {
		return auth.ErrUserNotFound
	}
	return s.authExecOne(ctx, tenant, `UPDATE auth_users SET last_login_at = $2 WHERE id = $1`, id, at)
}

// DeleteUser implements auth.UserStore.
func (s *AuthStore) DeleteUser(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (int, error) {
	if tenant.IsZero() {
		return 0, nil
	}
	var n int
	err := s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		tag, err := q.Exec(ctx, `DELETE FROM auth_users WHERE id = $1`, id)
		n = int(tag.RowsAffected())
		return err
	})
	return n, err
}

// CreateOperator implements auth.OperatorStore.
func (s *AuthStore) CreateOperator(ctx context.Context, u auth.User) error {
	return s.createAccount(ctx, eusaas.NilTenant, u)
}

// GetOperator implements auth.OperatorStore.
func (s *AuthStore) GetOperator(ctx context.Context, id uuid.UUID) (auth.User, error) {
	return s.getAccount(ctx, eusaas.NilTenant, "id = $1", id)
}

// GetOperatorByEmail implements auth.OperatorStore.
func (s *AuthStore) GetOperatorByEmail(ctx context.Context, email string) (auth.User, error) {
	return s.getAccount(ctx, eusaas.NilTenant, "email = $1", email)
}

// SetOperatorPassword implements auth.OperatorStore.
func (s *AuthStore) SetOperatorPassword(ctx context.Context, id uuid.UUID, hash string, at time.Time) error {
	return s.authExecOne(ctx, eusaas.NilTenant, `UPDATE eusaas.auth_operators SET password_hash = $2, updated_at = $3 WHERE id = $1`, id, hash, at)
}

// SetOperatorActive implements auth.OperatorStore.
func (s *AuthStore) SetOperatorActive(ctx context.Context, id uuid.UUID, active bool, at time.Time) error {
	return s.authExecOne(ctx, eusaas.NilTenant, `UPDATE eusaas.auth_operators SET is_active = $2, updated_at = $3 WHERE id = $1`, id, active, at)
}

// RecordOperatorLogin implements auth.OperatorStore.
func (s *AuthStore) RecordOperatorLogin(ctx context.Context, id uuid.UUID, at time.Time) error {
	return s.authExecOne(ctx, eusaas.NilTenant, `UPDATE eusaas.auth_operators SET last_login_at = $2 WHERE id = $1`, id, at)
}

// CountOperators implements auth.OperatorStore.
func (s *AuthStore) CountOperators(ctx context.Context) (int, error) {
	var n int
	err := s.db.q(ctx).QueryRow(ctx, `SELECT count(*) FROM eusaas.auth_operators`).Scan(&n)
	return n, translate(err)
}

// ---- sessions ----

// CreateSession implements auth.SessionStore.
func (s *AuthStore) CreateSession(ctx context.Context, x auth.Session) error {
	t := authTablesFor(x.TenantID)
	return s.authIn(ctx, x.TenantID, func(ctx context.Context, q querier) error {
		_, err := q.Exec(ctx, `INSERT INTO `+t.sessions+` (id, user_id, counter, token_hash, created_at, rotated_at, expires_at, revoked_at, revoke_reason, user_agent, ip)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULLIF($9, ''), $10, $11)`,
			x.ID, x.UserID, int64(x.Counter), x.TokenHash, x.CreatedAt, x.RotatedAt, x.ExpiresAt, authNullTime(x.RevokedAt), x.RevokeReason,
			x.UserAgent, x.IP)
		return err
	})
}

// GetSession implements auth.SessionStore.
func (s *AuthStore) GetSession(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (auth.Session, error) {
	t := authTablesFor(tenant)
	x := auth.Session{TenantID: tenant}
	err := s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		var err error
		x, err = scanSession(q.QueryRow(ctx, `SELECT `+sessionColumns+` FROM `+t.sessions+` WHERE id = $1`, id), tenant)
		return err
	})
	return x, err
}

const sessionColumns = `id, user_id, counter, token_hash, created_at, rotated_at, expires_at, revoked_at, revoke_reason, user_agent, ip`

func scanSession(row pgx.Row, tenant eusaas.TenantID) (auth.Session, error) {
	x := auth.Session{TenantID: tenant}
	var counter int64
	var revoked *time.Time
	var reason *string
	if err := row.Scan(&x.ID, &x.UserID, &counter, &x.TokenHash,
		&x.CreatedAt, &x.RotatedAt, &x.ExpiresAt, &revoked, &reason, &x.UserAgent, &x.IP); err != nil {
		return x, err
	}
	x.Counter, x.RevokedAt = uint64(counter), authUTC(revoked)
	x.CreatedAt, x.RotatedAt, x.ExpiresAt = x.CreatedAt.UTC(), x.RotatedAt.UTC(), x.ExpiresAt.UTC()
	if reason != nil {
		x.RevokeReason = *reason
	}
	return x, nil
}

// ListUserSessions implements auth.SessionStore.
func (s *AuthStore) ListUserSessions(ctx context.Context, tenant eusaas.TenantID, userID uuid.UUID) ([]auth.Session, error) {
	t := authTablesFor(tenant)
	var out []auth.Session
	err := s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		out = out[:0]
		rows, err := q.Query(ctx, `SELECT `+sessionColumns+` FROM `+t.sessions+`
			WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at, id`, userID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			x, err := scanSession(rows, tenant)
			if err != nil {
				return err
			}
			out = append(out, x)
		}
		return rows.Err()
	})
	return out, err
}

// RotateSession implements auth.SessionStore.
func (s *AuthStore) RotateSession(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, from uint64, newHash []byte, at time.Time) error {
	t := authTablesFor(tenant)
	return s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		tag, err := q.Exec(ctx, `UPDATE `+t.sessions+` SET counter = $3, token_hash = $4, rotated_at = $5
			WHERE id = $1 AND counter = $2 AND revoked_at IS NULL`, id, int64(from), int64(from+1), newHash, at)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		var one int
		if err := q.QueryRow(ctx, `SELECT 1 FROM `+t.sessions+` WHERE id = $1`, id).Scan(&one); err != nil {
			return err
		}
		return eusaas.E(eusaas.Aborted, "session changed concurrently")
	})
}

// RevokeSession implements auth.SessionStore.
func (s *AuthStore) RevokeSession(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, at time.Time, reason string) error {
	t := authTablesFor(tenant)
	return s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		// COALESCE keeps the first revocation; the row is touched either way so a missing
		// session is told apart by the row count.
		tag, err := q.Exec(ctx, `UPDATE `+t.sessions+` SET revoked_at = COALESCE(revoked_at, $2),
			revoke_reason = CASE WHEN revoked_at IS NULL THEN $3 ELSE revoke_reason END WHERE id = $1`, id, at, reason)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		return nil
	})
}

// RevokeUserSessions implements auth.SessionStore.
func (s *AuthStore) RevokeUserSessions(ctx context.Context, tenant eusaas.TenantID, userID uuid.UUID, at time.Time, reason string) (int, error) {
	t := authTablesFor(tenant)
	var n int
	err := s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		tag, err := q.Exec(ctx, `UPDATE `+t.sessions+` SET revoked_at = $2, revoke_reason = $3 WHERE user_id = $1 AND revoked_at IS NULL`, userID, at, reason)
		n = int(tag.RowsAffected())
		return err
	})
	return n, err
}

// DeleteUserSessions implements auth.SessionStore.
func (s *AuthStore) DeleteUserSessions(ctx context.Context, tenant eusaas.TenantID, userID uuid.UUID) (int, error) {
	t := authTablesFor(tenant)
	var n int
	err := s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		tag, err := q.Exec(ctx, `DELETE FROM `+t.sessions+` WHERE user_id = $1`, userID)
		n = int(tag.RowsAffected())
		return err
	})
	return n, err
}

// ---- invitations ----

// CreateInvitation implements auth.InvitationStore.
func (s *AuthStore) CreateInvitation(ctx context.Context, inv auth.Invitation) error {
	if inv.TenantID.IsZero() {
		return eusaas.E(eusaas.InvalidArgument, "invitation without tenant")
	}
	return s.authIn(ctx, inv.TenantID, func(ctx context.Context, q querier) error {
		_, err := q.Exec(ctx, `INSERT INTO auth_invitations (id, email, role, token_hash, created_by, created_at, expires_at, used_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			inv.ID, inv.Email, string(inv.Role), inv.TokenHash, inv.CreatedBy, inv.CreatedAt, inv.ExpiresAt, authNullTime(inv.UsedAt))
		return err
	})
}

// ConsumeInvitation implements auth.InvitationStore. The conditional UPDATE is the single-use
// guarantee: a concurrent second consumer re-checks used_at after the first commits and
// matches nothing.
func (s *AuthStore) ConsumeInvitation(ctx context.Context, tenant eusaas.TenantID, tokenHash []byte, now time.Time) (auth.Invitation, error) {
	inv := auth.Invitation{TenantID: tenant}
	if tenant.IsZero() {
		return inv, eusaas.E(eusaas.NotFound, "invitation not found")
	}
	err := s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		var role string
		var used *time.Time
		err := q.QueryRow(ctx, `UPDATE auth_invitations SET used_at = $2
			WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
			RETURNING id, email, role, token_hash, created_by, created_at, expires_at, used_at`, tokenHash, now).
			Scan(&inv.ID, &inv.Email, &role, &inv.TokenHash, &inv.CreatedBy, &inv.CreatedAt, &inv.ExpiresAt, &used)
		inv.Role, inv.UsedAt = auth.Role(role), authUTC(used)
		inv.CreatedAt, inv.ExpiresAt = inv.CreatedAt.UTC(), inv.ExpiresAt.UTC()
		return err
	})
	return inv, err
}

// DeleteInvitationsByEmail implements auth.InvitationStore.
func (s *AuthStore) DeleteInvitationsByEmail(ctx context.Context, tenant eusaas.TenantID, email string) (int, error) {
	if tenant.IsZero() {
		return 0, nil
	}
	var n int
	err := s.authIn(ctx, tenant, func(ctx context.Context, q querier) error {
		tag, err := q.Exec(ctx, `DELETE FROM auth_invitations WHERE email = $1`, email)
		n = int(tag.RowsAffected())
		return err
	})
	return n, err
}
