// Command audit-chain records a few events in the tamper-evident audit log (memory store),
// verifies the chain, then does to the stored entries what an attacker with database access
// could do — edit one entry, and separately cut off the tail of a chain and fix up its head —
// and prints what the verifier finds.
//
//	go run ./examples/audit-chain
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/audit/memaudit"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "audit-chain:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer) error {
	// The checkpoint signing key: in production it comes from APP_AUDIT_CHECKPOINT_KEY and
	// only its public half is needed to verify.
	_, signer, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	store := memaudit.NewStore() // also the KeyStore of the personal-value commitments
	clock := eusaas.NewFakeClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	svc, err := audit.NewService(audit.Deps{Store: store, Keys: store}, audit.Options{Signer: signer, Clock: clock})
	if err != nil {
		return err
	}
	defer svc.Close()

	edited, truncated := eusaas.NewTenantID(), eusaas.NewTenantID()
	for _, tenant := range []eusaas.TenantID{edited, truncated} {
		if err := record(ctx, svc, clock, tenant); err != nil {
			return err
		}
		// A signed checkpoint of the head: it is what makes truncation detectable.
		if _, err := svc.Checkpoint(ctx, tenant); err != nil {
			return err
		}
	}
	r, err := svc.Verify(ctx, edited)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "before tampering: ok=%t entries=%d checkpoint size=%d\n", r.OK, r.Entries, r.Checkpoint.Size)

	// Attack 1: raise the role granted in entry 2 from MEMBER to OWNER.
	store.Rewrite(edited, func(entries []audit.Entry, head audit.Head) ([]audit.Entry, audit.Head) {
		entries[1].Changes = []byte(`{"role":"OWNER"}`)
		return entries, head
	})
	if err := report(ctx, w, svc, "edited entry 2", edited); err != nil {
		return err
	}

	// Attack 2: delete the last entry and make the head point at the new last one, so the
	// chain is internally consistent. Only the signed checkpoint still knows its size.
	store.Rewrite(truncated, func(entries []audit.Entry, _ audit.Head) ([]audit.Entry, audit.Head) {
		entries = entries[:len(entries)-1]
		last := entries[len(entries)-1]
		return entries, audit.Head{Size: last.Seq, Hash: last.Hash}
	})
	return report(ctx, w, svc, "deleted the tail", truncated)
}

// record appends four events to the tenant's chain, one clock minute apart.
func record(ctx context.Context, svc *audit.Service, clock *eusaas.FakeClock, tenant eusaas.TenantID) error {
	admin := eusaas.Actor{Kind: eusaas.ActorUser, ID: "user-admin", TenantID: tenant}
	events := []eusaas.AuditEvent{
		{Action: audit.ActionLogin, ResourceType: "session", Meta: eusaas.RequestMeta{IP: "203.0.113.5", UserAgent: "curl/8"}},
		{Action: audit.ActionUpdate, ResourceType: "user", ResourceID: "user-bob", Changes: map[string]any{"role": "MEMBER"}},
		{Action: audit.ActionExport, ResourceType: "gdpr_export", ResourceID: "job-1"},
		{Action: audit.ActionLogout, ResourceType: "session"},
	}
	for _, ev := range events {
		ev.TenantID, ev.Actor = tenant, admin
		if err := svc.Record(ctx, ev); err != nil {
			return err
		}
		clock.Advance(time.Minute)
	}
	return nil
}

func report(ctx context.Context, w io.Writer, svc *audit.Service, what string, chain eusaas.TenantID) error {
	r, err := svc.Verify(ctx, chain)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: ok=%t verified=%d finding: %s\n", what, r.OK, r.Entries, r.Finding)
	return nil
}
