package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/internal/pgtest"
)

// TestGDPRKEKRequiredInPostgresMode: without APP_GDPR_KEY_ENCRYPTION_KEY the server refuses
// to start in Postgres mode, naming the variable and how to make one, before it connects
// anywhere (port 1 is never dialled: a connection attempt would surface as another error).
func TestGDPRKEKRequiredInPostgresMode(t *testing.T) {
	priv, pub := testKeyPEMs(t)
	vars := map[string]string{"APP_POSTGRES_HOST": "127.0.0.1", "APP_POSTGRES_PORT": "1",
		"APP_JWT_PRIVATE_KEY": priv, "APP_JWT_PUBLIC_KEY": pub}
	cfg, err := LoadConfig(env(vars))
	require.NoError(t, err)
	_, err = NewApp(context.Background(), cfg, slog.New(slog.DiscardHandler))
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "APP_GDPR_KEY_ENCRYPTION_KEY", ce.Var)
	require.Contains(t, ce.Error(), "eusaas gdpr keygen")
	require.Contains(t, ce.Error(), "never in the database or its backups")

	var stderr bytes.Buffer
	m := &Main{Stdout: &stderr, Stderr: &stderr, Getenv: env(vars)}
	require.NotZero(t, m.Run(context.Background(), []string{"serve"}))
	require.Contains(t, stderr.String(), "APP_GDPR_KEY_ENCRYPTION_KEY")

	// Memory mode needs none: its backup keys never leave the process.
	_, err = LoadConfig(env(nil))
	require.NoError(t, err)
}

// A KEK of the wrong length or encoding is refused, naming the variable, never the value.
func TestGDPRKEKMalformed(t *testing.T) {
	for name, v := range map[string]string{
		"short": base64.StdEncoding.EncodeToString(make([]byte, 16)),
		"long":  base64.StdEncoding.EncodeToString(make([]byte, 33)),
		"text":  "not-base64!!",
	} {
		for _, key := range []string{"APP_GDPR_KEY_ENCRYPTION_KEY", "APP_GDPR_KEY_ENCRYPTION_KEY_PREVIOUS"} {
			t.Run(name+"/"+key, func(t *testing.T) {
				vars := map[string]string{key: v}
				if key != "APP_GDPR_KEY_ENCRYPTION_KEY" {
					vars["APP_GDPR_KEY_ENCRYPTION_KEY"] = testKEK
				}
				_, err := LoadConfig(env(vars))
				var ce *ConfigError
				require.ErrorAs(t, err, &ce)
				require.Equal(t, key, ce.Var)
				require.Contains(t, ce.Error(), "32 bytes")
				require.NotContains(t, ce.Error(), v)
			})
		}
	}
	_, err := LoadConfig(env(map[string]string{"APP_GDPR_KEY_ENCRYPTION_KEY_PREVIOUS": testKEK}))
	var ce *ConfigError
	require.ErrorAs(t, err, &ce, "a previous KEK without a current one")
	require.Equal(t, "APP_GDPR_KEY_ENCRYPTION_KEY_PREVIOUS", ce.Var)
}

// `eusaas gdpr keygen` prints a KEK that the configuration accepts, different every run.
func TestGDPRKeygenPrintsKEK(t *testing.T) {
	kek := func() string {
		code, out, errOut := runCLI(t, nil, "gdpr", "keygen")
		require.Equal(t, 0, code, errOut)
		for _, line := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(line, "APP_GDPR_KEY_ENCRYPTION_KEY="); ok {
				return v
			}
		}
		t.Fatalf("no KEK in %q", out)
		return ""
	}
	a, b := kek(), kek()
	require.NotEqual(t, a, b)
	cfg, err := LoadConfig(env(map[string]string{"APP_GDPR_KEY_ENCRYPTION_KEY": a}))
	require.NoError(t, err)
	require.Len(t, cfg.GDPR.KEK, 32)
}

// TestGDPRRotateKEK: `eusaas gdpr rotate-kek` re-seals keys sealed with the previous KEK
// (from the environment or --previous-file) and keys stored unsealed; afterwards only the
// new KEK opens them. Without a KEK, or in memory mode, it refuses.
func TestGDPRRotateKEK(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	base := pgConfigFromURL(t, dbURL)
	delete(base, "APP_GDPR_KEY_ENCRYPTION_KEY")
	db, err := postgres.Open(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	require.NoError(t, db.MigratePlatform(ctx))

	kek := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	b64 := base64.StdEncoding.EncodeToString
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	put := func(sealWith []byte) (eusaas.TenantID, []byte) {
		s, err := postgres.NewGDPRStore(db, sealWith)
		require.NoError(t, err)
		tn := eusaas.NewTenantID()
		m := bytes.Repeat([]byte{byte(len(tn.String()) + int(tn[0]))}, 32)
		require.NoError(t, s.CreateKey(ctx, gdpr.Key{TenantID: tn, Material: m, CreatedAt: at, DestroyAfter: at.AddDate(0, 0, 30)}))
		return tn, m
	}
	with := func(extra map[string]string) map[string]string {
		v := map[string]string{}
		for k, x := range base {
			v[k] = x
		}
		for k, x := range extra {
			v[k] = x
		}
		return v
	}
	opens := func(k []byte, tn eusaas.TenantID, want []byte) bool {
		s, err := postgres.NewGDPRStore(db, k)
		require.NoError(t, err)
		got, err := s.Key(ctx, tn)
		return err == nil && bytes.Equal(got.Material, want)
	}

	code, _, errOut := runCLI(t, base, "gdpr", "rotate-kek")
	require.NotZero(t, code)
	require.Contains(t, errOut, "APP_GDPR_KEY_ENCRYPTION_KEY")
	code, _, errOut = runCLI(t, map[string]string{"APP_GDPR_KEY_ENCRYPTION_KEY": b64(kek(2))}, "gdpr", "rotate-kek")
	require.NotZero(t, code)
	require.Contains(t, errOut, "needs PostgreSQL")

	t1, m1 := put(kek(1))
	t0, m0 := put(nil) // a server that ran without a KEK
	code, out, errOut := runCLI(t, with(map[string]string{"APP_GDPR_KEY_ENCRYPTION_KEY": b64(kek(2)),
		"APP_GDPR_KEY_ENCRYPTION_KEY_PREVIOUS": b64(kek(1))}), "gdpr", "rotate-kek")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "re-sealed 2 backup keys")
	require.NotContains(t, out, b64(kek(2)), "the KEK is never printed")
	require.True(t, opens(kek(2), t1, m1))
	require.True(t, opens(kek(2), t0, m0))
	require.False(t, opens(kek(1), t1, m1))

	// The next rotation takes the old KEK from a file.
	file := filepath.Join(t.TempDir(), "previous")
	require.NoError(t, os.WriteFile(file, []byte(b64(kek(2))+"\n"), 0o600))
	code, out, errOut = runCLI(t, with(map[string]string{"APP_GDPR_KEY_ENCRYPTION_KEY": b64(kek(3))}), "gdpr", "rotate-kek", "--previous-file", file)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "re-sealed 2 backup keys")
	require.True(t, opens(kek(3), t1, m1))
	require.True(t, opens(kek(3), t0, m0))
	code, out, errOut = runCLI(t, with(map[string]string{"APP_GDPR_KEY_ENCRYPTION_KEY": b64(kek(3))}), "gdpr", "rotate-kek")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "re-sealed 0 backup keys", "a second run re-seals nothing")

	// A wrong previous KEK fails the run and changes nothing.
	code, _, errOut = runCLI(t, with(map[string]string{"APP_GDPR_KEY_ENCRYPTION_KEY": b64(kek(4)),
		"APP_GDPR_KEY_ENCRYPTION_KEY_PREVIOUS": b64(kek(9))}), "gdpr", "rotate-kek")
	require.NotZero(t, code)
	require.Contains(t, errOut, "opens with neither")
	require.True(t, opens(kek(3), t1, m1))
}
