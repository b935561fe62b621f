package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/file"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/adapters/witness"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/internal/pgtest"
)

// TestAppAuditMemory: the app records through the audit service, memory mode generates a
// checkpoint key, and Close checkpoints what is unsigned before refusing new records.
func TestAppAuditMemory(t *testing.T) {
	ctx := context.Background()
	a := newTestApp(t, map[string]string{"APP_AUDIT_CHECKPOINT_EVERY": "2", "APP_AUDIT_CHECKPOINT_SECONDS": "3600"})
	svc := a.platform.Audit
	var rec eusaas.Recorder = svc
	tenant := eusaas.NewTenantID()
	for range 3 {
		require.NoError(t, rec.Record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: "SCHEMA_MIGRATED"}))
	}
	r, err := svc.Verify(ctx, tenant)
	require.NoError(t, err)
	require.True(t, r.OK)
	require.NotNil(t, svc.PublicKey(), "memory mode generates a signing key")
	a.Close()
	cp, ok, err := svc.LatestCheckpoint(ctx, tenant)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(3), cp.Size, "Close checkpoints what is unsigned")
	require.Error(t, rec.Record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: "X"}), "closed")
}

func TestLoadAuditConfig(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	c, err := LoadAuditConfig(env(map[string]string{"APP_AUDIT_SIGNING_KEY": base64.StdEncoding.EncodeToString(seed),
		"APP_AUDIT_CHECKPOINT_EVERY": "50", "APP_AUDIT_CHECKPOINT_SECONDS": "5"}))
	require.NoError(t, err)
	require.Equal(t, ed25519.NewKeyFromSeed(seed), c.Signer)
	require.Equal(t, int64(50), c.CheckpointEvery)
	old := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
	c, err = LoadAuditConfig(env(map[string]string{"APP_AUDIT_PREVIOUS_PUBLIC_KEYS": base64.StdEncoding.EncodeToString(old)}))
	require.NoError(t, err)
	require.Equal(t, []ed25519.PublicKey{old}, c.PreviousKeys)
	for name, vars := range map[string]map[string]string{
		"APP_AUDIT_SIGNING_KEY":          {"APP_AUDIT_SIGNING_KEY": "c2VjcmV0LW5vdC1hLWtleQ=="},
		"APP_AUDIT_CHECKPOINT_EVERY":     {"APP_AUDIT_CHECKPOINT_EVERY": "0"},
		"APP_AUDIT_CHECKPOINT_SECONDS":   {"APP_AUDIT_CHECKPOINT_SECONDS": "x"},
		"APP_AUDIT_PREVIOUS_PUBLIC_KEYS": {"APP_AUDIT_PREVIOUS_PUBLIC_KEYS": "AAAA,"},
	} {
		_, err := LoadAuditConfig(env(vars))
		require.ErrorContains(t, err, name)
		require.NotContains(t, err.Error(), "c2VjcmV0", "key material never in errors")
	}
}

// The command verifies every chain of a Postgres database, and exits 1 naming the chain, seq
// and kind once a row was edited behind the application's back.
func TestAuditVerifyCommand(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	db, err := postgres.Open(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	require.NoError(t, db.MigratePlatform(ctx))

	seed := bytes.Repeat([]byte{9}, ed25519.SeedSize)
	dir := t.TempDir()
	vars := map[string]string{
		"APP_POSTGRES_HOST": u.Hostname(), "APP_POSTGRES_PORT": u.Port(), "APP_POSTGRES_USER": u.User.Username(),
		"APP_POSTGRES_DB":       strings.TrimPrefix(u.Path, "/"),
		"APP_AUDIT_SIGNING_KEY": base64.StdEncoding.EncodeToString(seed), "APP_AUDIT_CHECKPOINT_DIR": dir,
	}
	acfg, err := LoadAuditConfig(env(vars))
	require.NoError(t, err)
	sink, err := file.NewCheckpointSink(dir)
	require.NoError(t, err)
	require.NoError(t, sink.WritePublicKey(acfg.Signer.Public().(ed25519.PublicKey)))
	store := postgres.NewAuditStore(db)
	svc, err := audit.NewService(audit.Deps{Store: store, Keys: store, Sink: sink, Tx: db}, audit.Options{Signer: acfg.Signer})
	require.NoError(t, err)
	tenant, other := eusaas.NewTenantID(), eusaas.NewTenantID()
	for _, tn := range []eusaas.TenantID{tenant, tenant, tenant, other, audit.PlatformChain} {
		require.NoError(t, svc.Record(ctx, eusaas.AuditEvent{TenantID: tn, Actor: eusaas.System, Action: audit.ActionRetentionExecuted,
			Meta: eusaas.RequestMeta{IP: "192.0.2.1"}}))
	}
	_, err = svc.Flush(ctx)
	require.NoError(t, err)
	svc.Close()
	_, err = os.Stat(filepath.Join(dir, file.PublicKeyFile))
	require.NoError(t, err, "public key published")

	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		m := &Main{Stdout: &out, Stderr: &errb, Getenv: env(vars)}
		code := m.Run(ctx, append([]string{"audit"}, args...))
		return code, out.String() + errb.String()
	}
	code, out := run("verify")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "ok   platform: 1 entries")
	require.Contains(t, out, "ok   tenant "+tenant.String()+": 3 entries")
	require.Contains(t, out, "3 chains verified, 0 with findings")

	_, err = db.Pool.Exec(ctx, `UPDATE eusaas.audit_entries SET action = 'READ' WHERE chain = $1 AND seq = 2`, tenant.UUID())
	require.Error(t, err, "the trigger refuses")
	tx, err := db.Pool.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "SET LOCAL session_replication_role = replica")
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `UPDATE eusaas.audit_entries SET action = 'READ' WHERE chain = $1 AND seq = 2`, tenant.UUID())
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))

	code, out = run("verify")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "FAIL tenant "+tenant.String()+": seq 2: modified")
	require.Contains(t, out, "3 chains verified, 1 with findings")
	code, out = run("verify", "--tenant", other.String())
	require.Equal(t, 0, code, out)
	code, out = run("verify", "--tenant", "nope")
	require.Equal(t, 2, code, out)

	// Without Postgres there is nothing to verify: a usage error, not a silent success.
	var errb bytes.Buffer
	m := &Main{Stdout: io.Discard, Stderr: &errb, Getenv: env(nil)}
	require.Equal(t, 2, m.Run(ctx, []string{"audit", "verify"}))
	code, out = run("keygen")
	require.Equal(t, 0, code)
	require.Contains(t, out, "APP_AUDIT_SIGNING_KEY=")
}

// The witness test of issue 15: checkpoints are published to a local directory, a witness
// directory and a witness service. An attacker with the database deletes the last entries
// and the checkpoints covering them, restores the head row from an old backup (so head,
// tree and writer signature agree with the shortened chain) and deletes the local checkpoint
// files. Plain verification can no longer tell; `audit verify --witness` can.
func TestAuditVerifyWitness(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	db, err := postgres.Open(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	require.NoError(t, db.MigratePlatform(ctx))

	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	local, witnessDir, serviceDir := t.TempDir(), t.TempDir(), t.TempDir()
	vars := map[string]string{
		"APP_POSTGRES_HOST": u.Hostname(), "APP_POSTGRES_PORT": u.Port(), "APP_POSTGRES_USER": u.User.Username(),
		"APP_POSTGRES_DB":       strings.TrimPrefix(u.Path, "/"),
		"APP_AUDIT_SIGNING_KEY": base64.StdEncoding.EncodeToString(seed), "APP_AUDIT_CHECKPOINT_DIR": local,
	}
	acfg, err := LoadAuditConfig(env(vars))
	require.NoError(t, err)
	pub := acfg.Signer.Public().(ed25519.PublicKey)
	localSink, err := file.NewCheckpointSink(local)
	require.NoError(t, err)
	witnessSink, err := file.NewCheckpointSink(witnessDir)
	require.NoError(t, err)
	serviceStore, err := file.NewCheckpointSink(serviceDir)
	require.NoError(t, err)
	srv := httptest.NewServer(&witness.Handler{Store: serviceStore, LogKey: pub})
	t.Cleanup(srv.Close)
	client, err := witness.NewClient(srv.URL)
	require.NoError(t, err)

	store := postgres.NewAuditStore(db)
	svc, err := audit.NewService(audit.Deps{Store: store, Keys: store, Sink: audit.Sinks{localSink, witnessSink, client}, Tx: db},
		audit.Options{Signer: acfg.Signer, CheckpointEvery: 5})
	require.NoError(t, err)
	tenant := eusaas.NewTenantID()
	record := func(n int) {
		for range n {
			require.NoError(t, svc.Record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: audit.ActionCreate}))
		}
		_, err := svc.Flush(ctx)
		require.NoError(t, err)
	}
	record(6)
	// The attacker's backup of the head row at size 6.
	backup := snapshotAuditHead(t, db, tenant)
	record(9) // 15 entries, checkpoints at 1, 6, 11 and 15 published everywhere
	got, ok, err := client.Latest(ctx, tenant)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(15), got.Size, "the witness service holds the latest checkpoint")
	require.NotEmpty(t, got.Note)
	svc.Close()

	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		m := &Main{Stdout: &out, Stderr: &errb, Getenv: env(vars)}
		code := m.Run(ctx, append([]string{"audit"}, args...))
		return code, out.String() + errb.String()
	}
	code, out := run("verify", "--witness", witnessDir, "--witness", srv.URL)
	require.Equal(t, 0, code, out)

	// The attack.
	rollBackAuditChain(t, db, tenant, backup)
	entries, err := os.ReadDir(local)
	require.NoError(t, err)
	for _, e := range entries {
		require.NoError(t, os.Remove(filepath.Join(local, e.Name())))
	}

	code, out = run("verify", "--public-key", writePub(t, pub))
	require.Equal(t, 0, code, "without a witness the truncation is invisible: %s", out)
	require.Contains(t, out, "6 entries")

	for _, w := range []string{witnessDir, srv.URL} {
		code, out = run("verify", "--witness", w)
		require.Equal(t, 1, code, "%s: %s", w, out)
		require.Contains(t, out, "FAIL tenant "+tenant.String()+": seq 7: truncated", w)
	}
	code, out = run("verify", "--witness", filepath.Join(witnessDir, "missing"))
	require.Equal(t, 2, code, out)

	// The witness service refuses to go back.
	old, err := store.Checkpoints(ctx, tenant)
	require.NoError(t, err)
	require.Error(t, client.Write(ctx, old[len(old)-1]), "a rolled-back checkpoint is refused")
}

func writePub(t *testing.T, pub ed25519.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "key.pem")
	require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600))
	return p
}

// An auditor gets a segment with proofs and checks it offline with the note key alone.
func TestAuditExportCommand(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	db, err := postgres.Open(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	require.NoError(t, db.MigratePlatform(ctx))
	seed := bytes.Repeat([]byte{5}, ed25519.SeedSize)
	vars := map[string]string{
		"APP_POSTGRES_HOST": u.Hostname(), "APP_POSTGRES_PORT": u.Port(), "APP_POSTGRES_USER": u.User.Username(),
		"APP_POSTGRES_DB": strings.TrimPrefix(u.Path, "/"), "APP_AUDIT_SIGNING_KEY": base64.StdEncoding.EncodeToString(seed),
	}
	acfg, err := LoadAuditConfig(env(vars))
	require.NoError(t, err)
	store := postgres.NewAuditStore(db)
	svc, err := audit.NewService(audit.Deps{Store: store, Keys: store}, audit.Options{Signer: acfg.Signer})
	require.NoError(t, err)
	tenant := eusaas.NewTenantID()
	for range 10 {
		require.NoError(t, svc.Record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: audit.ActionCreate}))
	}
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		m := &Main{Stdout: &out, Stderr: &errb, Getenv: env(vars)}
		code := m.Run(ctx, append([]string{"audit"}, args...))
		return code, out.String() + errb.String()
	}
	path := filepath.Join(t.TempDir(), "segment.json")
	code, out := run("export", "--tenant", tenant.String(), "--from", "2", "--to", "8", "--out", path)
	require.Equal(t, 0, code, out)
	code, out = run("verify-export", path, "--key", svc.NoteVerifierKey())
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "entries 2..8 included in the signed tree of size 10")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, bytes.Replace(b, []byte(`"CREATE"`), []byte(`"DELETE"`), 1), 0o644))
	code, out = run("verify-export", path, "--key", svc.NoteVerifierKey())
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "FAIL")
	code, out = run("export", "--tenant", tenant.String(), "--from", "2", "--to", "99")
	require.Equal(t, 2, code, out)
}
