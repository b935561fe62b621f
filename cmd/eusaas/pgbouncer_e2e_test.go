package main

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/internal/pgtest"
)

// TestEndToEndPgBouncer runs the whole Postgres walk-through (tenants, auth, usage, costs,
// invoices, GDPR export and erasure through the job workers, audit) with the server behind a
// PgBouncer in transaction pooling mode, configured as docs/operations.md says: pgx's
// cache_describe query mode (unnamed statements only, nothing prepared survives the
// transaction) and job workers that poll instead of LISTEN. With pgx's default
// (cache_statement) the same walk fails at its first logins. Migrations run direct, as the
// operator guide recommends.
func TestEndToEndPgBouncer(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL and pgbouncer")
	}
	through, err := url.Parse(pgtest.StartPgBouncer(t, pgtest.BaseURL(t)))
	require.NoError(t, err)
	endToEndPostgres(t, map[string]string{
		"APP_POSTGRES_PORT":       through.Port(),
		"APP_POSTGRES_QUERY_MODE": "cache_describe",
		"APP_JOBS_POLL_ONLY":      "true",
		"APP_POSTGRES_MAX_CONNS":  "8",
	})
}
