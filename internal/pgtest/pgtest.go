// Package pgtest gives each test its own PostgreSQL database.
//
// Database names start with APP_TEST_DB_PREFIX (default "eusaas_test_") followed by random
// hex; the server is found from APP_TEST_POSTGRES_URL, else at 127.0.0.1:5432 (user postgres),
// else started with testcontainers-go when a Docker engine is reachable; otherwise the test
// fails saying how to provide one. With `go test -short` tests that need Postgres are skipped.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
)

const howTo = `pgtest: no PostgreSQL available. Provide one of:
  - APP_TEST_POSTGRES_URL=postgres://user@host:5432/postgres?sslmode=disable
  - a server on 127.0.0.1:5432 accepting user "postgres" (trust auth), e.g.
      pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
  - a Docker engine (testcontainers-go starts postgres:15)
or run "go test -short ./..." to skip integration tests`

var (
	baseOnce sync.Once
	baseURL  string
	baseErr  error
)

// BaseURL returns the admin connection string of the test server, resolving it once per
// process. It skips the test in -short mode and fails it when no server can be found.
func BaseURL(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("pgtest: skipping PostgreSQL test in -short mode")
	}
	baseOnce.Do(func() { baseURL, baseErr = resolve() })
	if baseErr != nil {
		t.Fatalf("%s\n(last error: %v)", howTo, baseErr)
	}
	return baseURL
}

func resolve() (string, error) {
	if u := os.Getenv("APP_TEST_POSTGRES_URL"); u != "" {
		return u, ping(u)
	}
	local := "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	if err := ping(local); err == nil {
		return local, nil
	}
	if !dockerAvailable() {
		return "", fmt.Errorf("nothing on 127.0.0.1:5432 and no Docker engine")
	}
	ctx := context.Background()
	c, err := tcpostgres.Run(ctx, "postgres:15-alpine",
		tcpostgres.WithUsername("postgres"), tcpostgres.WithPassword("postgres"),
		tcpostgres.BasicWaitStrategies())
	if err != nil {
		return "", fmt.Errorf("testcontainers: %w", err)
	}
	return c.ConnectionString(ctx, "sslmode=disable")
}

// dockerAvailable reports whether a Docker engine endpoint is configured; testcontainers then
// reports any real failure to start a container.
func dockerAvailable() bool {
	if os.Getenv("DOCKER_HOST") != "" {
		return true
	}
	_, err := os.Stat("/var/run/docker.sock")
	return err == nil
}

func ping(u string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		return err
	}
	if _, err := net.DialTimeout("tcp", net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), time.Second); err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

// DefaultDBPrefix starts the name of every database the tests create.
const DefaultDBPrefix = "eusaas_test_"

// DBPrefix is the prefix of the databases tests create: APP_TEST_DB_PREFIX when set (a
// lower-case identifier of at most 40 characters, so runs sharing one server, e.g. two CI
// jobs, never drop each other's databases), else DefaultDBPrefix. Tests only ever drop
// databases they created, by their full random name.
func DBPrefix() string {
	p := os.Getenv("APP_TEST_DB_PREFIX")
	if p == "" || len(p) > 40 {
		return DefaultDBPrefix
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return DefaultDBPrefix
		}
	}
	return p
}

// URL creates a fresh, empty database for the test, drops it when the test ends and returns
// its connection string.
func URL(t testing.TB) string {
	t.Helper()
	base := BaseURL(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := DBPrefix() + hex.EncodeToString(b[:])

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0"); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("pgtest: cleanup connect: %v", err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: parse base url: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Pool opens a pool on a fresh database (see URL) and closes it when the test ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return PoolConfig(t, nil)
}

// PoolConfig is Pool with a hook to adjust the pool configuration (for example MaxConns).
func PoolConfig(t testing.TB, adjust func(*pgxpool.Config)) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(URL(t))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if adjust != nil {
		adjust(cfg)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("pgtest: pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}
