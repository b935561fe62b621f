package authtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

// DenylistHarness makes a fresh denylist (on the real clock) per subtest.
type DenylistHarness struct {
	New func(t *testing.T) auth.Denylist
}

// RunDenylist runs the denylist suite.
func RunDenylist(t *testing.T, h DenylistHarness) {
	ctx := context.Background()
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
	t.Run("DenyAndCheck", func(t *testing.T) {
		d := h.New(t)
		until := time.Now().Add(time.Hour)
		require.NoError(t, d.Deny(ctx, a, "iss", "jti-1", until))
		require.NoError(t, d.Deny(ctx, a, "iss", "jti-1", until), "twice is fine")
		for _, c := range []struct {
			t        eusaas.TenantID
			iss, jti string
			want     bool
		}{{a, "iss", "jti-1", true}, {a, "iss", "jti-2", false}, {a, "other", "jti-1", false}} {
			got, err := d.Denied(ctx, c.t, c.iss, c.jti)
			require.NoError(t, err)
			require.Equal(t, c.want, got, "%s %s", c.iss, c.jti)
		}
	})
	t.Run("TenantIsolation", func(t *testing.T) {
		d := h.New(t)
		require.NoError(t, d.Deny(ctx, a, "iss", "j", time.Now().Add(time.Hour)))
		got, err := d.Denied(ctx, b, "iss", "j")
		require.NoError(t, err)
		require.False(t, got)
		require.NoError(t, d.Deny(ctx, eusaas.NilTenant, "iss", "op", time.Now().Add(time.Hour)))
		got, err = d.Denied(ctx, eusaas.NilTenant, "iss", "op")
		require.NoError(t, err)
		require.True(t, got, "operator tokens (zero tenant) are denylisted too")
	})
	t.Run("Expiry", func(t *testing.T) {
		d := h.New(t)
		require.NoError(t, d.Deny(ctx, a, "iss", "short", time.Now().Add(300*time.Millisecond)))
		require.NoError(t, d.Deny(ctx, a, "iss", "past", time.Now().Add(-time.Second)))
		got, err := d.Denied(ctx, a, "iss", "past")
		require.NoError(t, err)
		require.False(t, got, "an entry already past its time is not kept")
		got, err = d.Denied(ctx, a, "iss", "short")
		require.NoError(t, err)
		require.True(t, got)
		time.Sleep(600 * time.Millisecond)
		got, err = d.Denied(ctx, a, "iss", "short")
		require.NoError(t, err)
		require.False(t, got)
	})
	t.Run("Concurrent", func(t *testing.T) {
		d := h.New(t)
		var wg sync.WaitGroup
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				jti := uuid.NewString()
				if err := d.Deny(ctx, a, "iss", jti, time.Now().Add(time.Hour)); err != nil {
					t.Error(err)
					return
				}
				got, err := d.Denied(ctx, a, "iss", jti)
				if err != nil || !got {
					t.Errorf("denied=%v err=%v", got, err)
				}
			}()
		}
		wg.Wait()
	})
	t.Run("ContextCanceled", func(t *testing.T) {
		d := h.New(t)
		require.Error(t, d.Deny(canceled(), a, "iss", "j", time.Now().Add(time.Hour)))
		_, err := d.Denied(canceled(), a, "iss", "j")
		require.Error(t, err)
	})
}
