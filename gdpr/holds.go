package gdpr

import (
	"context"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// Legal holds: while one exists, the tenant and its subjects cannot be erased.

// checkHolds refuses erasure while the tenant has any legal hold.
func (s *Service) checkHolds(ctx context.Context, tenant eusaas.TenantID) error {
	h, held, err := s.activeHold(ctx, tenant)
	if err != nil {
		return err
	}
	if held {
		return ErrLegalHold.Withf("legal hold %s (%s) blocks erasure", h.ID, h.Reason)
	}
	return nil
}

// activeHold returns the tenant's oldest legal hold, if any. A hold's scope is its tenant:
// while it exists nothing of the tenant is deleted — no erasure, no retention deletion, no
// key shredding (which would destroy its erasure backup).
func (s *Service) activeHold(ctx context.Context, tenant eusaas.TenantID) (LegalHold, bool, error) {
	holds, err := s.d.Holds.Holds(ctx, tenant)
	if err != nil || len(holds) == 0 {
		return LegalHold{}, false, err
	}
	return holds[0], true, nil
}

// PlaceHold puts a legal hold on the tenant.
func (s *Service) PlaceHold(ctx context.Context, tenant eusaas.TenantID, reason string) (LegalHold, error) {
	var v eusaas.Violations
	if reason == "" || len(reason) > 500 {
		v.Add("body.reason", "must be 1..500 characters")
	}
	if err := v.Err(); err != nil {
		return LegalHold{}, err
	}
	h := LegalHold{ID: uuid.Must(uuid.NewV7()).String(), TenantID: tenant, Reason: reason, CreatedAt: s.clock.Now(), CreatedBy: eusaas.ActorFrom(ctx).ID}
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Holds.PutHold(ctx, h); err != nil {
			return err
		}
		_, err := s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Action: ActionLegalHoldPlaced, ResourceType: resourceHold, ResourceID: h.ID,
			Changes: map[string]any{"reason": reason}})
		return err
	})
	return h, err
}

// ReleaseHold removes a legal hold.
func (s *Service) ReleaseHold(ctx context.Context, tenant eusaas.TenantID, id string) error {
	return s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Holds.DeleteHold(ctx, tenant, id); err != nil {
			return err
		}
		_, err := s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Action: ActionLegalHoldReleased, ResourceType: resourceHold, ResourceID: id})
		return err
	})
}

// Holds lists the tenant's legal holds.
func (s *Service) Holds(ctx context.Context, tenant eusaas.TenantID) ([]LegalHold, error) {
	return s.d.Holds.Holds(ctx, tenant)
}
