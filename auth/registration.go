package auth

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// Register creates a tenant user. With an invitation token the invitation (single use, same
// email) gives the role; without one the tenant must allow self-registration and the user
// becomes MEMBER. A tenant holding TenantInfo.MaxUsers users refuses with ErrTenantUserLimit
// and the invitation stays unused.
func (s *Service) Register(ctx context.Context, in RegisterInput) (User, error) {
	if err := in.Validate(); err != nil {
		return User{}, err
	}
	ti, err := s.resolveTenant(ctx, in.TenantIDOrSlug)
	if err != nil {
		return User{}, err
	}
	token := strings.TrimSpace(in.InvitationToken)
	if token == "" && !ti.AllowSelfRegistration {
		return User{}, ErrInvitationRequired
	}
	if ti.MaxUsers > 0 {
		// A cheap early refusal, before paying for a hash or touching the invitation; the
		// authoritative, race-safe check is CreateUserWithinLimit below.
		n, err := s.d.Users.CountUsers(ctx, ti.ID)
		if err != nil {
			return User{}, err
		}
		if n >= ti.MaxUsers {
			return User{}, ErrTenantUserLimit
		}
	}
	hash, err := s.d.Hasher.Hash(ctx, in.Password)
	if err != nil {
		return User{}, err
	}
	now := s.now()
	u := User{ID: uuid.Must(uuid.NewV7()), TenantID: ti.ID, Email: NormalizeEmail(in.Email),
		FullName: strings.TrimSpace(in.FullName), Role: RoleMember, PasswordHash: hash, IsActive: true,
		CreatedAt: now, UpdatedAt: now}
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		var inv Invitation
		if token != "" {
			var err error
			inv, err = s.d.Invitations.ConsumeInvitation(ctx, ti.ID, hashToken(token), now)
			if err != nil {
				if eusaas.KindOf(err) == eusaas.NotFound {
					return ErrInvalidInvitation
				}
				return err
			}
			if inv.Email != u.Email {
				return ErrInvalidInvitation // rolls the consumption back
			}
			u.Role = inv.Role
			u.EmailVerified = true // the invitation reached this address
		}
		if err := s.d.Users.CreateUserWithinLimit(ctx, u, ti.MaxUsers); err != nil {
			switch eusaas.KindOf(err) {
			case eusaas.AlreadyExists:
				return ErrEmailTaken
			case eusaas.FailedPrecondition:
				return ErrTenantUserLimit // rolls the invitation's consumption back
			}
			return err
		}
		if !u.EmailVerified {
			if err := s.queueVerification(ctx, u, now); err != nil {
				return err
			}
		}
		changes := map[string]any{"role": string(u.Role), "via": "self_registration"}
		if token != "" {
			changes["via"] = "invitation"
			changes["invitation_id"] = inv.ID.String()
		}
		return s.record(ctx, eusaas.AuditEvent{TenantID: ti.ID,
			Actor:  eusaas.Actor{Kind: eusaas.ActorUser, ID: u.ID.String(), TenantID: ti.ID},
			Action: ActionRegister, ResourceType: "user", ResourceID: u.ID.String(), Changes: changes,
			Personal: map[string]string{"email": u.Email, "full_name": u.FullName}, Subject: u.ID.String()})
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

func roleRank(r Role) int {
	switch r {
	case RoleOwner:
		return 4
	case RoleAdmin:
		return 3
	case RoleMember:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// Invite issues an invitation in the tenant. The caller needs PermInvite there and may not
// hand out a role above its own (operators may invite anyone). The token is returned once.
func (s *Service) Invite(ctx context.Context, p Principal, in InviteInput) (Invitation, string, error) {
	if !p.Can(in.TenantID, PermInvite) {
		return Invitation{}, "", eusaas.E(eusaas.PermissionDenied, "not allowed to invite users to this tenant")
	}
	if err := in.Validate(); err != nil {
		return Invitation{}, "", err
	}
	if p.Kind == eusaas.ActorUser && roleRank(in.Role) > roleRank(p.Role) {
		return Invitation{}, "", eusaas.E(eusaas.PermissionDenied, "cannot invite a role above your own")
	}
	// Operators pass Can for any tenant id, so the tenant itself must be checked: an
	// invitation (an email, personal data) must not be stored for a tenant that does not
	// exist or was erased, and nobody could register with it anyway.
	if _, err := s.resolveTenant(ctx, in.TenantID.String()); err != nil {
		return Invitation{}, "", err
	}
	return s.invite(ctx, in.TenantID, NormalizeEmail(in.Email), in.Role, p.Actor())
}

func (s *Service) invite(ctx context.Context, tenant eusaas.TenantID, email string, role Role, actor eusaas.Actor) (Invitation, string, error) {
	now := s.now()
	token := newOpaqueToken()
	inv := Invitation{ID: uuid.Must(uuid.NewV7()), TenantID: tenant, Email: email, Role: role,
		TokenHash: hashToken(token), CreatedBy: actor.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.InvitationTTL)}
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Invitations.CreateInvitation(ctx, inv); err != nil {
			return err
		}
		if err := s.queueMail(ctx, MailArgs{TenantID: tenant.String(), To: email, Template: MailInvitation,
			Token: token, Role: string(role), ExpiresAt: inv.ExpiresAt}); err != nil {
			return err
		}
		return s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: actor, Action: ActionInvitationCreated,
			ResourceType: "invitation", ResourceID: inv.ID.String(), Changes: map[string]any{"role": string(role)},
			Personal: map[string]string{"email": email}})
	})
	if err != nil {
		return Invitation{}, "", err
	}
	return inv, token, nil
}

// IssueOwnerInvitation issues the invitation that makes its holder the tenant's OWNER
// (tenancy calls it when a tenant is created). It implements tenancy.InvitationIssuer.
func (s *Service) IssueOwnerInvitation(ctx context.Context, tenant eusaas.TenantID, email string) (string, time.Time, error) {
	var v eusaas.Violations
	validateEmail(&v, "body.admin_email", email)
	if err := v.Err(); err != nil {
		return "", time.Time{}, err
	}
	inv, token, err := s.invite(ctx, tenant, NormalizeEmail(email), RoleOwner, eusaas.System)
	return token, inv.ExpiresAt, err
}

// DraftOwnerInvitation makes an owner invitation without storing it, for a tenant whose
// schema does not exist yet (asynchronous provisioning): the caller returns the token to the
// tenant's creator and keeps the invitation, which holds only the token's hash, until
// SaveOwnerInvitation can store it.
func (s *Service) DraftOwnerInvitation(tenant eusaas.TenantID, email string) (string, Invitation, error) {
	var v eusaas.Violations
	validateEmail(&v, "body.admin_email", email)
	if err := v.Err(); err != nil {
		return "", Invitation{}, err
	}
	now := s.now()
	token := newOpaqueToken()
	return token, Invitation{ID: uuid.Must(uuid.NewV7()), TenantID: tenant, Email: NormalizeEmail(email), Role: RoleOwner,
		TokenHash: hashToken(token), CreatedBy: eusaas.System.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.InvitationTTL)}, nil
}

// SaveOwnerInvitation stores an invitation made by DraftOwnerInvitation, with its audit
// entry. Storing one that is already stored is not an error, so a retried provisioning job
// can call it again.
func (s *Service) SaveOwnerInvitation(ctx context.Context, inv Invitation) error {
	if inv.Role != RoleOwner || len(inv.TokenHash) == 0 || inv.ID == uuid.Nil {
		return eusaas.E(eusaas.InvalidArgument, "not a drafted owner invitation")
	}
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Invitations.CreateInvitation(ctx, inv); err != nil {
			return err
		}
		return s.record(ctx, eusaas.AuditEvent{TenantID: inv.TenantID, Actor: eusaas.System, Action: ActionInvitationCreated,
			ResourceType: "invitation", ResourceID: inv.ID.String(), Changes: map[string]any{"role": string(inv.Role)},
			Personal: map[string]string{"email": inv.Email}})
	})
	if eusaas.KindOf(err) == eusaas.AlreadyExists {
		return nil
	}
	return err
}
