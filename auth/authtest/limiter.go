package authtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

// LimiterHarness makes a fresh limiter per subtest.
type LimiterHarness struct {
	New func(t *testing.T) auth.Limiter
}

// RunLimiter runs the brute-force counter suite.
func RunLimiter(t *testing.T, h LimiterHarness) {
	ctx := context.Background()
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
	t.Run("Count", func(t *testing.T) {
		l := h.New(t)
		now := time.Now()
		fc, err := l.Failures(ctx, a, "k", now)
		require.NoError(t, err)
		require.Equal(t, 0, fc.Failures)
		for i := 1; i <= 3; i++ {
			at := now.Add(time.Duration(i) * time.Millisecond)
			fc, err = l.RecordFailure(ctx, a, "k", at, time.Minute)
			require.NoError(t, err)
			require.Equal(t, i, fc.Failures)
			require.WithinDuration(t, at, fc.Last, time.Millisecond)
		}
		fc, err = l.Failures(ctx, a, "k", now.Add(10*time.Millisecond))
		require.NoError(t, err)
		require.Equal(t, 3, fc.Failures)
		require.WithinDuration(t, now.Add(3*time.Millisecond), fc.Last, time.Millisecond)
		require.NoError(t, l.ResetFailures(ctx, a, "k"))
		require.NoError(t, l.ResetFailures(ctx, a, "k"), "resetting twice is fine")
		fc, err = l.Failures(ctx, a, "k", now)
		require.NoError(t, err)
		require.Equal(t, 0, fc.Failures)
	})
	t.Run("TenantIsolation", func(t *testing.T) {
		l := h.New(t)
		now := time.Now()
		_, err := l.RecordFailure(ctx, a, "k", now, time.Minute)
		require.NoError(t, err)
		for _, tn := range []eusaas.TenantID{b, eusaas.NilTenant} {
			fc, err := l.Failures(ctx, tn, "k", now)
			require.NoError(t, err)
			require.Equal(t, 0, fc.Failures)
		}
		fc, err := l.Failures(ctx, a, "other", now)
		require.NoError(t, err)
		require.Equal(t, 0, fc.Failures)
	})
	t.Run("Window", func(t *testing.T) {
		l := h.New(t)
		_, err := l.RecordFailure(ctx, a, "w", time.Now(), 300*time.Millisecond)
		require.NoError(t, err)
		time.Sleep(600 * time.Millisecond)
		now := time.Now()
		fc, err := l.Failures(ctx, a, "w", now)
		require.NoError(t, err)
		require.Equal(t, 0, fc.Failures, "a quiet window forgets the counter")
		fc, err = l.RecordFailure(ctx, a, "w", now, time.Minute)
		require.NoError(t, err)
		require.Equal(t, 1, fc.Failures, "counting restarts")
	})
	t.Run("Concurrent", func(t *testing.T) {
		l := h.New(t)
		var wg sync.WaitGroup
		for i := 0; i < 40; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := l.RecordFailure(ctx, a, "c", time.Now(), time.Minute); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		fc, err := l.Failures(ctx, a, "c", time.Now())
		require.NoError(t, err)
		require.Equal(t, 40, fc.Failures, "increments are atomic")
	})
	t.Run("ContextCanceled", func(t *testing.T) {
		l := h.New(t)
		_, err := l.RecordFailure(canceled(), a, "k", time.Now(), time.Minute)
		require.Error(t, err)
		_, err = l.Failures(canceled(), a, "k", time.Now())
		require.Error(t, err)
	})
}
