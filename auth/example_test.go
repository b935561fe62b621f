package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/auth/memauth"
	"github.com/eusaas/eusaas/memtx"
)

// staticTenants resolves one tenant by its slug.
type staticTenants struct{ info auth.TenantInfo }

func (s staticTenants) Resolve(_ context.Context, idOrSlug string) (auth.TenantInfo, error) {
	if idOrSlug == "acme" || idOrSlug == s.info.ID.String() {
		return s.info, nil
	}
	return auth.TenantInfo{}, eusaas.E(eusaas.NotFound, "tenant not found")
}

// Embedding the auth module alone: memory stores, a generated signing key, an owner
// invitation, registration, login, verification of the access token and a refresh.
func Example() {
	ctx := context.Background()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	keys, _ := auth.NewKeySet(key, nil)
	hasher, _ := auth.NewHasher(auth.OWASPParams, auth.HasherOptions{})
	store := memauth.NewStore()
	tenant := eusaas.NewTenantID()
	svc, err := auth.NewService(auth.Deps{
		Users: store, Operators: store, Sessions: store, Invitations: store,
		Denylist: memauth.NewDenylist(nil), Limiter: memauth.NewLimiter(),
		Keys: keys, Hasher: hasher, Tx: memtx.NewTxRunner(),
		Tenants: staticTenants{auth.TenantInfo{ID: tenant, Status: auth.TenantActive}},
	}, auth.Config{})
	if err != nil {
		panic(err)
	}

	invitation, _, _ := svc.IssueOwnerInvitation(ctx, tenant, "owner@example.com")
	user, err := svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "acme", Email: "owner@example.com",
		Password: "Correct-Horse-9", FullName: "Olga Owner", InvitationToken: invitation})
	if err != nil {
		panic(err)
	}
	pair, _ := svc.Login(ctx, auth.LoginInput{TenantIDOrSlug: "acme", Email: "owner@example.com", Password: "Correct-Horse-9"})
	p, _ := svc.Authenticate(ctx, "Bearer "+pair.AccessToken)
	fmt.Println(user.Role, p.Role, p.UserID == user.ID.String(), p.Can(tenant, auth.PermTenantAdmin))

	next, _ := svc.Refresh(ctx, pair.RefreshToken)
	fmt.Println(next.RefreshToken != pair.RefreshToken, next.ExpiresIn)
	// Output:
	// OWNER OWNER true true
	// true 900
}
