package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/internal/pgtest"
	"github.com/eusaas/eusaas/internal/redistest"
)

// Two job-running processes on one database ship every audit entry to the SIEM once, not
// once per process: the export is a leader-scheduled periodic job under an advisory lock.
func TestAuditExportOncePerCluster(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	seen := map[string]int{}
	re := regexp.MustCompile(`chain="([^"]*)" seq="(\d+)"`)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				sc := bufio.NewScanner(conn)
				sc.Buffer(make([]byte, 1<<20), 1<<20)
				// Octet-counted frames hold no newline of their own; scan on the header.
				sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
					if i := bytes.Index(data, []byte("] ")); i >= 0 {
						return i + 2, data[:i+1], nil
					}
					if atEOF {
						return len(data), nil, nil
					}
					return 0, nil, nil
				})
				for sc.Scan() {
					for _, m := range re.FindAllSubmatch(sc.Bytes(), -1) {
						mu.Lock()
						seen[string(m[1])+"/"+string(m[2])]++
						mu.Unlock()
					}
				}
			}()
		}
	}()

	dbURL := pgtest.URL(t)
	_, prefix := redistest.Client(t)
	cfg := pgConfigFromURL(t, dbURL)
	cfg["APP_REDIS_URL"], cfg["APP_REDIS_KEY_PREFIX"] = redistest.URL(t), prefix
	cfg["APP_BOOTSTRAP_ADMIN_EMAIL"], cfg["APP_BOOTSTRAP_ADMIN_PASSWORD"] = opEmail, opPassword
	priv, pub := testKeyPEMs(t)
	cfg["APP_JWT_PRIVATE_KEY"], cfg["APP_JWT_PUBLIC_KEY"] = priv, pub
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(k string) string { return cfg[k] }}
	require.Equal(t, 0, m.Run(context.Background(), []string{"migrate"}), out.String())
	cfg["APP_AUDIT_SYSLOG_URL"] = "tcp://" + ln.Addr().String()
	copyCfg := func() map[string]string {
		c := map[string]string{}
		for k, v := range cfg {
			c[k] = v
		}
		return c
	}
	c1, c2 := startApp(t, copyCfg()), startApp(t, copyCfg())
	op := c1.expect(200, c1.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(t)["access_token"].(string)
	for i := range 3 {
		c := []*client{c1, c2}[i%2]
		c.createTenant(op, map[string]any{"name": fmt.Sprintf("Export %d", i), "slug": fmt.Sprintf("export-%d", i), "admin_email": fmt.Sprintf("o@e%d.example", i)})
	}
	conn, err := pgx.Connect(context.Background(), dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	var total int
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT count(*) FROM eusaas.audit_entries").Scan(&total))
	require.Positive(t, total)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) >= total
	}, 30*time.Second, 200*time.Millisecond, "every entry reaches the SIEM")
	time.Sleep(6 * time.Second) // at least one more export occurrence
	mu.Lock()
	defer mu.Unlock()
	for k, n := range seen {
		require.Equal(t, 1, n, "entry %s shipped %d times", k, n)
	}
	t.Logf("%d audit entries shipped once each by two job-running processes", len(seen))
}

// exclusive runs fn in one caller at a time across processes (connections): a second
// caller while the first runs does nothing; after it, the next caller runs.
func TestExclusiveAdvisoryLock(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.URL(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	inside, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- exclusive(ctx, pool, 42, func(context.Context) error { close(inside); <-release; return nil })
	}()
	<-inside
	ran := false
	require.NoError(t, exclusive(ctx, pool, 42, func(context.Context) error { ran = true; return nil }))
	require.False(t, ran, "a second caller ran while the lock was held")
	require.NoError(t, exclusive(ctx, pool, 43, func(context.Context) error { ran = true; return nil }))
	require.True(t, ran, "another key is another lock")
	close(release)
	require.NoError(t, <-first)
	ran = false
	require.NoError(t, exclusive(ctx, pool, 42, func(context.Context) error { ran = true; return nil }))
	require.True(t, ran, "the lock is released with the holder's transaction")
}
