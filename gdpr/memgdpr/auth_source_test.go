package memgdpr_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/gdpr/memgdpr"
	"github.com/eusaas/eusaas/internal/gdprfixture"
	"github.com/eusaas/eusaas/memtx"
)

func TestAuthGDPRSource(t *testing.T) {
	runSource(t, sourceCase{
		pick:     func(s stores) eusaas.DataSource { return s.Auth },
		subjects: map[string]string{"auth_users": "id", "auth_sessions": "user_id", "auth_invitations": "", "auth_api_keys": "", "auth_sso": ""},
		counts:   map[string]int{"auth_users": 2, "auth_sessions": 3, "auth_invitations": 2, "auth_api_keys": 2, "auth_sso": 1},
	})
}

func TestAuthGDPRSubjectFilter(t *testing.T) {
	ctx := context.Background()
	s := newStores()
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
	seed := gdprfixture.Fill(t, ctx, s.ports(), a)
	seedB := gdprfixture.Fill(t, ctx, s.ports(), b)
	data := memgdpr.NewTenantData(s.Auth)

	got := gdprfixture.RowCounts(gdprfixture.Dump(t, ctx, data, a, seed.U1.String()))
	if diff := cmp.Diff(map[string]int{"auth_users": 1, "auth_sessions": 2}, got); diff != "" {
		t.Fatalf("user 1's rows (-want +got):\n%s", diff)
	}
	got = gdprfixture.RowCounts(gdprfixture.Dump(t, ctx, data, a, seed.U2.String(), seed.U1.String()))
	if diff := cmp.Diff(map[string]int{"auth_users": 2, "auth_sessions": 3}, got); diff != "" {
		t.Fatalf("users 1 and 2's rows (-want +got):\n%s", diff)
	}
	n := 0
	if err := s.Auth.ScanData(ctx, a, "auth_invitations", []string{seed.U1.String(), seed.Email1}, func(eusaas.DataRow) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("subject-filtered invitations: %d rows, %v (the table has no subject column)", n, err)
	}
	if rows := gdprfixture.Dump(t, ctx, data, a, seed.U1.String())["auth_users"]; len(rows) != 1 || !strings.HasPrefix(rows[0], `id=string:"`+seed.U1.String()+`" `) {
		t.Fatalf("user 1's auth_users rows: %v", rows)
	}
	// Another tenant's subject selects nothing.
	got = gdprfixture.RowCounts(gdprfixture.Dump(t, ctx, data, a, seedB.U1.String(), seedB.U2.String()))
	if diff := cmp.Diff(map[string]int{"auth_users": 0, "auth_sessions": 0}, got); diff != "" {
		t.Fatalf("tenant B's subjects in tenant A (-want +got):\n%s", diff)
	}

	for _, c := range []struct {
		tenant  eusaas.TenantID
		subject string
		want    bool
	}{
		{a, seed.U1.String(), true},
		{a, seed.U2.String(), true},
		{a, seed.Pending, false}, // an email is no subject id (as in Postgres)
		{a, seed.Email1, false},
		{a, strings.ToUpper(seed.U1.String()), false}, // Postgres compares id::text
		{a, seedB.U1.String(), false},
		{b, seed.U1.String(), false},
		{a, "no-such-subject", false},
		{eusaas.NilTenant, seed.U1.String(), false},
	} {
		if got, err := s.Auth.HasDataSubject(ctx, c.tenant, c.subject); err != nil || got != c.want {
			t.Errorf("HasDataSubject(%v, %q) = %v, %v, want %v", c.tenant, c.subject, got, err, c.want)
		}
	}
}

// TestAuthGDPRDeleteTenantStore checks the deletion through the store's own methods: the
// tenant's users, sessions and invitations are gone, operators and other tenants stay.
func TestAuthGDPRDeleteTenantStore(t *testing.T) {
	ctx := context.Background()
	s := newStores()
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
	seed := gdprfixture.Fill(t, ctx, s.ports(), a)
	seedB := gdprfixture.Fill(t, ctx, s.ports(), b)
	op := auth.User{ID: gdprfixture.ID(a, "operator"), Email: "ops@example.eu", FullName: "Ops", PasswordHash: "x", IsActive: true,
		CreatedAt: gdprfixture.Base, UpdatedAt: gdprfixture.Base}
	if err := s.Auth.CreateOperator(ctx, op); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Auth.DeleteTenantData(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Auth.GetUserByEmail(ctx, a, seed.Email1); eusaas.KindOf(err) != eusaas.NotFound {
		t.Fatalf("owner after erasure: %v", err)
	}
	if _, err := s.Auth.GetUser(ctx, a, seed.U2); eusaas.KindOf(err) != eusaas.NotFound {
		t.Fatalf("member after erasure: %v", err)
	}
	if _, err := s.Auth.GetSession(ctx, a, gdprfixture.ID(a, "s1")); eusaas.KindOf(err) != eusaas.NotFound {
		t.Fatalf("session after erasure: %v", err)
	}
	if _, err := s.Auth.ConsumeInvitation(ctx, a, gdprfixture.Hash("i2"), gdprfixture.Base); eusaas.KindOf(err) != eusaas.NotFound {
		t.Fatalf("pending invitation after erasure: %v", err)
	}
	// The tenant can start over (same ids and emails), as after a fresh schema.
	if err := s.Auth.CreateUser(ctx, auth.User{ID: seed.U1, TenantID: a, Email: seed.Email1, Role: auth.RoleOwner, CreatedAt: gdprfixture.Base, UpdatedAt: gdprfixture.Base}); err != nil {
		t.Fatalf("recreate after erasure: %v", err)
	}
	if _, err := s.Auth.GetOperator(ctx, op.ID); err != nil {
		t.Fatalf("operator after a tenant's erasure: %v", err)
	}
	if _, err := s.Auth.GetUserByEmail(ctx, b, seedB.Email1); err != nil {
		t.Fatalf("tenant B's owner after tenant A's erasure: %v", err)
	}
	if _, err := s.Auth.GetSession(ctx, b, gdprfixture.ID(b, "s1")); err != nil {
		t.Fatalf("tenant B's session after tenant A's erasure: %v", err)
	}
	if got, err := s.Auth.DeleteTenantData(ctx, eusaas.NilTenant); err != nil || got["auth_users"] != 0 {
		t.Fatalf("deleting the nil tenant = %v, %v", got, err)
	}
	if _, err := s.Auth.GetOperator(ctx, op.ID); err != nil {
		t.Fatalf("operator after deleting the nil tenant: %v", err)
	}
}

// TestAuthGDPRNoCredentials: password and token hashes never appear in the tables (the
// Postgres adapter skips the columns commented gdpr:secret).
func TestAuthGDPRNoCredentials(t *testing.T) {
	ctx := context.Background()
	s := newStores()
	a := eusaas.NewTenantID()
	gdprfixture.Fill(t, ctx, s.ports(), a)
	for name, rows := range gdprfixture.Dump(t, ctx, memgdpr.NewTenantData(s.Auth), a) {
		for _, r := range rows {
			for _, secret := range []string{"$argon2id$", "hash", fmt.Sprintf("%x", gdprfixture.Hash("s1.1")), fmt.Sprintf("%x", gdprfixture.Hash("i2"))} {
				if strings.Contains(r, secret) {
					t.Fatalf("%s exports %q: %s", name, secret, r)
				}
			}
		}
	}
}

// TestAuthGDPREraseDuringTx: a transaction that changed a tenant's users and sessions rolls
// back after the tenant was erased outside it (the erasure saga does not run in the
// request's transaction); the rollback neither panics nor brings the rows back.
func TestAuthGDPREraseDuringTx(t *testing.T) {
	ctx := context.Background()
	s := newStores()
	a := eusaas.NewTenantID()
	seed := gdprfixture.Fill(t, ctx, s.ports(), a)
	boom := eusaas.E(eusaas.Internal, "boom")
	err := memtx.NewTxRunner().InTx(ctx, func(txCtx context.Context) error {
		if err := s.Auth.SetUserActive(txCtx, a, seed.U1, false, gdprfixture.Base); err != nil { // authPut, had
			return err
		}
		if _, err := s.Auth.DeleteUserSessions(txCtx, a, seed.U2); err != nil { // authDel
			return err
		}
		if err := s.Auth.CreateUser(txCtx, auth.User{ID: gdprfixture.ID(a, "u3"), TenantID: a, Email: "u3@example.eu", Role: auth.RoleViewer}); err != nil {
			return err
		}
		if _, err := s.Auth.DeleteTenantData(ctx, a); err != nil { // outside the transaction
			return err
		}
		return boom
	})
	if err != boom {
		t.Fatalf("InTx = %v", err)
	}
	got := gdprfixture.RowCounts(gdprfixture.Dump(t, ctx, memgdpr.NewTenantData(s.Auth), a))
	if diff := cmp.Diff(map[string]int{"auth_users": 0, "auth_sessions": 0, "auth_invitations": 0, "auth_api_keys": 0, "auth_sso": 0}, got); diff != "" {
		t.Fatalf("rows back after the rollback (-want +got):\n%s", diff)
	}
}
