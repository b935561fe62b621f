package audit_test

import (
	"context"
	"crypto/ed25519"
	"fmt"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/audit/memaudit"
)

// Record events, erase a subject's personal data, and verify the chain.
func Example() {
	ctx := context.Background()
	store := memaudit.NewStore()
	svc, err := audit.NewService(audit.Deps{Store: store, Keys: store}, audit.Options{Signer: ed25519.NewKeyFromSeed(make([]byte, 32))})
	if err != nil {
		panic(err)
	}
	tenant := eusaas.NewTenantID()
	alice := eusaas.Actor{Kind: eusaas.ActorUser, ID: "user-alice", TenantID: tenant}

	_ = svc.Record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: alice, Action: audit.ActionLogin,
		ResourceType: "session", Meta: eusaas.RequestMeta{IP: "203.0.113.5", UserAgent: "curl/8"}})
	_ = svc.Record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: alice, Action: audit.ActionUpdate,
		ResourceType: "user", ResourceID: "user-alice", Changes: map[string]any{"role": "ADMIN"},
		Subject: "user-alice", Personal: map[string]string{"email": "alice@example.org"}})

	n, _ := svc.EraseSubject(ctx, tenant, "user-alice")
	fmt.Println("values erased:", n)

	r, _ := svc.Verify(ctx, tenant)
	fmt.Println("chain ok:", r.OK, "entries:", r.Entries)

	l, _ := svc.List(ctx, tenant, audit.Filter{Action: audit.ActionLogin}, eusaas.Page{})
	ip, _ := l.Items[0].Field(audit.FieldIPAddress)
	fmt.Println("ip erased:", ip.Erased)
	// Output:
	// values erased: 3
	// chain ok: true entries: 2
	// ip erased: true
}
