package audittest

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
)

// SinkHarness makes a fresh checkpoint sink per subtest of RunSink.
type SinkHarness struct {
	New func(t *testing.T) SinkEnv
}

// SinkEnv is one sink. RunSink needs it to read its checkpoints back
// (audit.CheckpointSource); a write-only sink has nothing the suite can observe.
type SinkEnv struct {
	Sink interface {
		audit.CheckpointSink
		audit.CheckpointSource
	}
	// Reopen, when set, returns a new sink over the same storage (a restart of the
	// process); Durable is skipped without it.
	Reopen func(t *testing.T) audit.CheckpointSource
}

// SignedCheckpoint returns a checkpoint of chain at size, signed with the suite's key, in
// the precision a store keeps (UTC, microseconds).
func SignedCheckpoint(chain eusaas.TenantID, size int64) audit.Checkpoint {
	c := audit.Checkpoint{
		Chain: chain, Size: size,
		Time:  time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(size)*time.Second + 123456*time.Microsecond),
		KeyID: audit.KeyID(testSigner.Public().(ed25519.PublicKey)),
	}
	for i := range c.Head {
		c.Head[i] = byte(size) + byte(i)
	}
	c.Signature = ed25519.Sign(testSigner, audit.CheckpointMessage(c))
	return c
}

func requireLatest(t *testing.T, src audit.CheckpointSource, want audit.Checkpoint) {
	t.Helper()
	got, ok, err := src.Latest(context.Background(), want.Chain)
	require.NoError(t, err)
	require.True(t, ok, "chain %s has a checkpoint", want.Chain)
	require.Equal(t, want.Chain, got.Chain)
	require.Equal(t, want.Size, got.Size)
	require.Equal(t, want.Head, got.Head)
	require.True(t, want.Time.Equal(got.Time), "time %s, want %s", got.Time, want.Time)
	require.Equal(t, want.KeyID, got.KeyID)
	require.Equal(t, want.Signature, got.Signature)
	require.True(t, audit.VerifyCheckpoint(testSigner.Public().(ed25519.PublicKey), got), "read back, it still verifies")
}

func requireNone(t *testing.T, src audit.CheckpointSource, chain eusaas.TenantID) {
	t.Helper()
	_, ok, err := src.Latest(context.Background(), chain)
	require.NoError(t, err)
	require.False(t, ok, "chain %s has no checkpoint", chain)
}

// RunSink runs the conformance suite of audit.CheckpointSink (with CheckpointSource).
func RunSink(t *testing.T, h SinkHarness) {
	ctx := context.Background()

	t.Run("WriteThenLatest", func(t *testing.T) {
		t.Parallel()
		s := h.New(t).Sink
		chain := eusaas.NewTenantID()
		requireNone(t, s, chain)
		c := SignedCheckpoint(chain, 3)
		require.NoError(t, s.Write(ctx, c))
		requireLatest(t, s, c)
		// The platform chain is a chain like any other.
		p := SignedCheckpoint(eusaas.NilTenant, 2)
		require.NoError(t, s.Write(ctx, p))
		requireLatest(t, s, p)
		requireLatest(t, s, c)
	})

	t.Run("LatestPerChain", func(t *testing.T) {
		// TenantIsolation for sinks: each chain sees only its own checkpoints.
		t.Parallel()
		s := h.New(t).Sink
		a, b, c := eusaas.NewTenantID(), eusaas.NewTenantID(), eusaas.NewTenantID()
		ca, cb := SignedCheckpoint(a, 9), SignedCheckpoint(b, 2)
		require.NoError(t, s.Write(ctx, ca))
		require.NoError(t, s.Write(ctx, cb))
		requireLatest(t, s, ca)
		requireLatest(t, s, cb)
		requireNone(t, s, c)
	})

	t.Run("LargestSizeWins", func(t *testing.T) {
		// Latest is the checkpoint of largest size, whatever the order of the writes, and a
		// repeated write of the same (chain, size) changes nothing.
		t.Parallel()
		s := h.New(t).Sink
		chain := eusaas.NewTenantID()
		c2, c5, c7 := SignedCheckpoint(chain, 2), SignedCheckpoint(chain, 5), SignedCheckpoint(chain, 7)
		require.NoError(t, s.Write(ctx, c2))
		require.NoError(t, s.Write(ctx, c5))
		requireLatest(t, s, c5)
		require.NoError(t, s.Write(ctx, c2), "an older checkpoint written late")
		requireLatest(t, s, c5)
		require.NoError(t, s.Write(ctx, c5), "the same checkpoint again")
		requireLatest(t, s, c5)
		require.NoError(t, s.Write(ctx, c7))
		requireLatest(t, s, c7)
	})

	t.Run("Durable", func(t *testing.T) {
		t.Parallel()
		e := h.New(t)
		if e.Reopen == nil {
			t.Skip("the harness has no Reopen")
		}
		a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
		ca1, ca4, cb := SignedCheckpoint(a, 1), SignedCheckpoint(a, 4), SignedCheckpoint(b, 6)
		for _, c := range []audit.Checkpoint{ca1, ca4, cb} {
			require.NoError(t, e.Sink.Write(ctx, c))
		}
		again := e.Reopen(t)
		requireLatest(t, again, ca4)
		requireLatest(t, again, cb)
		requireNone(t, again, eusaas.NewTenantID())
	})

	t.Run("ContextCanceled", func(t *testing.T) {
		t.Parallel()
		s := h.New(t).Sink
		chain := eusaas.NewTenantID()
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		err := s.Write(canceled, SignedCheckpoint(chain, 1))
		require.Error(t, err)
		require.True(t, errors.Is(err, context.Canceled) || eusaas.KindOf(err) == eusaas.Canceled, "%v", err)
		requireNone(t, s, chain)
		c := SignedCheckpoint(chain, 2)
		require.NoError(t, s.Write(ctx, c))
		_, _, err = s.Latest(canceled, chain)
		require.Error(t, err)
		require.True(t, errors.Is(err, context.Canceled) || eusaas.KindOf(err) == eusaas.Canceled, "%v", err)
		requireLatest(t, s, c)
	})

	t.Run("Concurrent", func(t *testing.T) {
		// Writers on different chains (and several on one chain) at once: every chain ends at
		// its largest checkpoint.
		t.Parallel()
		s := h.New(t).Sink
		const chains, sizes = 6, 8
		ids := make([]eusaas.TenantID, chains)
		for i := range ids {
			ids[i] = eusaas.NewTenantID()
		}
		var wg sync.WaitGroup
		errs := make(chan error, chains*sizes)
		for _, id := range ids {
			for size := int64(1); size <= sizes; size++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := s.Write(ctx, SignedCheckpoint(id, size)); err != nil {
						errs <- fmt.Errorf("chain %s size %d: %w", id, size, err)
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		for _, id := range ids {
			requireLatest(t, s, SignedCheckpoint(id, sizes))
		}
	})
}

// Sink is an in-memory checkpoint sink that can read its checkpoints back.
type Sink struct {
	mu  sync.Mutex
	cps []audit.Checkpoint
}

// Write implements audit.CheckpointSink.
func (s *Sink) Write(ctx context.Context, c audit.Checkpoint) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cps = append(s.cps, c)
	return nil
}

// Latest implements audit.CheckpointSource.
func (s *Sink) Latest(ctx context.Context, chain eusaas.TenantID) (audit.Checkpoint, bool, error) {
	if err := ctx.Err(); err != nil {
		return audit.Checkpoint{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out audit.Checkpoint
	found := false
	for _, c := range s.cps {
		if c.Chain == chain && (!found || c.Size > out.Size) {
			out, found = c, true
		}
	}
	return out, found, nil
}

// All returns every checkpoint written.
func (s *Sink) All() []audit.Checkpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]audit.Checkpoint(nil), s.cps...)
}
