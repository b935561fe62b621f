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
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/platform"
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

// authTestService builds the auth service as the app does (keys from cfg, memory stores)
// and runs the operator bootstrap, whose one-time notice goes to notice.
func authTestService(t *testing.T, cfg Config, memoryMode bool, notice io.Writer) (*auth.Service, error) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	keys, err := authKeys(cfg, memoryMode, log)
	if err != nil {
		return nil, err
	}
	stores, _ := platform.Memory(nil)
	p, err := platform.New(context.Background(), stores, platform.Config{Auth: authConfig(cfg), AuthKeys: keys,
		GDPR: gdpr.Options{SigningKey: testSigningKey()}})
	require.NoError(t, err)
	t.Cleanup(p.Close)
	if err := bootstrapOperator(context.Background(), cfg, memoryMode, p.Auth, stores.Operators, log, notice); err != nil {
		return nil, err
	}
	return p.Auth, nil
}

func TestWireAuthMemoryModeGeneratesKeyAndOperator(t *testing.T) {
	cfg, err := LoadConfig(env(nil))
	require.NoError(t, err)
	var notice bytes.Buffer
	svc, err := authTestService(t, cfg, true, &notice)
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
	svc, err := authTestService(t, cfg, true, &notice)
	require.NoError(t, err)
	require.Empty(t, notice.String(), "nothing is printed when the operator comes from the environment")
	_, err = svc.Login(context.Background(), auth.LoginInput{Email: "root@example.com", Password: "Sup3r-Secret!"})
	require.NoError(t, err)

	cfg.BootstrapPassword = "weak"
	_, err = authTestService(t, cfg, true, io.Discard)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "weak", "the password is not echoed")
}

func TestWireAuthRefusesWithoutKeysOutsideMemoryMode(t *testing.T) {
	cfg, err := LoadConfig(env(map[string]string{"APP_POSTGRES_HOST": "localhost"}))
	require.NoError(t, err)
	_, err = authKeys(cfg, false, slog.New(slog.DiscardHandler))
	require.Error(t, err)
	require.Contains(t, err.Error(), "eusaas keys generate")
	require.Contains(t, err.Error(), "APP_JWT_PRIVATE_KEY")
	// The app refuses before connecting anywhere (the port below is never dialled).
	cfg, err = LoadConfig(env(map[string]string{"APP_POSTGRES_HOST": "127.0.0.1", "APP_POSTGRES_PORT": "1"}))
	require.NoError(t, err)
	_, err = NewApp(context.Background(), cfg, slog.New(slog.DiscardHandler))
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "APP_JWT_PRIVATE_KEY", ce.Var)
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
	svc, err := authTestService(t, cfg, true, io.Discard)
	require.NoError(t, err)
	newPub, err := auth.ParsePublicKeysPEM([]byte(read("new/jwt-public.pem")))
	require.NoError(t, err)
	set := svc.JWKS()
	require.Len(t, set.Keys, 2, "the previous key is published while its tokens may live")
	require.Equal(t, auth.Thumbprint(newPub[0]), set.Keys[0].Kid, "the active key signs")

	// A public key that does not match the private key is refused.
	cfg.JWTPublicKeyPEM = read("old/jwt-public.pem")
	_, err = authKeys(cfg, true, slog.New(slog.DiscardHandler))
	require.Error(t, err)
	require.Contains(t, err.Error(), "APP_JWT_PUBLIC_KEY")
	require.False(t, strings.Contains(err.Error(), "BEGIN"), "no key material in errors")
}
