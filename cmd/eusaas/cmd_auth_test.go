package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/memtx"
	"github.com/eusaas/eusaas/tenancy"
)

func TestKeysGenerate(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: io.Discard, Getenv: env(nil)}
	require.Equal(t, 0, m.Run(context.Background(), []string{"keys", "generate", "--dir", dir, "--bits", "2048"}))
	privPEM, err := os.ReadFile(filepath.Join(dir, "jwt-private.pem"))
	require.NoError(t, err)
	pubPEM, err := os.ReadFile(filepath.Join(dir, "jwt-public.pem"))
	require.NoError(t, err)
	st, err := os.Stat(filepath.Join(dir, "jwt-private.pem"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	key, err := auth.ParsePrivateKeyPEM(privPEM)
	require.NoError(t, err)
	pubs, err := auth.ParsePublicKeysPEM(pubPEM)
	require.NoError(t, err)
	require.Len(t, pubs, 1)
	require.True(t, key.PublicKey.Equal(pubs[0]))
	require.Contains(t, out.String(), auth.Thumbprint(pubs[0]))
	require.NotContains(t, out.String(), "PRIVATE KEY", "the key itself is never printed")

	// A second run refuses to overwrite.
	var stderr bytes.Buffer
	m.Stderr = &stderr
	require.NotEqual(t, 0, m.Run(context.Background(), []string{"keys", "generate", "--dir", dir, "--bits", "2048"}))
	require.Contains(t, stderr.String(), "--force")
}

func authTestApp(t *testing.T, cfg Config, memoryMode bool) *App {
	a := &App{cfg: cfg, log: slog.New(slog.DiscardHandler)}
	if memoryMode {
		a.memTx = memtx.NewTxRunner()
		a.tx = a.memTx
	} else {
		a.db = &postgres.DB{} // never reached: the key check comes first
		a.tx = a.db
	}
	return a
}

var noTenants = authTenantResolver(func(context.Context, string) (auth.TenantInfo, error) {
	return auth.TenantInfo{}, eusaas.E(eusaas.NotFound, "tenant not found")
})

func TestWireAuthMemoryModeGeneratesKeyAndOperator(t *testing.T) {
	cfg, err := LoadConfig(env(nil))
	require.NoError(t, err)
	var notice bytes.Buffer
	a := authTestApp(t, cfg, true)
	svc, err := a.wireAuth(context.Background(), noTenants, eusaas.Discard, &notice)
	require.NoError(t, err)
	m := regexp.MustCompile(`operator (\S+), password (\S+) \(shown once\)`).FindStringSubmatch(notice.String())
	require.Len(t, m, 3, notice.String())
	pair, err := svc.Login(context.Background(), auth.LoginInput{Email: m[1], Password: m[2]})
	require.NoError(t, err, "the printed password logs the operator in")
	p, err := svc.Authenticate(context.Background(), pair.AccessToken)
	require.NoError(t, err)
	require.Equal(t, eusaas.ActorOperator, p.Kind)
	require.Len(t, svc.JWKS().Keys, 1)
}

func TestWireAuthBootstrapFromEnv(t *testing.T) {
	cfg, err := LoadConfig(env(map[string]string{"APP_BOOTSTRAP_ADMIN_EMAIL": "root@example.com", "APP_BOOTSTRAP_ADMIN_PASSWORD": "Sup3r-Secret!"}))
	require.NoError(t, err)
	var notice bytes.Buffer
	svc, err := authTestApp(t, cfg, true).wireAuth(context.Background(), noTenants, eusaas.Discard, &notice)
	require.NoError(t, err)
	require.Empty(t, notice.String(), "nothing is printed when the operator comes from the environment")
	_, err = svc.Login(context.Background(), auth.LoginInput{Email: "root@example.com", Password: "Sup3r-Secret!"})
	require.NoError(t, err)

	cfg.BootstrapPassword = "weak"
	_, err = authTestApp(t, cfg, true).wireAuth(context.Background(), noTenants, eusaas.Discard, io.Discard)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "weak", "the password is not echoed")
}

func TestWireAuthRefusesWithoutKeysOutsideMemoryMode(t *testing.T) {
	cfg, err := LoadConfig(env(map[string]string{"APP_POSTGRES_HOST": "localhost"}))
	require.NoError(t, err)
	_, err = authTestApp(t, cfg, false).wireAuth(context.Background(), noTenants, eusaas.Discard, io.Discard)
	require.Error(t, err)
	require.Contains(t, err.Error(), "eusaas keys generate")
	require.Contains(t, err.Error(), "APP_JWT_PRIVATE_KEY")
}

func TestWireAuthKeysFromPEM(t *testing.T) {
	dir := t.TempDir()
	m := &Main{Stdout: io.Discard, Stderr: io.Discard, Getenv: env(nil)}
	for _, sub := range []string{"old", "new"} {
		require.Equal(t, 0, m.Run(context.Background(), []string{"keys", "generate", "--dir", filepath.Join(dir, sub), "--bits", "2048"}))
	}
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(dir, p))
		require.NoError(t, err)
		return string(b)
	}
	cfg, err := LoadConfig(env(map[string]string{"APP_JWT_PRIVATE_KEY": read("new/jwt-private.pem"),
		"APP_JWT_PUBLIC_KEY": read("new/jwt-public.pem") + read("old/jwt-public.pem")}))
	require.NoError(t, err)
	svc, err := authTestApp(t, cfg, true).wireAuth(context.Background(), noTenants, eusaas.Discard, io.Discard)
	require.NoError(t, err)
	newPub, err := auth.ParsePublicKeysPEM([]byte(read("new/jwt-public.pem")))
	require.NoError(t, err)
	set := svc.JWKS()
	require.Len(t, set.Keys, 2, "the previous key is published while its tokens may live")
	require.Equal(t, auth.Thumbprint(newPub[0]), set.Keys[0].Kid, "the active key signs")

	// A public key that does not match the private key is refused.
	cfg.JWTPublicKeyPEM = read("old/jwt-public.pem")
	_, err = authTestApp(t, cfg, true).wireAuth(context.Background(), noTenants, eusaas.Discard, io.Discard)
	require.Error(t, err)
	require.Contains(t, err.Error(), "APP_JWT_PUBLIC_KEY")
	require.False(t, strings.Contains(err.Error(), "BEGIN"), "no key material in errors")
}

// TestAuthTenancyWiring: the late-bound tenancy adapter lets auth and tenancy reference each
// other: a tenant created through tenancy (whose owner invitation auth issues) is resolved by
// auth for registration.
func TestAuthTenancyWiring(t *testing.T) {
	cfg, err := LoadConfig(env(nil))
	require.NoError(t, err)
	a := authTestApp(t, cfg, true)
	ten := &authTenancy{}
	_, err = ten.Resolve(context.Background(), "acme")
	require.Equal(t, eusaas.Unavailable, eusaas.KindOf(err), "unwired adapter fails closed")
	svc, err := a.wireAuth(context.Background(), ten, eusaas.Discard, io.Discard)
	require.NoError(t, err)
	tsvc, err := a.wireTenancy(eusaas.Discard, svc)
	require.NoError(t, err)
	ten.Service = tsvc
	_, err = ten.Resolve(context.Background(), "no-such-tenant")
	require.Equal(t, eusaas.NotFound, eusaas.KindOf(err))

	ctx := context.Background()
	res, err := tsvc.Create(ctx, tenancy.CreateInput{Name: "Acme", Slug: "acme", AdminEmail: "owner@example.com"})
	require.NoError(t, err)
	require.NotEmpty(t, res.Invitation.Token, "tenancy got the owner invitation from auth")
	u, err := svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: "acme", Email: "owner@example.com",
		Password: "Correct-Horse-9", FullName: "Olga", InvitationToken: res.Invitation.Token})
	require.NoError(t, err)
	require.Equal(t, auth.RoleOwner, u.Role)
	_, err = svc.Login(ctx, auth.LoginInput{TenantIDOrSlug: "acme", Email: "owner@example.com", Password: "Correct-Horse-9"})
	require.NoError(t, err)
}
