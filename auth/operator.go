package auth

import (
	"context"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// BootstrapOperator creates the platform operator with the email unless one with it exists
// already. It reports whether it created one. The password must meet the policy.
func (s *Service) BootstrapOperator(ctx context.Context, email, password string) (bool, error) {
	var v eusaas.Violations
	validateEmail(&v, "APP_BOOTSTRAP_ADMIN_EMAIL", email)
	ValidatePassword(&v, "APP_BOOTSTRAP_ADMIN_PASSWORD", password)
	if err := v.Err(); err != nil {
		return false, err
	}
	email = NormalizeEmail(email)
	if _, err := s.d.Operators.GetOperatorByEmail(ctx, email); err == nil {
		return false, nil
	} else if eusaas.KindOf(err) != eusaas.NotFound {
		return false, err
	}
	hash, err := s.d.Hasher.Hash(ctx, password)
	if err != nil {
		return false, err
	}
	now := s.now()
	u := User{ID: uuid.Must(uuid.NewV7()), Email: email, FullName: "Platform operator", PasswordHash: hash,
		IsActive: true, CreatedAt: now, UpdatedAt: now}
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Operators.CreateOperator(ctx, u); err != nil {
			return err
		}
		return s.record(ctx, eusaas.AuditEvent{Actor: eusaas.System, Action: ActionOperatorCreated,
			ResourceType: "operator", ResourceID: u.ID.String(), Subject: u.ID.String(),
			Personal: map[string]string{"email": email}})
	})
	if eusaas.KindOf(err) == eusaas.AlreadyExists {
		return false, nil // another replica bootstrapped it concurrently
	}
	return err == nil, err
}

// SetOperatorActive (de)activates a platform operator; deactivation revokes its sessions.
func (s *Service) SetOperatorActive(ctx context.Context, id uuid.UUID, active bool) error {
	now := s.now()
	if err := s.d.Operators.SetOperatorActive(ctx, id, active, now); err != nil {
		if eusaas.KindOf(err) == eusaas.NotFound {
			return ErrUserNotFound
		}
		return err
	}
	if !active {
		_, err := s.d.Sessions.RevokeUserSessions(ctx, eusaas.NilTenant, id, now, "deactivated")
		return err
	}
	return nil
}
