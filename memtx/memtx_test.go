package memtx_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/memtx"
)

func TestTxRunnerRollsBackInReverse(t *testing.T) {
	r := memtx.NewTxRunner()
	var got []int
	boom := errors.New("boom")
	err := r.InTx(context.Background(), func(ctx context.Context) error {
		memtx.OnRollback(ctx, func() { got = append(got, 1) })
		return r.InTx(ctx, func(ctx context.Context) error { // nested joins
			memtx.OnRollback(ctx, func() { got = append(got, 2) })
			return boom
		})
	})
	require.ErrorIs(t, err, boom)
	require.Equal(t, []int{2, 1}, got)

	got = nil
	require.NoError(t, r.InTx(context.Background(), func(ctx context.Context) error {
		memtx.OnRollback(ctx, func() { got = append(got, 1) })
		return nil
	}))
	require.Empty(t, got, "a committed transaction runs no undo")
}

func TestTxRunnerCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := memtx.NewTxRunner().InTx(ctx, func(context.Context) error { return nil })
	require.ErrorIs(t, err, context.Canceled)
}
