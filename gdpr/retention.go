package gdpr

import (
	"context"
	"errors"
	"time"

	"github.com/eusaas/eusaas"
)

// Retention policies and their periodic enforcement.

// RetentionPolicy returns the tenant's policy (the defaults when it never set one).
func (s *Service) RetentionPolicy(ctx context.Context, tenant eusaas.TenantID) (Policy, error) {
	p, err := s.d.Policies.Policy(ctx, tenant)
	if eusaas.KindOf(err) == eusaas.NotFound && err != nil {
		return DefaultPolicy(tenant), nil
	}
	return p, err
}

// SetRetentionPolicy validates and stores the tenant's policy.
func (s *Service) SetRetentionPolicy(ctx context.Context, p Policy) (Policy, error) {
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	a := eusaas.ActorFrom(ctx)
	p.UpdatedAt, p.UpdatedBy = s.clock.Now(), a.ID
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Policies.PutPolicy(ctx, p); err != nil {
			return err
		}
		_, err := s.record(ctx, eusaas.AuditEvent{TenantID: p.TenantID, Action: ActionRetentionPolicyUpdated, ResourceType: resourceRetention,
			ResourceID: p.TenantID.String(), Changes: map[string]any{"default_retention_days": p.DefaultRetentionDays,
				"audit_log_retention_days": p.AuditLogRetentionDays, "backup_retention_days": p.BackupRetentionDays,
				"pii_retention_days": p.PIIRetentionDays}})
		return err
	})
	return p, err
}

// EnforceRetention runs every Retainer for every tenant and records RETENTION_EXECUTED with
// the counts. A failing tenant does not stop the others; the errors are joined.
func (s *Service) EnforceRetention(ctx context.Context) error {
	if s.d.Tenants == nil || len(s.d.Retainers) == 0 {
		return nil
	}
	ids, err := s.d.Tenants.TenantIDs(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if _, err := s.EnforceTenantRetention(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// CountExportsRetained counts the export archives retention deleted (pii_retention_days).
const CountExportsRetained = "gdpr_exports.hard_deleted"

// EnforceTenantRetention enforces the policy of one tenant and returns the counts. A legal
// hold on the tenant pauses it: nothing is deleted, and RETENTION_EXECUTED records the hold
// that paused the run (counts empty).
func (s *Service) EnforceTenantRetention(ctx context.Context, tenant eusaas.TenantID) (map[string]int, error) {
	h, held, err := s.activeHold(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if held {
		_, err := s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: ActionRetentionExecuted,
			ResourceType: resourceRetention, ResourceID: tenant.String(), Changes: map[string]any{"paused_by_legal_hold": h.ID}})
		return map[string]int{}, err
	}
	p, err := s.RetentionPolicy(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if p.Restricted, err = s.RestrictedSubjects(ctx, tenant); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	total := map[string]int{}
	for _, rt := range s.d.Retainers {
		c, err := rt.EnforceRetention(ctx, tenant, p, now, s.o.RetentionGrace)
		if err != nil {
			return nil, err
		}
		for k, v := range c {
			total[k] += v
		}
	}
	// Export archives are copies of personal data: pii_retention_days bounds them as well
	// (their download TTL is usually the shorter).
	cutoff := now.AddDate(0, 0, -p.PIIRetentionDays)
	n, err := s.eraseExports(ctx, tenant, func(e Request) bool { return e.Status == StatusCompleted && e.CompletedAt.Before(cutoff) })
	if err != nil {
		return nil, err
	}
	if n > 0 {
		total[CountExportsRetained] = n
	}
	changes := map[string]any{"grace_days": int(s.o.RetentionGrace / (24 * time.Hour))}
	for k, v := range total {
		changes[k] = v
	}
	_, err = s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: ActionRetentionExecuted,
		ResourceType: resourceRetention, ResourceID: tenant.String(), Changes: changes})
	return total, err
}
