package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/internal/miniotest"
	"github.com/eusaas/eusaas/internal/pgtest"
	"github.com/eusaas/eusaas/platform"
)

// The checkpoint copies in an object-locked bucket survive an attacker who owns the
// database: deleting them is refused, and `audit verify` (reading APP_STORAGE_URL) reports
// the truncation that the database alone no longer shows.
func TestAuditVerifyStorageCopies(t *testing.T) {
	ctx := context.Background()
	srv := miniotest.Start(t)
	bucket := srv.Bucket(t, true)
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
		"APP_POSTGRES_DB":       strings.TrimPrefix(u.Path, "/"),
		"APP_AUDIT_SIGNING_KEY": base64.StdEncoding.EncodeToString(seed), "APP_STORAGE_LOCK_MODE": "COMPLIANCE", "APP_STORAGE_LOCK_DAYS": "1",
	}
	for _, kv := range srv.Env(bucket) {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	cfg, err := LoadConfig(env(vars))
	require.NoError(t, err)
	b, err := openStorage(ctx, cfg.Storage, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.True(t, b.Features().Retention)
	copies := &platform.CheckpointStore{Bucket: b, Retain: 24 * time.Hour, Mode: cfg.Storage.LockMode}

	store := postgres.NewAuditStore(db)
	svc, err := audit.NewService(audit.Deps{Store: store, Keys: store, Sink: copies, Tx: db}, audit.Options{Signer: cfg.Audit.Signer, CheckpointEvery: 5})
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
	backup := snapshotAuditHead(t, db, tenant)
	record(9)
	svc.Close()
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		m := &Main{Stdout: &out, Stderr: &errb, Getenv: env(vars)}
		code := m.Run(ctx, append([]string{"audit"}, args...))
		return code, out.String() + errb.String()
	}
	code, out := run("verify")
	require.Equal(t, 0, code, out)

	// The attack: truncate the chain, its checkpoints and head in the database, and try to
	// remove the bucket's copies.
	rollBackAuditChain(t, db, tenant, backup)
	objs, err := b.List(ctx, "audit/checkpoints/"+tenant.String()+"/")
	require.NoError(t, err)
	require.NotEmpty(t, objs)
	for _, o := range objs {
		require.Equal(t, eusaas.FailedPrecondition, eusaas.KindOf(b.Delete(ctx, o.Key)), "a locked copy cannot be deleted: %s", o.Key)
	}

	code, out = run("verify")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "FAIL tenant "+tenant.String()+": seq 7: truncated")
}
