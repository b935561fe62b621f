package auth

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// accounts is the one view of a password account store that login, refresh, verification
// and Me are written against. Tenant users and platform operators live in two stores with
// two ports (UserStore, OperatorStore) because they live in different storage, but every
// flow over them is the same; accountsOf picks the store once, so the flows never ask
// "operator or user?" again.
type accounts interface {
	// actor is the audit actor of the account with the id.
	actor(id uuid.UUID) eusaas.Actor
	// get returns the account; NotFound when absent.
	get(ctx context.Context, id uuid.UUID) (User, error)
	// byEmail returns the account with the normalised email; NotFound when absent.
	byEmail(ctx context.Context, email string) (User, error)
	// setPassword replaces the password hash; NotFound when absent.
	setPassword(ctx context.Context, id uuid.UUID, hash string, at time.Time) error
	// recordLogin sets the last login time; NotFound when absent.
	recordLogin(ctx context.Context, id uuid.UUID, at time.Time) error
}

// accountsOf returns the accounts of a tenant, or the platform operators for the zero
// tenant — the same rule by which sessions, refresh tokens and access tokens tell an
// operator from a user (User.IsOperator).
func (s *Service) accountsOf(tenant eusaas.TenantID) accounts {
	if tenant.IsZero() {
		return operatorAccounts{s.d.Operators}
	}
	return userAccounts{store: s.d.Users, tenant: tenant}
}

// userAccounts are one tenant's users.
type userAccounts struct {
	store  UserStore
	tenant eusaas.TenantID
}

func (a userAccounts) actor(id uuid.UUID) eusaas.Actor {
	return eusaas.Actor{Kind: eusaas.ActorUser, ID: id.String(), TenantID: a.tenant}
}

func (a userAccounts) get(ctx context.Context, id uuid.UUID) (User, error) {
	return a.store.GetUser(ctx, a.tenant, id)
}

func (a userAccounts) byEmail(ctx context.Context, email string) (User, error) {
	return a.store.GetUserByEmail(ctx, a.tenant, email)
}

func (a userAccounts) setPassword(ctx context.Context, id uuid.UUID, hash string, at time.Time) error {
	return a.store.SetUserPassword(ctx, a.tenant, id, hash, at)
}

func (a userAccounts) recordLogin(ctx context.Context, id uuid.UUID, at time.Time) error {
	return a.store.RecordUserLogin(ctx, a.tenant, id, at)
}

// operatorAccounts are the platform operators.
type operatorAccounts struct{ store OperatorStore }

func (a operatorAccounts) actor(id uuid.UUID) eusaas.Actor {
	return eusaas.Actor{Kind: eusaas.ActorOperator, ID: id.String()}
}

func (a operatorAccounts) get(ctx context.Context, id uuid.UUID) (User, error) {
	return a.store.GetOperator(ctx, id)
}

func (a operatorAccounts) byEmail(ctx context.Context, email string) (User, error) {
	return a.store.GetOperatorByEmail(ctx, email)
}

func (a operatorAccounts) setPassword(ctx context.Context, id uuid.UUID, hash string, at time.Time) error {
	return a.store.SetOperatorPassword(ctx, id, hash, at)
}

func (a operatorAccounts) recordLogin(ctx context.Context, id uuid.UUID, at time.Time) error {
	return a.store.RecordOperatorLogin(ctx, id, at)
}
