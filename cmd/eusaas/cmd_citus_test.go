package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
)

// On vanilla PostgreSQL (CI has no Citus): status says "Citus not installed" and succeeds;
// distribute says so and fails without touching anything.
func TestCitusCommandsWithoutCitus(t *testing.T) {
	ctx := context.Background()
	getenv, dsn := tenancyEnv(t)
	var out, errOut bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errOut, Getenv: getenv}
	require.Equal(t, 0, m.Run(ctx, []string{"migrate"}), errOut.String())

	out.Reset()
	require.Equal(t, 0, m.Run(ctx, []string{"citus", "status"}), errOut.String())
	require.Contains(t, out.String(), "Citus not installed")

	db, err := postgres.Open(ctx, dsn)
	require.NoError(t, err)
	defer db.Close()
	tenant := eusaas.NewTenantID()
	require.NoError(t, db.CreateTenantSchema(ctx, tenant))
	var w bytes.Buffer
	nodes, err := postgres.ParseRegionNodes("eu-central-1=10.0.0.5:5432")
	require.NoError(t, err)
	require.NoError(t, runCitusStatus(ctx, &w, db, nodes))
	require.Equal(t, "Citus not installed: the citus extension is not in this database; tenant schemas are local (data_residency_region is a label only)\n", w.String())

	w.Reset()
	require.ErrorContains(t, runCitusDistribute(ctx, &w, db, nodes, eusaas.Discard, "acme"), "neither a tenant id nor a tenant schema name")
	err = runCitusDistribute(ctx, &w, db, nodes, eusaas.Discard, tenant.String())
	require.ErrorIs(t, err, postgres.ErrCitusNotInstalled)
	require.Contains(t, w.String(), "Citus not installed")
	for _, args := range [][]string{{"citus", "distribute", "--all"}, {"citus", "distribute", tenant.SchemaName()}} {
		out.Reset()
		errOut.Reset()
		require.Equal(t, 1, m.Run(ctx, args), args)
		require.Contains(t, out.String(), "Citus not installed")
		require.Contains(t, errOut.String(), "Citus not installed")
	}
	// The schema is untouched: still there, still tracked.
	st, err := postgres.EmbeddedTenantSchemas(db)
	require.NoError(t, err)
	state, err := st.State(ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, "ready", state.State)
}

func TestCitusCommandUsage(t *testing.T) {
	ctx := context.Background()
	getenv, _ := tenancyEnv(t)
	for _, tc := range []struct {
		args []string
		env  map[string]string
		code int
	}{
		// Wrong invocations are usage errors (exit 2); a tenant that does not exist is a
		// failure of the command (exit 1).
		{args: []string{"citus"}, code: 2},
		{args: []string{"citus", "bogus"}, code: 2},
		{args: []string{"citus", "status", "extra"}, code: 2},
		{args: []string{"citus", "status", "--all"}, code: 2},
		{args: []string{"citus", "distribute"}, code: 2},
		{args: []string{"citus", "distribute", "--all", "t_1"}, code: 2},
		{args: []string{"citus", "distribute", "a", "b"}, code: 2},
		{args: []string{"citus", "distribute", "not-a-tenant"}, code: 1},
		{args: []string{"citus", "--help"}, code: 0},
		{args: []string{"help", "citus", "distribute"}, code: 0},
		{args: []string{"citus", "status"}, env: map[string]string{"APP_CITUS_REGION_NODES": "eu-central-1=nohost"}, code: 2},
		{args: []string{"citus", "status"}, env: map[string]string{}, code: 2}, // no APP_POSTGRES_*
	} {
		var out, errOut bytes.Buffer
		ge := getenv
		if tc.env != nil {
			extra := tc.env
			ge = func(k string) string {
				if v, ok := extra[k]; ok {
					return v
				}
				if len(extra) == 0 {
					return ""
				}
				return getenv(k)
			}
		}
		m := &Main{Stdout: &out, Stderr: &errOut, Getenv: ge}
		require.Equal(t, tc.code, m.Run(ctx, tc.args), "%v: %s%s", tc.args, out.String(), errOut.String())
	}
}

// APP_CITUS_REGION_NODES is read with every other variable by LoadConfig (in memory mode
// too, so a typo is found before anything connects) and reaches both the server's store set
// and the citus commands.
func TestCitusRegionNodesConfig(t *testing.T) {
	cfg, err := LoadConfig(env(map[string]string{"APP_CITUS_REGION_NODES": "eu-central-1=10.0.0.5:5432, eu-west-1=[fd00::5]:6432"}))
	require.NoError(t, err)
	require.Equal(t, postgres.RegionNodes{
		"eu-central-1": {{Host: "10.0.0.5", Port: 5432}},
		"eu-west-1":    {{Host: "fd00::5", Port: 6432}},
	}, cfg.CitusRegionNodes)

	cfg, err = LoadConfig(env(map[string]string{}))
	require.NoError(t, err)
	require.Empty(t, cfg.CitusRegionNodes)

	for _, bad := range []string{"eu-central-1", "eu-central-1=nohost", "EU=10.0.0.5:5432", "eu-central-1=10.0.0.5:5432,eu-west-1=10.0.0.5:5432"} {
		_, err := LoadConfig(env(map[string]string{"APP_CITUS_REGION_NODES": bad}))
		var ce *ConfigError
		require.ErrorAs(t, err, &ce, bad)
		require.Equal(t, "APP_CITUS_REGION_NODES", ce.Var)
		require.NotContains(t, ce.Reason, "APP_CITUS_REGION_NODES", "the variable is named once")
	}
}
