package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/internal/pgtest"
	"github.com/eusaas/eusaas/internal/redistest"
	"github.com/eusaas/eusaas/tenancy"
)

// The server on vanilla PostgreSQL with region labels configured (CI has no Citus): tenants
// are provisioned as without them; a region change is for operators only, is stored at once,
// and its tenancy.move_region job records that the region is a label only; the placement
// field is shown to operators only, and only when one is recorded.
func TestCitusRegionsOnVanillaPostgres(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	_, redisPrefix := redistest.Client(t)
	cfg := pgConfigFromURL(t, dbURL)
	cfg["APP_REDIS_URL"] = redistest.URL(t)
	cfg["APP_REDIS_KEY_PREFIX"] = redisPrefix
	cfg["APP_BOOTSTRAP_ADMIN_EMAIL"] = opEmail
	cfg["APP_BOOTSTRAP_ADMIN_PASSWORD"] = opPassword
	cfg["APP_CITUS_REGION_NODES"] = "eu-central-1=10.0.0.5:5432,eu-west-1=10.0.1.5:5432"
	priv, pub := testKeyPEMs(t)
	cfg["APP_JWT_PRIVATE_KEY"], cfg["APP_JWT_PUBLIC_KEY"] = priv, pub
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(k string) string { return cfg[k] }}
	require.Equal(t, 0, m.Run(ctx, []string{"migrate"}), out.String())
	c := startApp(t, cfg)

	op := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(t)["access_token"].(string)
	tenant := c.createTenant(op, map[string]any{
		"name": "Acme GmbH", "slug": "acme", "admin_email": "owner@acme.example",
	})
	tid := tenant["id"].(string)
	require.Equal(t, "ACTIVE", tenant["status"])
	require.Equal(t, "eu-central-1", tenant["data_residency_region"])
	require.NotContains(t, tenant, "placement")
	c.expect(201, c.do("POST", "/api/v1/auth/register", "", map[string]any{
		"email": "owner@acme.example", "password": "Owner-Passw0rd!", "full_name": "Olga Owner",
		"invitation_token": tenant["owner_invitation"].(map[string]any)["token"],
	}, "X-Tenant-ID", "acme"))
	owner := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "owner@acme.example", "password": "Owner-Passw0rd!"},
		"X-Tenant-ID", "acme")).json(t)["access_token"].(string)

	// Where the data is kept is the operator's to decide.
	c.expect(403, c.do("PATCH", "/api/v1/tenants/"+tid, owner, map[string]any{"data_residency_region": "eu-west-1"}))
	c.expect(422, c.do("PATCH", "/api/v1/tenants/"+tid, op, map[string]any{"data_residency_region": "us-east-1"}))
	got := c.expect(200, c.do("PATCH", "/api/v1/tenants/"+tid, op, map[string]any{"data_residency_region": "eu-west-1"})).json(t)
	require.Equal(t, "eu-west-1", got["data_residency_region"])

	// The move job runs on the in-process River workers and records the label-only outcome.
	var entries []any
	require.Eventually(t, func() bool {
		r := c.expect(200, c.do("GET", "/api/v1/tenants/"+tid+"/audit-log?action=TENANT_REGION_LABEL_ONLY", op, nil))
		entries = r.json(t)["items"].([]any)
		return len(entries) == 1
	}, 20*time.Second, 100*time.Millisecond)
	changes := entries[0].(map[string]any)["changes"].(map[string]any)
	require.Equal(t, "eu-west-1", changes["data_residency_region"])
	require.Contains(t, changes["reason"], "citus extension is not installed")

	// A recorded placement (only Citus writes one; here it is written by hand) is shown to
	// operators and never to the tenant's own users.
	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "INSERT INTO eusaas.tenant_placements (tenant_id, node, region, placed_at) VALUES ($1, '10.0.1.5:5432', 'eu-west-1', '2026-12-01T10:00:00Z')", tid)
	require.NoError(t, err)
	pl := c.expect(200, c.do("GET", "/api/v1/tenants/"+tid, op, nil)).json(t)["placement"]
	require.Equal(t, map[string]any{"node": "10.0.1.5:5432", "region": "eu-west-1", "placed_at": "2026-12-01T10:00:00Z"}, pl)
	require.NotContains(t, c.expect(200, c.do("GET", "/api/v1/tenants/"+tid, owner, nil)).json(t), "placement")

	// The API description says what the region is without Citus.
	doc := string(c.expect(200, c.do("GET", "/openapi.json", "", nil)).body)
	require.Contains(t, doc, "Without Citus it is a label only")
	require.Contains(t, doc, "Without Citus the region is a label only")
}

// placedText is the PLACED column of `eusaas citus status`.
func TestCitusStatusPlacedColumn(t *testing.T) {
	node := postgres.CitusNode{Host: "10.0.0.5", Port: 5432}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	require.Equal(t, "-", placedText(postgres.CitusTenantPlacement{Distributed: true, Node: node}))
	require.Equal(t, "2026-12-01T10:00:00Z", placedText(postgres.CitusTenantPlacement{Distributed: true, Node: node,
		Recorded: tenancy.Placement{Node: "10.0.0.5:5432", Region: "eu-central-1", PlacedAt: at}}))
	require.Equal(t, "2026-12-01T10:00:00Z (recorded on 10.0.1.5:5432, not where it is)", placedText(postgres.CitusTenantPlacement{Distributed: true, Node: node,
		Recorded: tenancy.Placement{Node: "10.0.1.5:5432", Region: "eu-west-1", PlacedAt: at}}))
}
