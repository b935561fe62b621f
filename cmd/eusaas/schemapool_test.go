package main

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// The whole walk-through (tenants, users, usage, invoices, GDPR export and erasure) on
// tenant schemas taken from the pool of spares: the server fills the pool before the first
// tenant, the tenants' provisioning jobs rename spares, and the filler tops the pool up again.
func TestEndToEndPostgresSchemaPool(t *testing.T) {
	conn := endToEndPostgres(t, map[string]string{"APP_TENANT_SCHEMA_POOL": "3"})
	waitSchemaPool(t, conn, 3)
}

// waitSchemaPool waits until the pool holds want spares (the filler runs every 10 s).
func waitSchemaPool(t *testing.T, conn *pgx.Conn, n int) {
	t.Helper()
	deadline := time.Now().Add(3 * schemaPoolCheckEvery)
	for {
		var have int
		require.NoError(t, conn.QueryRow(context.Background(), "SELECT count(*) FROM eusaas.tenant_schema_pool").Scan(&have))
		if have == n {
			return
		}
		require.True(t, time.Now().Before(deadline), "the schema pool holds %d spares, want %d", have, n)
		time.Sleep(50 * time.Millisecond)
	}
}
