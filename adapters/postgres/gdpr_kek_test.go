package postgres_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/internal/pgtest"
)

// TestGDPRKEKRotation: keys sealed with the old KEK, and keys stored unsealed by a server
// that ran without one, open during the switch (old key as previous) and are re-sealed by
// Reseal; afterwards the new KEK alone opens them, the old one alone does not, the table
// holds no plaintext material, and a second Reseal re-seals nothing.
func TestGDPRKEKRotation(t *testing.T) {
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(t))
	require.NoError(t, db.MigratePlatform(ctx))
	oldKEK, newKEK := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

	unsealed, err := postgres.NewGDPRStore(db, nil)
	require.NoError(t, err)
	old, err := postgres.NewGDPRStore(db, oldKEK)
	require.NoError(t, err)
	material := map[eusaas.TenantID][]byte{}
	var plainTenant eusaas.TenantID
	for i, s := range []*postgres.GDPRStore{old, old, unsealed} {
		tn := eusaas.NewTenantID()
		material[tn] = bytes.Repeat([]byte{byte(10 + i)}, 32)
		require.NoError(t, s.CreateKey(ctx, gdpr.Key{TenantID: tn, Material: material[tn], CreatedAt: at, DestroyAfter: at.AddDate(0, 0, 30)}))
		if s == unsealed {
			plainTenant = tn
		}
	}
	destroyed := eusaas.NewTenantID()
	require.NoError(t, old.CreateKey(ctx, gdpr.Key{TenantID: destroyed, Material: make([]byte, 32), CreatedAt: at, DestroyAfter: at}))
	require.NoError(t, old.DestroyKey(ctx, destroyed, at))

	switching, err := postgres.NewGDPRStore(db, newKEK, oldKEK)
	require.NoError(t, err)
	for tn, m := range material {
		k, err := switching.Key(ctx, tn)
		if tn == plainTenant {
			// An unsealed key does not open while a KEK is set: Reseal seals it first.
			require.Error(t, err)
			continue
		}
		require.NoError(t, err, "a key sealed with the previous KEK opens during the switch")
		require.Equal(t, m, k.Material)
	}
	n, err := switching.Reseal(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	n, err = switching.Reseal(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "a second run re-seals nothing")

	current, err := postgres.NewGDPRStore(db, newKEK)
	require.NoError(t, err)
	for tn, m := range material {
		k, err := current.Key(ctx, tn)
		require.NoError(t, err)
		require.Equal(t, m, k.Material)
		_, err = old.Key(ctx, tn)
		require.Error(t, err, "the retired KEK alone no longer opens the key")
	}
	rows, err := db.Pool.Query(ctx, `SELECT material FROM eusaas.gdpr_backup_keys WHERE material IS NOT NULL`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var b []byte
		require.NoError(t, rows.Scan(&b))
		require.Len(t, b, 60, "nonce, sealed key and tag: never the bare 32 bytes")
		for _, m := range material {
			require.False(t, bytes.Contains(b, m))
		}
	}
	require.NoError(t, rows.Err())

	// A key sealed with a KEK nobody knows fails the run, which changes nothing.
	stranger, err := postgres.NewGDPRStore(db, bytes.Repeat([]byte{3}, 32))
	require.NoError(t, err)
	require.NoError(t, stranger.CreateKey(ctx, gdpr.Key{TenantID: eusaas.NewTenantID(), Material: make([]byte, 32), CreatedAt: at, DestroyAfter: at}))
	_, err = current.Reseal(ctx)
	require.Equal(t, eusaas.FailedPrecondition, eusaas.KindOf(err))
	require.ErrorContains(t, err, "opens with neither")
}

func TestGDPRKEKSizes(t *testing.T) {
	db := postgres.New(pgtest.Pool(t))
	for _, n := range []int{16, 24, 31, 33} {
		_, err := postgres.NewGDPRStore(db, make([]byte, n))
		require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err), "%d bytes", n)
		_, err = postgres.NewGDPRStore(db, make([]byte, 32), make([]byte, n))
		require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err), "previous of %d bytes", n)
	}
	_, err := postgres.NewGDPRStore(db, nil, make([]byte, 32))
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	_, err = postgres.NewGDPRStore(db, nil)
	require.NoError(t, err, "the adapter alone may store keys unsealed; the server refuses to")
}
