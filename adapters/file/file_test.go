package file_test

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/file"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/audit/memaudit"
)

func TestCheckpointSink(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sink, err := file.NewCheckpointSink(dir)
	require.NoError(t, err)
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	store := memaudit.NewStore()
	svc, err := audit.NewService(audit.Deps{Store: store, Keys: store, Sink: sink}, audit.Options{Signer: key, CheckpointEvery: 3, CheckpointInterval: time.Hour})
	require.NoError(t, err)
	tenant := eusaas.NewTenantID()
	for range 7 {
		require.NoError(t, svc.Record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: "X"}))
	}
	got, ok, err := sink.Latest(ctx, tenant)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(7), got.Size)
	require.True(t, audit.VerifyCheckpoint(svc.PublicKey(), got), "round trip keeps the signature valid")
	// Writing the same or an older checkpoint again is a no-op.
	require.NoError(t, sink.Write(ctx, got))
	b, err := os.ReadFile(filepath.Join(dir, "audit-"+tenant.String()+".jsonl"))
	require.NoError(t, err)
	require.Equal(t, 3, countLines(b), "checkpoints at 1, 4, 7")

	// The sink's copy catches a truncation the database no longer shows: a copy of the
	// chain cut back to 5 entries, head moved back, no checkpoints in the database.
	var kept []audit.Entry
	_, err = store.Scan(ctx, tenant, func(e *audit.Entry) error {
		if e.Seq <= 5 {
			kept = append(kept, *e)
		}
		return nil
	})
	require.NoError(t, err)
	cut := memaudit.NewStore()
	cut.Rewrite(tenant, func([]audit.Entry, audit.Head) ([]audit.Entry, audit.Head) {
		return kept, audit.Head{Size: 5, Hash: kept[4].Hash}
	})
	v := audit.Verifier{Store: cut, PublicKey: svc.PublicKey()}
	r, err := v.Verify(ctx, tenant)
	require.NoError(t, err)
	require.True(t, r.OK, "without the sink the cut is invisible")
	v.Source = sink
	r, err = v.Verify(ctx, tenant)
	require.NoError(t, err)
	require.False(t, r.OK)
	require.Equal(t, audit.KindTruncated, r.Finding.Kind)
	require.Equal(t, int64(6), r.Finding.Seq)

	_, ok, err = sink.Latest(ctx, eusaas.NewTenantID())
	require.NoError(t, err)
	require.False(t, ok)

	require.NoError(t, sink.WritePublicKey(svc.PublicKey()))
	pemBytes, err := os.ReadFile(filepath.Join(dir, file.PublicKeyFile))
	require.NoError(t, err)
	blk, _ := pem.Decode(pemBytes)
	require.NotNil(t, blk)
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	require.NoError(t, err)
	require.Equal(t, svc.PublicKey(), pub.(ed25519.PublicKey))
}

func countLines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}
