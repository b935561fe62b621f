package main

import (
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/tenancy"
)

// newTestApp builds the app from the APP_* variables in vars (memory mode unless they name
// Postgres), closed when the test ends; job workers are not started.
func newTestApp(t *testing.T, vars map[string]string) *App {
	t.Helper()
	cfg, err := LoadConfig(env(vars))
	require.NoError(t, err)
	cfg.Notice = io.Discard
	app, err := NewApp(context.Background(), cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(app.Close)
	return app
}

// testSigningKey is a fixed Ed25519 key for GDPR signing in tests.
func testSigningKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
}

// createActive creates a tenant through the Go API of a memory-mode app whose job workers
// are not started, and runs its provisioning job (Create answers PROVISIONING).
func (a *App) createActive(t *testing.T, in tenancy.CreateInput) tenancy.CreateResult {
	t.Helper()
	ctx := context.Background()
	res, err := a.platform.Tenancy.Create(ctx, in)
	require.NoError(t, err)
	require.Equal(t, tenancy.StatusProvisioning, res.Tenant.Status)
	a.stores.runner.WorkAvailable(ctx)
	res.Tenant, err = a.platform.Tenancy.Get(ctx, res.Tenant.ID)
	require.NoError(t, err)
	require.Equal(t, tenancy.StatusActive, res.Tenant.Status)
	return res
}
