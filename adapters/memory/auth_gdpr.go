package memory

import (
	"context"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/memtx"
)

// AuthStore takes part in GDPR exports and tenant erasure as the tables auth_users,
// auth_sessions and auth_invitations of the Postgres tenant schema (0010_auth.sql). The data
// subject is the user id (auth_users.id, auth_sessions.user_id), as in Postgres
// (0011_auth_gdpr.sql). auth_invitations has no subject column there, and none here: an
// invitation names its person only by email, but the pipeline's subject is a user id
// (auth's EraseSubject takes a UUID and removes the user's invitations through their email),
// so accepting an email as subject would pass the request check and then fail the erasure
// job, where Postgres mode answers 422. Credentials (the
// columns commented 'gdpr:secret' in Postgres: password_hash, token_hash) are left out, as
// the Postgres adapter leaves them out: an export must not leak them.
//
// As a gdpr.Retainer it deletes sessions and invitations whose expires_at passed more than
// the grace period ago, as the Postgres adapter does for every table with expires_at: an
// expired row can no longer be used, so expiry is its retention end (the soft delete) and
// the grace period runs from there. Accounts go through subject erasure.
var (
	_ GDPRSource    = (*AuthStore)(nil)
	_ GDPRSubjects  = (*AuthStore)(nil)
	_ gdpr.Retainer = (*AuthStore)(nil)
)

// EnforceRetention implements gdpr.Retainer: sessions and invitations expired before
// now-grace are deleted ("auth_sessions.hard_deleted", "auth_invitations.hard_deleted").
// Idempotent; inside a memory transaction a rollback restores them.
func (s *AuthStore) EnforceRetention(ctx context.Context, tenant eusaas.TenantID, _ gdpr.Policy, now time.Time, grace time.Duration) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cutoff := now.Add(-grace)
	out := map[string]int{}
	if tenant.IsZero() {
		return out, nil
	}
	s.mu.Lock()
	sessions := map[uuid.UUID]auth.Session{}
	for id, x := range s.sessions[tenant] {
		if x.ExpiresAt.Before(cutoff) {
			sessions[id] = x
			delete(s.sessions[tenant], id)
		}
	}
	invitations := map[uuid.UUID]auth.Invitation{}
	for id, x := range s.invitations[tenant] {
		if x.ExpiresAt.Before(cutoff) {
			invitations[id] = x
			delete(s.invitations[tenant], id)
		}
	}
	s.mu.Unlock()
	if n := len(sessions); n > 0 {
		out["auth_sessions.hard_deleted"] = n
	}
	if n := len(invitations); n > 0 {
		out["auth_invitations.hard_deleted"] = n
	}
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		authGDPRRestore(s.sessions, tenant, sessions)
		authGDPRRestore(s.invitations, tenant, invitations)
	})
	return out, nil
}

var authGDPRTables = []gdpr.Table{
	{Name: "auth_invitations", Columns: []string{"id", "email", "role", "created_by", "created_at", "expires_at", "used_at"}},
	{Name: "auth_sessions", Columns: []string{"id", "user_id", "counter", "created_at", "rotated_at", "expires_at", "revoked_at", "revoke_reason"}, SubjectColumn: "user_id"},
	{Name: "auth_users", Columns: []string{"id", "email", "full_name", "role", "is_active", "created_at", "updated_at", "last_login_at"}, SubjectColumn: "id"},
}

// GDPRTables implements GDPRSource.
func (s *AuthStore) GDPRTables(tenant eusaas.TenantID) []gdpr.Table {
	return memgdprTables(tenant, authGDPRTables)
}

// authGDPRRows renders a tenant's table, ordered by id. Callers hold mu.
func (s *AuthStore) authGDPRRows(tenant eusaas.TenantID, table string) []memgdprRow {
	var rows []memgdprRow
	switch table {
	case "auth_users":
		for _, u := range s.users[tenant] {
			rows = append(rows, memgdprRow{memgdprUUID(u.ID), memgdprText(u.Email), memgdprText(u.FullName),
				memgdprText(string(u.Role)), memgdprBool(u.IsActive),
				memgdprTime(u.CreatedAt), memgdprTime(u.UpdatedAt), memgdprTime(u.LastLoginAt)})
		}
	case "auth_sessions":
		for _, x := range s.sessions[tenant] {
			rows = append(rows, memgdprRow{memgdprUUID(x.ID), memgdprUUID(x.UserID),
				memgdprText(strconv.FormatUint(x.Counter, 10)), memgdprTime(x.CreatedAt),
				memgdprTime(x.RotatedAt), memgdprTime(x.ExpiresAt), memgdprTime(x.RevokedAt), memgdprNullText(x.RevokeReason)})
		}
	case "auth_invitations":
		for _, inv := range s.invitations[tenant] {
			rows = append(rows, memgdprRow{memgdprUUID(inv.ID), memgdprText(inv.Email), memgdprText(string(inv.Role)),
				memgdprText(inv.CreatedBy), memgdprTime(inv.CreatedAt),
				memgdprTime(inv.ExpiresAt), memgdprTime(inv.UsedAt)})
		}
	}
	memgdprSortRows(rows, 0)
	return rows
}

// GDPRScan implements GDPRSource. Rows are rendered under the store's lock and handed to fn
// after it is released, so fn may be slow or call back into the store.
func (s *AuthStore) GDPRScan(ctx context.Context, tenant eusaas.TenantID, table string, subjects []string, fn func([][]byte) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t, ok := memgdprFind(authGDPRTables, table)
	if !ok || tenant.IsZero() {
		return nil
	}
	s.mu.Lock()
	rows := s.authGDPRRows(tenant, table)
	s.mu.Unlock()
	return memgdprEmit(ctx, t, rows, subjects, fn)
}

// GDPRDeleteTenant implements GDPRSource: it removes the tenant's users, sessions and
// invitations (operators, kept under the nil tenant, are never touched). Idempotent; inside
// a memory transaction a rollback restores what it removed.
func (s *AuthStore) GDPRDeleteTenant(ctx context.Context, tenant eusaas.TenantID) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := memgdprZeroCounts(authGDPRTables)
	if tenant.IsZero() {
		return out, nil
	}
	s.mu.Lock()
	users, sessions, invitations := s.users[tenant], s.sessions[tenant], s.invitations[tenant]
	out["auth_users"], out["auth_sessions"], out["auth_invitations"] = len(users), len(sessions), len(invitations)
	delete(s.users, tenant)
	delete(s.sessions, tenant)
	delete(s.invitations, tenant)
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		authGDPRRestore(s.users, tenant, users)
		authGDPRRestore(s.sessions, tenant, sessions)
		authGDPRRestore(s.invitations, tenant, invitations)
	})
	return out, nil
}

// authGDPRRestore puts back rows removed by GDPRDeleteTenant without overwriting any written
// since. Callers hold mu.
func authGDPRRestore[T any](m map[eusaas.TenantID]map[uuid.UUID]T, tenant eusaas.TenantID, old map[uuid.UUID]T) {
	if len(old) == 0 {
		return
	}
	cur := m[tenant]
	if cur == nil {
		m[tenant] = old
		return
	}
	for id, v := range old {
		if _, ok := cur[id]; !ok {
			cur[id] = v
		}
	}
}

// GDPRHasSubject implements GDPRSubjects: subject is a user id of the tenant (a user or one
// of its sessions), in canonical text form as Postgres compares id::text.
func (s *AuthStore) GDPRHasSubject(tenant eusaas.TenantID, subject string) bool {
	if tenant.IsZero() {
		return false
	}
	id, err := uuid.Parse(subject)
	if err != nil || id.String() != subject {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[tenant][id]; ok {
		return true
	}
	for _, x := range s.sessions[tenant] {
		if x.UserID == id {
			return true
		}
	}
	return false
}
