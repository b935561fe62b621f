package memauth

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/memtx"
)

// Store takes part in GDPR exports and tenant erasure as the tables auth_users,
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
// Its retention (DeleteExpired) deletes sessions and invitations whose expires_at passed more
// than the grace period ago, as the Postgres adapter does for every table with expires_at: an
// expired row can no longer be used, so expiry is its retention end (the soft delete) and
// the grace period runs from there. Accounts go through subject erasure.
var (
	_ eusaas.DataSource   = (*Store)(nil)
	_ eusaas.DataSubjects = (*Store)(nil)
)

// DeleteExpired deletes the tenant's sessions and invitations that expired before cutoff
// (gdpr's retention passes now minus the grace period) and returns the counts as
// "auth_sessions.hard_deleted" and "auth_invitations.hard_deleted" (absent when zero).
// Idempotent; inside a memory transaction a rollback restores them.
func (s *Store) DeleteExpired(ctx context.Context, tenant eusaas.TenantID, cutoff time.Time) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
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

var authGDPRTables = []eusaas.DataTable{
	{Name: "auth_api_keys", Columns: []string{"id", "name", "scopes", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"}},
	{Name: "auth_invitations", Columns: []string{"id", "email", "role", "created_by", "created_at", "expires_at", "used_at"}},
	// The SSO configuration (as tenant migration 0170; the sealed client secret is marked
	// gdpr:secret there and never exported).
	{Name: "auth_sso", Columns: []string{"singleton", "issuer", "client_id", "allowed_domains", "default_role", "enforce", "updated_at"}},
	{Name: "auth_sessions", Columns: []string{"id", "user_id", "counter", "created_at", "rotated_at", "expires_at", "revoked_at", "revoke_reason", "user_agent", "ip"}, SubjectColumn: "user_id"},
	{Name: "auth_users", Columns: []string{"id", "email", "full_name", "role", "is_active", "created_at", "updated_at", "last_login_at", "email_verified"}, SubjectColumn: "id"},
}

// DataTables implements eusaas.DataSource.
func (s *Store) DataTables(tenant eusaas.TenantID) []eusaas.DataTable {
	return eusaas.TenantDataTables(tenant, authGDPRTables)
}

// authGDPRRows returns a tenant's table as typed rows, ordered by id. Callers hold mu.
func (s *Store) authGDPRRows(tenant eusaas.TenantID, table string) []eusaas.DataRow {
	var rows []eusaas.DataRow
	switch table {
	case "auth_api_keys":
		for _, k := range s.apiKeys[tenant] {
			rows = append(rows, eusaas.DataRow{k.ID.String(), k.Name, apiKeyScopesText(k.Scopes), k.Prefix, k.CreatedBy,
				eusaas.DataTime(k.CreatedAt), eusaas.DataTime(k.LastUsedAt), eusaas.DataTime(k.RevokedAt)})
		}
	case "auth_sso":
		if c, ok := s.sso[tenant]; ok {
			domains, _ := json.Marshal(append([]string{}, c.AllowedDomains...)) // a []string always marshals
			rows = append(rows, eusaas.DataRow{true, c.Issuer, c.ClientID, json.RawMessage(domains), string(c.DefaultRole), c.Enforce, eusaas.DataTime(c.UpdatedAt)})
		}
		return rows
	case "auth_users":
		for _, u := range s.users[tenant] {
			rows = append(rows, eusaas.DataRow{u.ID.String(), u.Email, u.FullName, string(u.Role), u.IsActive,
				eusaas.DataTime(u.CreatedAt), eusaas.DataTime(u.UpdatedAt), eusaas.DataTime(u.LastLoginAt), u.EmailVerified})
		}
	case "auth_sessions":
		for _, x := range s.sessions[tenant] {
			rows = append(rows, eusaas.DataRow{x.ID.String(), x.UserID.String(), int64(x.Counter), eusaas.DataTime(x.CreatedAt),
				eusaas.DataTime(x.RotatedAt), eusaas.DataTime(x.ExpiresAt), eusaas.DataTime(x.RevokedAt), eusaas.DataNullText(x.RevokeReason), x.UserAgent, x.IP})
		}
	case "auth_invitations":
		for _, inv := range s.invitations[tenant] {
			rows = append(rows, eusaas.DataRow{inv.ID.String(), inv.Email, string(inv.Role), inv.CreatedBy, eusaas.DataTime(inv.CreatedAt),
				eusaas.DataTime(inv.ExpiresAt), eusaas.DataTime(inv.UsedAt)})
		}
	}
	eusaas.SortDataRows(rows, 0)
	return rows
}

// ScanData implements eusaas.DataSource. Rows are built under the store's lock and handed
// to fn after it is released, so fn may be slow or call back into the store.
func (s *Store) ScanData(ctx context.Context, tenant eusaas.TenantID, table string, subjects []string, fn func(eusaas.DataRow) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t, ok := eusaas.FindDataTable(authGDPRTables, table)
	if !ok || tenant.IsZero() {
		return nil
	}
	s.mu.Lock()
	rows := s.authGDPRRows(tenant, table)
	s.mu.Unlock()
	return eusaas.EmitDataRows(ctx, t, rows, subjects, fn)
}

// DeleteTenantData implements eusaas.DataSource: it removes the tenant's users, sessions and
// invitations (operators, kept under the nil tenant, are never touched). Idempotent; inside
// a memory transaction a rollback restores what it removed.
func (s *Store) DeleteTenantData(ctx context.Context, tenant eusaas.TenantID) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := eusaas.ZeroDataCounts(authGDPRTables)
	if tenant.IsZero() {
		return out, nil
	}
	s.mu.Lock()
	users, sessions, invitations := s.users[tenant], s.sessions[tenant], s.invitations[tenant]
	keys := s.apiKeys[tenant]
	out["auth_users"], out["auth_sessions"], out["auth_invitations"] = len(users), len(sessions), len(invitations)
	out["auth_api_keys"] = len(keys)
	sso, hadSSO := s.sso[tenant]
	if hadSSO {
		out["auth_sso"] = 1
	}
	delete(s.apiKeys, tenant)
	delete(s.sso, tenant)
	delete(s.totp, tenant)
	delete(s.users, tenant)
	delete(s.sessions, tenant)
	delete(s.invitations, tenant)
	delete(s.resets, tenant) // credentials, not exported, but gone with their accounts
	delete(s.verifications, tenant)
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		authGDPRRestore(s.users, tenant, users)
		authGDPRRestore(s.sessions, tenant, sessions)
		authGDPRRestore(s.invitations, tenant, invitations)
		authGDPRRestore(s.apiKeys, tenant, keys)
		if hadSSO {
			if s.sso == nil {
				s.sso = map[eusaas.TenantID]auth.SSOConfig{}
			}
			s.sso[tenant] = sso
		}
	})
	return out, nil
}

// apiKeyScopesText is the scopes as the Postgres column keeps them: space-separated, as
// OAuth 2.0 writes scopes.
func apiKeyScopesText(ps []auth.Permission) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return strings.Join(out, " ")
}

// authGDPRRestore puts back rows removed by DeleteTenantData without overwriting any written
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

// HasDataSubject implements eusaas.DataSubjects: subject is a user id of the tenant (a user
// or one of its sessions), in canonical text form as Postgres compares id::text.
func (s *Store) HasDataSubject(ctx context.Context, tenant eusaas.TenantID, subject string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if tenant.IsZero() {
		return false, nil
	}
	id, err := uuid.Parse(subject)
	if err != nil || id.String() != subject {
		return false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[tenant][id]; ok {
		return true, nil
	}
	for _, x := range s.sessions[tenant] {
		if x.UserID == id {
			return true, nil
		}
	}
	return false, nil
}
