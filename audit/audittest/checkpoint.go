package audittest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
)

func testCheckpoints(t *testing.T, h Harness) {
	ctx := context.Background()
	t.Parallel()
	e := newEnv(t, h, audit.Options{CheckpointEvery: 4, CheckpointInterval: time.Hour})
	tenant := eusaas.NewTenantID()
	e.record(t, tenant, 10) // seconds apart: the count triggers, not the interval
	cps, err := e.Store.Checkpoints(ctx, tenant)
	require.NoError(t, err)
	var sizes []int64
	for _, c := range cps {
		sizes = append(sizes, c.Size)
		require.True(t, audit.VerifyCheckpoint(e.svc.PublicKey(), c))
	}
	// The first append checkpoints (no earlier checkpoint), then every 4 entries.
	require.Equal(t, []int64{1, 5, 9}, sizes)
	require.Len(t, e.sink.All(), 3, "every checkpoint went to the sink")
	// The interval checkpoints a quiet chain.
	n, err := e.svc.CheckpointDue(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "interval not passed")
	e.clock.Advance(2 * time.Hour)
	n, err = e.svc.CheckpointDue(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	latest, ok, err := e.svc.LatestCheckpoint(ctx, tenant)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(10), latest.Size)
	r := e.verify(t, tenant)
	requireOK(t, r, 10)
	require.Equal(t, int64(10), r.Checkpoint.Size)
	// A forged checkpoint is reported.
	forged := latest
	forged.Size = 11
	require.NoError(t, e.Store.PutCheckpoint(ctx, forged))
	requireFinding(t, e.verify(t, tenant), audit.KindBadCheckpoint, 11)
}
