package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/internal/pgtest"
	"github.com/eusaas/eusaas/tenancy"
)

// tenancyEnv points APP_POSTGRES_* at a fresh test database.
func tenancyEnv(t *testing.T) (func(string) string, string) {
	u, err := url.Parse(pgtest.URL(t))
	require.NoError(t, err)
	vars := map[string]string{
		"APP_POSTGRES_HOST": u.Hostname(), "APP_POSTGRES_PORT": u.Port(),
		"APP_POSTGRES_USER": u.User.Username(), "APP_POSTGRES_DB": u.Path[1:],
	}
	return env(vars), u.String()
}

func TestTenancyMigrateCommands(t *testing.T) {
	ctx := context.Background()
	getenv, dsn := tenancyEnv(t)
	var out, errOut bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errOut, Getenv: getenv}
	require.Equal(t, 0, m.Run(ctx, []string{"migrate"}), errOut.String())
	// The first run says what it applied, never "up to date" (issue 19); the second does.
	require.Contains(t, out.String(), "platform schema eusaas: applied ")
	require.Contains(t, out.String(), "00001_platform.sql")
	require.NotContains(t, out.String(), "up to date")
	out.Reset()
	require.Equal(t, 0, m.Run(ctx, []string{"migrate"}), errOut.String())
	require.Contains(t, out.String(), "platform schema eusaas is up to date")

	db, err := postgres.Open(ctx, dsn)
	require.NoError(t, err)
	defer db.Close()
	for range 3 {
		require.NoError(t, db.CreateTenantSchema(ctx, eusaas.NewTenantID()))
	}
	out.Reset()
	require.Equal(t, 0, m.Run(ctx, []string{"migrate", "tenants", "--concurrency", "2"}), errOut.String())
	require.Contains(t, out.String(), "every tenant schema is up to date")

	// With a new migration each schema gets a progress line.
	migs, err := postgres.TenantMigrations()
	require.NoError(t, err)
	migs = append(migs, postgres.TenantMigration{Version: 9999, Name: "extra", SQL: "CREATE TABLE extra (id int)"})
	schemas, err := postgres.NewTenantSchemas(db, migs)
	require.NoError(t, err)
	out.Reset()
	res, err := TenancyMigrateTenants(ctx, schemas, 2, &out)
	require.NoError(t, err)
	require.Equal(t, 3, res.Migrated)
	require.Contains(t, out.String(), "[3/3] t_")
	require.Contains(t, out.String(), "applied [9999]")
	require.Contains(t, out.String(), "3 schemas migrated, 0 failed")

	// A failure classed NotFound (a missing relation) is recorded as 'failed' too.
	bad, err := postgres.NewTenantSchemas(db, append(migs, postgres.TenantMigration{Version: 10000, Name: "bad", SQL: "ALTER TABLE nope ADD COLUMN x int"}))
	require.NoError(t, err)
	out.Reset()
	res, err = TenancyMigrateTenants(ctx, bad, 2, &out)
	require.NoError(t, err)
	require.Len(t, res.Failed, 3)
	require.Contains(t, out.String(), "FAILED")
	for _, f := range res.Failed {
		st, err := bad.State(ctx, f.TenantID)
		require.NoError(t, err)
		require.Equal(t, "failed", st.State)
	}

	require.Equal(t, 2, m.Run(ctx, []string{"migrate", "tenants", "--concurrency", "0"}))
	require.Equal(t, 2, m.Run(ctx, []string{"migrate", "bogus"}))
}

func TestTenancyMigrateNeedsPostgres(t *testing.T) {
	var errOut bytes.Buffer
	m := &Main{Stdout: io.Discard, Stderr: &errOut, Getenv: env(nil)}
	require.Equal(t, 2, m.Run(context.Background(), []string{"migrate"}))
	require.Contains(t, errOut.String(), "APP_POSTGRES_")
}

func TestTenancyWiringMemory(t *testing.T) {
	ctx := context.Background()
	a := newTestApp(t, nil)
	svc := a.platform.Tenancy
	res := a.createActive(t, tenancy.CreateInput{Name: "Acme", Slug: "acme", AdminEmail: "owner@acme.example"})
	st, err := svc.TenantStatus(ctx, res.Tenant.ID)
	require.NoError(t, err)
	require.Equal(t, "ACTIVE", st)

	rec := httptest.NewRecorder()
	a.server.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/tenants", nil))
	require.Equal(t, http.StatusUnauthorized, rec.Code, "the route exists and is protected")
}
