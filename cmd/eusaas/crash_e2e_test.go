package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/internal/pgtest"
	"github.com/eusaas/eusaas/internal/redistest"
)

// runMainEnv makes the test binary run the server (main) instead of the tests: the crash test
// starts the server as a child process by re-executing its own binary, which is the server
// compiled with its tests (and with -race when the tests are), without a separate build.
const runMainEnv = "EUSAAS_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// child is a server process started by a test.
type child struct {
	cmd    *exec.Cmd
	base   string
	stderr *lockedBuffer
}

// startChild starts `eusaas serve` in a child process with exactly env and waits until it
// answers /health/live.
func startChild(t *testing.T, env map[string]string) *child {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Env = []string{runMainEnv + "=1", "APP_HTTP_ADDR=127.0.0.1:" + strconv.Itoa(port), "PATH=" + os.Getenv("PATH"), "TMPDIR=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	c := &child{cmd: cmd, base: "http://127.0.0.1:" + strconv.Itoa(port), stderr: &lockedBuffer{}}
	cmd.Stdout, cmd.Stderr = c.stderr, c.stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(c.base + "/health/live")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up: %s", c.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the process with SIGKILL: no shutdown, no deferred work, leases unreleased.
func (c *child) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGKILL))
	err := c.cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, syscall.SIGKILL, ee.Sys().(syscall.WaitStatus).Signal())
}

// tempFiles lists the archive store's temporary files (writes neither committed nor aborted).
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.Contains(d.Name(), ".tmp-") {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, rel)
		}
		return nil
	}))
	return out
}

// TestGDPRResumesAfterKill kills -9 a server process while it runs tenant erasures, subject
// erasures and exports, each paused at a different named point (every step of the tenant
// erasure saga, including halfway through writing its backup and between deleting the rows
// and the exports; every part of a subject erasure; an export halfway through its archive and
// one committed but not recorded), then starts a new process with no pause and no second
// request: every one completes within 60 s of the new process being up, and no temporary file
// of the interrupted writes is left.
func TestGDPRResumesAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	dbURL := pgtest.URL(t)
	_, redisPrefix := redistest.Client(t)
	cfg := pgConfigFromURL(t, dbURL)
	cfg["APP_REDIS_URL"] = redistest.URL(t)
	cfg["APP_REDIS_KEY_PREFIX"] = redisPrefix
	cfg["APP_BOOTSTRAP_ADMIN_EMAIL"] = opEmail
	cfg["APP_BOOTSTRAP_ADMIN_PASSWORD"] = opPassword
	cfg["APP_JWT_PRIVATE_KEY"], cfg["APP_JWT_PUBLIC_KEY"] = testKeyPEMs(t)
	cfg["APP_GDPR_SIGNING_KEY"] = base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32)))
	cfg["APP_GDPR_ARCHIVE_DIR"] = t.TempDir()
	cfg["APP_JOBS_WORKERS"] = "32" // every paused run holds a worker
	cfg["APP_LOG_LEVEL"] = "WARN"
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(k string) string { return cfg[k] }}
	require.Equal(t, 0, m.Run(context.Background(), []string{"migrate"}), out.String())

	markers := t.TempDir()
	pausing := map[string]string{}
	for k, v := range cfg {
		pausing[k] = v
	}
	pausing["APP_TEST_GDPR_PAUSE_AT"] = strings.Join(gdpr.Checkpoints, ",")
	pausing["APP_TEST_GDPR_PAUSE_DIR"] = markers
	first := startChild(t, pausing)
	c := &client{t: t, base: first.base}
	login := func() string {
		return c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(t)["access_token"].(string)
	}
	op := login()
	waitPaused := func(point string) {
		t.Helper()
		marker := filepath.Join(markers, strings.ReplaceAll(point, "/", "_"))
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, err := os.Stat(marker); err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no run paused at %s: %s", point, first.stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	var points = map[string][]string{}
	for _, p := range gdpr.Checkpoints {
		kind := p[:strings.Index(p, "/")]
		points[kind] = append(points[kind], p)
	}

	// One tenant erasure per saga point: each passes the points taken before it and pauses
	// at the next.
	var erasedTenants []string
	for i, p := range points["tenant_erasure"] {
		tn := c.createTenant(op, map[string]any{"name": fmt.Sprintf("Crash %d", i), "slug": fmt.Sprintf("crash-%d", i),
			"admin_email": fmt.Sprintf("owner@crash%d.example", i)})
		id := tn["id"].(string)
		r := c.do("DELETE", "/api/v1/tenants/"+id, op, nil)
		require.Contains(t, []int{200, 202}, r.status, "body: %s", r.body)
		waitPaused(p)
		erasedTenants = append(erasedTenants, id)
	}

	// One subject erasure per part, in a tenant of their own.
	subj := c.createTenant(op, map[string]any{"name": "Subjects", "slug": "subjects", "admin_email": "owner@subjects.example"})
	sid := subj["id"].(string)
	c.expect(200, c.do("PATCH", "/api/v1/tenants/"+sid, op, map[string]any{"settings": map[string]any{"max_users": 50}}))
	c.expect(201, c.do("POST", "/api/v1/auth/register", "", map[string]any{"email": "owner@subjects.example", "password": "Owner-Passw0rd!",
		"full_name": "Owner", "invitation_token": subj["owner_invitation"].(map[string]any)["token"]}, "X-Tenant-ID", "subjects"))
	owner := c.expect(200, c.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "owner@subjects.example", "password": "Owner-Passw0rd!"},
		"X-Tenant-ID", "subjects")).json(t)["access_token"].(string)
	var erasures []string
	for i, p := range points["subject_erasure"] {
		email := fmt.Sprintf("member%d@subjects.example", i)
		inv := c.expect(201, c.do("POST", "/api/v1/tenants/"+sid+"/invitations", owner, map[string]any{"email": email, "role": "MEMBER"})).json(t)["token"].(string)
		u := c.expect(201, c.do("POST", "/api/v1/auth/register", "", map[string]any{"email": email, "password": "Member-Passw0rd!",
			"full_name": fmt.Sprintf("Member %d", i), "invitation_token": inv}, "X-Tenant-ID", "subjects")).json(t)
		r := c.expect(202, c.do("POST", "/api/v1/tenants/"+sid+"/gdpr/erase", owner, map[string]any{"data_subject_id": u["id"]})).json(t)
		waitPaused(p)
		erasures = append(erasures, r["job_id"].(string))
	}

	// Exports, in a third tenant (a subject erasure would take tenant-wide exports along).
	exp := c.createTenant(op, map[string]any{"name": "Exports", "slug": "exports", "admin_email": "owner@exports.example"})
	eid := exp["id"].(string)
	var exports []string
	for _, p := range points["export"] {
		r := c.expect(202, c.do("POST", "/api/v1/tenants/"+eid+"/gdpr/export", op, map[string]any{"format": "json"})).json(t)
		waitPaused(p)
		exports = append(exports, r["job_id"].(string))
	}

	// The half-written archives (the backup and an export) are on disk as temporary files.
	temps := tempFiles(t, cfg["APP_GDPR_ARCHIVE_DIR"])
	require.Len(t, temps, 2, "a temporary file for the half-written backup and export: %v", temps)
	first.kill(t)

	second := startChild(t, cfg)
	up := time.Now()
	c.base = second.base
	op = login()
	pending := func() []string {
		var left []string
		for _, id := range erasedTenants {
			if g := c.expect(200, c.do("GET", "/api/v1/tenants/"+id, op, nil)).json(t); g["status"] != "DELETED" {
				left = append(left, "tenant "+id+" "+g["status"].(string))
			}
		}
		for _, id := range erasures {
			if g := c.expect(200, c.do("GET", "/api/v1/tenants/"+sid+"/gdpr/erase/"+id, op, nil)).json(t); g["status"] != "COMPLETED" {
				left = append(left, "subject erasure "+id+" "+g["status"].(string))
			}
		}
		for _, id := range exports {
			if g := c.expect(200, c.do("GET", "/api/v1/tenants/"+eid+"/gdpr/export/"+id, op, nil)).json(t); g["status"] != "COMPLETED" {
				left = append(left, "export "+id+" "+g["status"].(string))
			}
		}
		return left
	}
	for left := pending(); len(left) > 0; left = pending() {
		if time.Since(up) > 60*time.Second {
			t.Fatalf("not completed 60 s after the new process came up: %v\n%s", left, second.stderr.String())
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("%d tenant erasures, %d subject erasures and %d exports completed %.1f s after the new process came up",
		len(erasedTenants), len(erasures), len(exports), time.Since(up).Seconds())

	require.Empty(t, tempFiles(t, cfg["APP_GDPR_ARCHIVE_DIR"]), "temporary files of the interrupted writes are removed")
	// The resumed runs produced what uninterrupted ones do: certificates, downloadable exports.
	for _, id := range erasedTenants {
		er := c.expect(200, c.do("GET", "/api/v1/gdpr/tenant-erasures/"+id, op, nil)).json(t)
		require.NotNil(t, er["certificate"], "tenant %s", id)
	}
	for _, id := range erasures {
		er := c.expect(200, c.do("GET", "/api/v1/tenants/"+sid+"/gdpr/erase/"+id, op, nil)).json(t)
		require.NotNil(t, er["certificate"], "subject erasure %s", id)
	}
	for _, id := range exports {
		g := c.expect(200, c.do("GET", "/api/v1/tenants/"+eid+"/gdpr/export/"+id, op, nil)).json(t)
		u, err := url.Parse(g["download_url"].(string))
		require.NoError(t, err)
		c.expect(200, c.do("GET", u.RequestURI(), "", nil))
	}
}
