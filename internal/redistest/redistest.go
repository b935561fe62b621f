// Package redistest gives each test a Redis client and a key prefix of its own.
//
// The server is found from APP_TEST_REDIS_URL, else at 127.0.0.1:6379, else started with
// testcontainers-go when a Docker engine is reachable; otherwise the test fails saying how to
// provide one. With `go test -short` tests that need Redis are skipped.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"
)

const howTo = `redistest: no Redis available. Provide one of:
  - APP_TEST_REDIS_URL=redis://host:6379/0
  - a server on 127.0.0.1:6379, e.g.
      redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  - a Docker engine (testcontainers-go starts redis:7)
or run "go test -short ./..." to skip integration tests`

var (
	once    sync.Once
	baseURL string
	baseErr error
)

// URL returns the test server's URL, skipping in -short mode and failing when none is found.
func URL(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("redistest: skipping Redis test in -short mode")
	}
	once.Do(func() { baseURL, baseErr = resolve() })
	if baseErr != nil {
		t.Fatalf("%s\n(last error: %v)", howTo, baseErr)
	}
	return baseURL
}

func resolve() (string, error) {
	if u := os.Getenv("APP_TEST_REDIS_URL"); u != "" {
		return u, ping(u)
	}
	local := "redis://127.0.0.1:6379/0"
	if err := ping(local); err == nil {
		return local, nil
	}
	if os.Getenv("DOCKER_HOST") == "" {
		if _, err := os.Stat("/var/run/docker.sock"); err != nil {
			return "", fmt.Errorf("nothing on 127.0.0.1:6379 and no Docker engine")
		}
	}
	ctx := context.Background()
	c, err := tcredis.Run(ctx, "redis:7-alpine")
	if err != nil {
		return "", fmt.Errorf("testcontainers: %w", err)
	}
	return c.ConnectionString(ctx)
}

func ping(u string) error {
	opt, err := redis.ParseURL(u)
	if err != nil {
		return err
	}
	opt.DialTimeout = time.Second
	c := redis.NewClient(opt)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

// Client returns a client and a unique key prefix ("test:<random>:", or APP_TEST_REDIS_PREFIX
// instead of "test:"; the database is the one APP_TEST_REDIS_URL names, e.g. /5). Adapters under test
// must be configured with the prefix; every key under it is deleted when the test ends.
func Client(t testing.TB) (*redis.Client, string) {
	t.Helper()
	opt, err := redis.ParseURL(URL(t))
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	c := redis.NewClient(opt)
	var b [6]byte
	_, _ = rand.Read(b[:])
	base := os.Getenv("APP_TEST_REDIS_PREFIX") // e.g. "ci42:" to tell one run's keys from another's
	if base == "" {
		base = "test:"
	}
	prefix := base + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		_ = c.Close()
	})
	return c, prefix
}
