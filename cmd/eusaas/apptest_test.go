package main

import (
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
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
