package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// The fault tests run the server against a PostgreSQL cluster and a Redis server of their
// own, on free ports, and restart them under load. They never touch the shared 5432/6379.

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// faultPostgres is a throwaway cluster made with Debian's postgresql-common tools (which
// run the server as the postgres OS user when called as root).
type faultPostgres struct {
	t    *testing.T
	name string
	port int
}

func runCmd(t *testing.T, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	require.NoError(t, err, "%s %v: %s", name, args, out)
}

func startFaultPostgres(t *testing.T) *faultPostgres {
	t.Helper()
	p := &faultPostgres{t: t, name: fmt.Sprintf("eusaas_fault_%d_%d", os.Getpid(), time.Now().UnixNano()%1_000_000), port: freePort(t)}
	// fsync off only spares the shared disks: the server is killed, never the machine, so
	// committed WAL in the page cache survives and acknowledged commits stay durable.
	runCmd(t, "pg_createcluster", "15", p.name, "--port", strconv.Itoa(p.port), "-o", "fsync=off", "--", "--auth=trust")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "pg_dropcluster", "15", p.name, "--stop").CombinedOutput(); err != nil {
			t.Logf("pg_dropcluster %s: %v: %s", p.name, err, out)
		}
	})
	p.start()
	return p
}

func (p *faultPostgres) start() { runCmd(p.t, "pg_ctlcluster", "15", p.name, "start") }

// crash stops the server in immediate mode: no checkpoint, every connection cut, crash
// recovery on the next start — what a killed or OOM-killed Postgres does.
func (p *faultPostgres) crash() {
	runCmd(p.t, "pg_ctlcluster", "15", p.name, "stop", "-m", "immediate")
}

func (p *faultPostgres) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.port, db)
}

// faultRedis is a redis-server child process without persistence.
type faultRedis struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
}

func startFaultRedis(t *testing.T) *faultRedis {
	r := &faultRedis{t: t, port: freePort(t), dir: t.TempDir()}
	r.start()
	t.Cleanup(r.kill)
	return r
}

func (r *faultRedis) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", r.dir)
	r.cmd.Stdout, r.cmd.Stderr = io.Discard, io.Discard
	require.NoError(r.t, r.cmd.Start())
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", r.port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		require.True(r.t, time.Now().Before(deadline), "redis-server did not start: %v", err)
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the server at once (SIGKILL), like a crash.
func (r *faultRedis) kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	_ = r.cmd.Wait()
	r.cmd = nil
}

// outcome is what the ingestion load saw in one phase.
type outcome struct {
	mu        sync.Mutex
	codes     map[int]int
	bad       []string // 5xx other than 503, 503 without Retry-After or not a problem
	acked     map[string]bool
	transport int
}

func (o *outcome) add(code int, hdr http.Header, body []byte, events []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.codes[code]++
	switch {
	case code == http.StatusOK:
		var res struct {
			Results []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"results"`
		}
		if err := json.Unmarshal(body, &res); err != nil || len(res.Results) != len(events) {
			o.bad = append(o.bad, fmt.Sprintf("200 with an unreadable body: %.200s", body))
			return
		}
		for _, r := range res.Results {
			if r.Status == "accepted" || r.Status == "duplicate" {
				o.acked[r.ID] = true
			}
		}
	case code == http.StatusServiceUnavailable:
		if hdr.Get("Retry-After") == "" || hdr.Get("Content-Type") != "application/problem+json" {
			o.bad = append(o.bad, fmt.Sprintf("503 without Retry-After or problem body: %v %.200s", hdr, body))
		}
	case code >= 500:
		o.bad = append(o.bad, fmt.Sprintf("%d: %.300s", code, body))
	}
}

// TestFaultRestartsUnderLoad ingests usage continuously while Postgres crashes and restarts
// and then Redis does: the app, never restarted, answers 503 (a problem with Retry-After)
// while a dependency is down and never another 5xx, serves again once it is back, and every
// event it acknowledged is in the database afterwards, counted once.
func TestFaultRestartsUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts its own PostgreSQL cluster and Redis server")
	}
	for _, bin := range []string{"pg_createcluster", "pg_ctlcluster", "pg_dropcluster", "redis-server"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not found: the fault tests need PostgreSQL 15's postgresql-common tools and redis-server", bin)
		}
	}
	pg := startFaultPostgres(t)
	rd := startFaultRedis(t)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, pg.url("postgres"))
	require.NoError(t, err)
	_, err = admin.Exec(ctx, "CREATE DATABASE eusaas")
	require.NoError(t, err)
	require.NoError(t, admin.Close(ctx))

	cfg := map[string]string{
		"APP_POSTGRES_HOST": "127.0.0.1", "APP_POSTGRES_PORT": strconv.Itoa(pg.port), "APP_POSTGRES_USER": "postgres",
		"APP_POSTGRES_DB": "eusaas", "APP_REDIS_URL": fmt.Sprintf("redis://127.0.0.1:%d/0", rd.port),
		"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword, "APP_PUBLIC_URL": "http://127.0.0.1",
	}
	priv, pub := testKeyPEMs(t)
	cfg["APP_JWT_PRIVATE_KEY"], cfg["APP_JWT_PUBLIC_KEY"] = priv, pub
	cfg["APP_GDPR_KEY_ENCRYPTION_KEY"] = testKEK
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(k string) string { return cfg[k] }}
	require.Equal(t, 0, m.Run(ctx, []string{"migrate"}), out.String())
	logs := &lockedBuffer{}
	c := startAppLogging(t, cfg, logs)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server errors:\n%s", logs.errors())
		}
	})
	op := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(t)["access_token"].(string)
	tid := c.createTenant(op, map[string]any{"name": "Faulty", "slug": "faulty", "admin_email": "o@faulty.example"})["id"].(string)

	// The load: 4 writers post batches of 10 CPU events with ids of their own, each batch
	// retried with the same ids until acknowledged (as a metering agent does), and each
	// response is filed under the phase it was sent in.
	phases := map[string]*outcome{}
	var phaseMu sync.Mutex
	phase := "steady"
	setPhase := func(p string) {
		phaseMu.Lock()
		defer phaseMu.Unlock()
		phase = p
	}
	current := func() *outcome {
		phaseMu.Lock()
		defer phaseMu.Unlock()
		o := phases[phase]
		if o == nil {
			o = &outcome{codes: map[int]int{}, acked: map[string]bool{}}
			phases[phase] = o
		}
		return o
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; loadCtx.Err() == nil; n++ {
				ids := make([]string, 10)
				events := make([]map[string]any, 10)
				ts := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
				for i := range ids {
					ids[i] = fmt.Sprintf("w%d-b%d-e%d", w, n, i)
					events[i] = map[string]any{"id": ids[i], "resource_type": "CPU", "quantity": "1", "timestamp": ts}
				}
				body, _ := json.Marshal(map[string]any{"events": events})
				for loadCtx.Err() == nil {
					o := current()
					req, _ := http.NewRequestWithContext(loadCtx, http.MethodPost, c.base+"/api/v1/tenants/"+tid+"/usage", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+op)
					req.Header.Set("Content-Type", "application/json")
					res, err := hc.Do(req)
					if err != nil {
						if loadCtx.Err() == nil {
							o.mu.Lock()
							o.transport++
							o.mu.Unlock()
						}
						time.Sleep(50 * time.Millisecond)
						continue
					}
					b, _ := io.ReadAll(res.Body)
					res.Body.Close()
					o.add(res.StatusCode, res.Header, b, ids)
					if res.StatusCode == http.StatusOK {
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	// waitFor lets the load run until the current phase saw a response with code.
	waitFor := func(code int, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for time.Now().Before(deadline) {
			o := current()
			o.mu.Lock()
			n := o.codes[code]
			o.mu.Unlock()
			if n > 0 {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("phase %q: no %d within %s (saw %v)", phase, code, within, current().codes)
	}

	waitFor(http.StatusOK, 10*time.Second)
	time.Sleep(time.Second)

	setPhase("postgres down")
	pg.crash()
	waitFor(http.StatusServiceUnavailable, 20*time.Second)
	time.Sleep(2 * time.Second)
	setPhase("postgres back")
	pg.start()
	waitFor(http.StatusOK, 60*time.Second)
	time.Sleep(time.Second)

	setPhase("redis down")
	rd.kill()
	waitFor(http.StatusServiceUnavailable, 20*time.Second)
	time.Sleep(2 * time.Second)
	setPhase("redis back")
	rd.start()
	waitFor(http.StatusOK, 60*time.Second)
	time.Sleep(time.Second)
	stopLoad()
	wg.Wait()

	acked := map[string]bool{}
	for name, o := range phases {
		t.Logf("%-14s responses %v, transport errors %d, acknowledged events %d", name, o.codes, o.transport, len(o.acked))
		require.Empty(t, o.bad[:min(len(o.bad), 5)], "phase %q: %d bad responses", name, len(o.bad))
		for id := range o.acked {
			acked[id] = true
		}
	}
	require.Positive(t, phases["postgres down"].codes[http.StatusServiceUnavailable])
	require.Positive(t, phases["redis down"].codes[http.StatusServiceUnavailable])

	// Every acknowledged event is stored once, and the month's running total counts each once.
	db, err := pgx.Connect(ctx, pg.url("eusaas"))
	require.NoError(t, err)
	defer db.Close(ctx)
	schema := pgx.Identifier{c.expect(200, c.do("GET", "/api/v1/tenants/"+tid, op, nil)).json(t)["schema_name"].(string)}.Sanitize()
	rows, err := db.Query(ctx, "SELECT event_id FROM "+schema+".billing_usage_events")
	require.NoError(t, err)
	stored, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	have := map[string]bool{}
	for _, id := range stored {
		have[id] = true
	}
	var lost []string
	for id := range acked {
		if !have[id] {
			lost = append(lost, id)
		}
	}
	require.Empty(t, lost, "acknowledged events missing from the database")
	require.GreaterOrEqual(t, len(acked), 100, "the load acknowledged too little to mean anything")
	var total string
	require.NoError(t, db.QueryRow(ctx, "SELECT coalesce(sum(quantity), 0)::text FROM "+schema+".billing_usage_months WHERE resource_type = 'CPU'").Scan(&total))
	require.Equal(t, strconv.Itoa(len(stored)), total, "each stored event counted once in the month's total")
}

// lockedBuffer collects the server's JSON log lines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// errors returns the ERROR lines (at most 20), for a failing test's report.
func (b *lockedBuffer) errors() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, line := range strings.Split(b.buf.String(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) && len(out) < 20 {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// startAppLogging is startApp with the server's logs written to w.
func startAppLogging(t *testing.T, env map[string]string, w io.Writer) *client {
	t.Helper()
	env["APP_GDPR_ARCHIVE_DIR"] = t.TempDir()
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	app, err := NewApp(ctx, cfg, slog.New(slog.NewJSONHandler(w, nil)))
	require.NoError(t, err)
	t.Cleanup(app.Close)
	require.NoError(t, app.Start(ctx))
	srv := httptest.NewServer(app.server.Handler())
	t.Cleanup(srv.Close)
	return &client{t: t, base: srv.URL}
}
