package main

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

func TestPostgresConnectionSettings(t *testing.T) {
	load := func(env map[string]string) (Config, error) {
		return LoadConfig(func(k string) string { return env[k] })
	}

	// APP_POSTGRES_URL alone selects Postgres mode; pool and query mode join its parameters.
	c, err := load(map[string]string{
		"APP_POSTGRES_URL":        "postgres://app:s3cret@db.internal:6432/eusaas?sslmode=require&application_name=eusaas",
		"APP_POSTGRES_MAX_CONNS":  "40",
		"APP_POSTGRES_MIN_CONNS":  "2",
		"APP_POSTGRES_QUERY_MODE": "cache_describe",
		"APP_JOBS_POLL_ONLY":      "true",
	})
	require.NoError(t, err)
	require.NotNil(t, c.Postgres)
	require.True(t, c.JobsPollOnly)
	require.Equal(t, "db.internal:6432/eusaas", c.Postgres.Where(), "messages name the server, never the password")
	pc, err := pgxpool.ParseConfig(c.Postgres.URL())
	require.NoError(t, err)
	require.EqualValues(t, 40, pc.MaxConns)
	require.EqualValues(t, 2, pc.MinConns)
	require.Equal(t, pgx.QueryExecModeCacheDescribe, pc.ConnConfig.DefaultQueryExecMode)
	require.Equal(t, "eusaas", pc.ConnConfig.RuntimeParams["application_name"], "every libpq parameter is kept")
	require.Equal(t, "s3cret", pc.ConnConfig.Password)

	// The key=value form works too.
	c, err = load(map[string]string{"APP_POSTGRES_URL": "host=127.0.0.1 port=5433 user=app dbname=eusaas", "APP_POSTGRES_QUERY_MODE": "exec"})
	require.NoError(t, err)
	pc, err = pgxpool.ParseConfig(c.Postgres.URL())
	require.NoError(t, err)
	require.EqualValues(t, 5433, pc.ConnConfig.Port)
	require.Equal(t, pgx.QueryExecModeExec, pc.ConnConfig.DefaultQueryExecMode)

	// The split variables still work, with the same pool settings.
	c, err = load(map[string]string{"APP_POSTGRES_HOST": "127.0.0.1", "APP_POSTGRES_MAX_CONNS": "7"})
	require.NoError(t, err)
	pc, err = pgxpool.ParseConfig(c.Postgres.URL())
	require.NoError(t, err)
	require.EqualValues(t, 7, pc.MaxConns)

	for _, bad := range []struct {
		env  map[string]string
		name string
	}{
		{map[string]string{"APP_POSTGRES_URL": "postgres://a:b@h/db", "APP_POSTGRES_HOST": "other"}, "APP_POSTGRES_URL"},
		{map[string]string{"APP_POSTGRES_URL": "postgres://app:s3cret@h:notaport/db"}, "APP_POSTGRES_URL"},
		{map[string]string{"APP_POSTGRES_HOST": "h", "APP_POSTGRES_QUERY_MODE": "prepared"}, "APP_POSTGRES_QUERY_MODE"},
		{map[string]string{"APP_POSTGRES_HOST": "h", "APP_POSTGRES_MAX_CONNS": "0"}, "APP_POSTGRES_MAX_CONNS"},
		{map[string]string{"APP_POSTGRES_HOST": "h", "APP_POSTGRES_MAX_CONNS": "2", "APP_POSTGRES_MIN_CONNS": "3"}, "APP_POSTGRES_MIN_CONNS"},
		{map[string]string{"APP_POSTGRES_HOST": "h", "APP_JOBS_POLL_ONLY": "sometimes"}, "APP_JOBS_POLL_ONLY"},
	} {
		_, err := load(bad.env)
		var ce *ConfigError
		require.ErrorAs(t, err, &ce, "%v", bad.env)
		require.Equal(t, bad.name, ce.Var)
		require.NotContains(t, err.Error(), "s3cret", "a configuration error never repeats the password")
	}
}
