package memauth

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/memtx"
)

// ErasePersonalBefore bounds the personal values that outlive their use (the tenant's
// pii_retention_days, applied by the platform's PIIRetainer): sessions opened before cutoff
// lose their client IP and user agent (the session itself keeps working until it expires),
// and invitations made before cutoff are deleted with their invitee's e-mail address. It
// returns counts keyed "auth_sessions.personal_erased" and "auth_invitations.hard_deleted";
// a second call at the same cutoff changes nothing. The sessions of the users in keep (under
// an Art. 18 restriction) are left as they are.
func (s *Store) ErasePersonalBefore(ctx context.Context, tenant eusaas.TenantID, cutoff time.Time, keep []string) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := map[string]int{}
	if tenant.IsZero() {
		return out, nil
	}
	s.mu.Lock()
	cleared := map[uuid.UUID][2]string{}
	for id, x := range s.sessions[tenant] {
		if x.CreatedAt.Before(cutoff) && (x.IP != "" || x.UserAgent != "") && !slices.Contains(keep, x.UserID.String()) {
			cleared[id] = [2]string{x.IP, x.UserAgent}
			x.IP, x.UserAgent = "", ""
			s.sessions[tenant][id] = x
		}
	}
	removed := map[uuid.UUID]auth.Invitation{}
	for id, x := range s.invitations[tenant] {
		if x.CreatedAt.Before(cutoff) {
			removed[id] = x
			delete(s.invitations[tenant], id)
		}
	}
	s.mu.Unlock()
	if n := len(cleared); n > 0 {
		out["auth_sessions.personal_erased"] = n
	}
	if n := len(removed); n > 0 {
		out["auth_invitations.hard_deleted"] = n
	}
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for id, v := range cleared {
			if x, ok := s.sessions[tenant][id]; ok {
				x.IP, x.UserAgent = v[0], v[1]
				s.sessions[tenant][id] = x
			}
		}
		authGDPRRestore(s.invitations, tenant, removed)
	})
	return out, nil
}
