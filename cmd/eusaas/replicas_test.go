package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/internal/miniotest"
	"github.com/eusaas/eusaas/internal/pgtest"
	"github.com/eusaas/eusaas/internal/redistest"
)

// replica is one eusaas process started from the built binary.
type replica struct {
	name string
	cmd  *exec.Cmd
	base string // http://127.0.0.1:port ("" for a worker)
	logs *lockedBuffer
	done chan struct{}
}

func startReplica(t *testing.T, bin, name string, env map[string]string, args ...string) *replica {
	t.Helper()
	r := &replica{name: name, logs: &lockedBuffer{}, done: make(chan struct{})}
	e := os.Environ()
	for k, v := range env {
		e = append(e, k+"="+v)
	}
	if args[0] == "serve" {
		port := freePort(t)
		r.base = fmt.Sprintf("http://127.0.0.1:%d", port)
		e = append(e, "APP_HTTP_ADDR="+fmt.Sprintf("127.0.0.1:%d", port))
	}
	r.cmd = exec.Command(bin, args...)
	r.cmd.Env = e
	r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, r.cmd.Start())
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(20 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.done
		}
		if t.Failed() {
			t.Logf("%s logs:\n%s", r.name, r.logs.String())
		}
	})
	if r.base != "" {
		deadline := time.Now().Add(60 * time.Second)
		for {
			res, err := http.Get(r.base + "/health/ready")
			if err == nil {
				res.Body.Close()
				if res.StatusCode == 200 {
					break
				}
			}
			select {
			case <-r.done:
				t.Fatalf("%s exited at start:\n%s", name, r.logs.String())
			case <-time.After(100 * time.Millisecond):
			}
			require.True(t, time.Now().Before(deadline), "%s not ready after 60 s:\n%s", name, r.logs.String())
		}
	}
	return r
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// post sends JSON without the test's require (it runs in load goroutines and against a
// replica that may be dead).
func post(base, path, token string, body any) (int, []byte, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", base+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	return res.StatusCode, out, err
}

// TestReplicas runs the server as operators do: two `serve` replicas (one without job
// workers) and a `worker` built from this package, on one Postgres database, one Redis and
// one MinIO bucket with object lock. Requests alternate between the replicas. It checks
// that an export written by whichever process ran the job downloads through either
// replica; that the database and the bucket hold one checkpoint sequence; that periodic
// jobs are scheduled once per occurrence, not once per process; and that killing a replica
// with SIGKILL in the middle of a usage load loses no event a replica acknowledged.
func TestReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	srv := miniotest.Start(t)
	bucket := srv.Bucket(t, true)
	dbURL := pgtest.URL(t)
	_, redisPrefix := redistest.Client(t)

	env := pgConfigFromURL(t, dbURL)
	for _, kv := range srv.Env(bucket) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	priv, pub := testKeyPEMs(t)
	seed := make([]byte, ed25519.SeedSize)
	_, _ = rand.Read(seed)
	gdprSeed := make([]byte, ed25519.SeedSize)
	_, _ = rand.Read(gdprSeed)
	maps := map[string]string{
		"APP_REDIS_URL": redistest.URL(t), "APP_REDIS_KEY_PREFIX": redisPrefix,
		"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword,
		"APP_JWT_PRIVATE_KEY": priv, "APP_JWT_PUBLIC_KEY": pub,
		"APP_AUDIT_SIGNING_KEY": base64.StdEncoding.EncodeToString(seed),
		"APP_GDPR_SIGNING_KEY":  base64.StdEncoding.EncodeToString(gdprSeed),
		// A checkpoint job every second, so the test sees several occurrences.
		"APP_AUDIT_CHECKPOINT_SECONDS": "1", "APP_AUDIT_CHECKPOINT_EVERY": "1000000",
		"APP_LOG_LEVEL": "WARN",
	}
	for k, v := range maps {
		env[k] = v
	}
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(k string) string { return env[k] }}
	require.Equal(t, 0, m.Run(context.Background(), []string{"migrate"}), out.String())

	bin := filepath.Join(t.TempDir(), "eusaas")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run(), "building the server")

	withEnv := func(extra ...string) map[string]string {
		e := map[string]string{}
		for k, v := range env {
			e[k] = v
		}
		for i := 0; i+1 < len(extra); i += 2 {
			e[extra[i]] = extra[i+1]
		}
		return e
	}
	// A serves only; B serves and works jobs; W only works jobs. Download links point at A.
	a := startReplica(t, bin, "serve-a", withEnv("APP_JOBS_IN_PROCESS", "false"), "serve")
	env["APP_PUBLIC_URL"] = a.base
	b := startReplica(t, bin, "serve-b", withEnv("APP_PUBLIC_URL", a.base), "serve")
	startReplica(t, bin, "worker", withEnv("APP_PUBLIC_URL", a.base), "worker")
	ca, cb := &client{t: t, base: a.base}, &client{t: t, base: b.base}

	// The operator logs in on A, creates a tenant on B; its owner registers on A and logs
	// in on B: sessions, tenants and provisioning are shared.
	op := ca.expect(200, ca.do("POST", "/api/v1/auth/login", "", map[string]any{"email": opEmail, "password": opPassword})).json(t)["access_token"].(string)
	tenant := cb.createTenant(op, map[string]any{"name": "Replica GmbH", "slug": "replica", "admin_email": "owner@replica.example"})
	tid := tenant["id"].(string)
	ca.expect(201, ca.do("POST", "/api/v1/auth/register", "", map[string]any{
		"email": "owner@replica.example", "password": "Owner-Passw0rd!", "full_name": "Rita", "invitation_token": tenant["owner_invitation"].(map[string]any)["token"],
	}, "X-Tenant-ID", "replica"))
	owner := cb.expect(200, cb.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "owner@replica.example", "password": "Owner-Passw0rd!"}, "X-Tenant-ID", tid)).json(t)["access_token"].(string)

	// Export requested on A, polled on B, worked by B or W (never A): downloaded through both.
	job := ca.expect(202, ca.do("POST", "/api/v1/tenants/"+tid+"/gdpr/export", owner, map[string]any{"format": "json", "include_audit_logs": true})).json(t)["job_id"].(string)
	var status map[string]any
	require.Eventually(t, func() bool {
		status = cb.expect(200, cb.do("GET", "/api/v1/tenants/"+tid+"/gdpr/export/"+job, owner, nil)).json(t)
		return status["status"] == "COMPLETED" || status["status"] == "FAILED"
	}, 60*time.Second, 100*time.Millisecond)
	require.Equal(t, "COMPLETED", status["status"], "%v", status)
	dl, err := url.Parse(status["download_url"].(string))
	require.NoError(t, err)
	var archives [][]byte
	for _, c := range []*client{ca, cb} {
		res := c.do("GET", dl.RequestURI(), "", nil)
		require.Equal(t, 200, res.status, "download through %s: %s", c.base, res.body)
		require.Greater(t, len(res.body), 100)
		archives = append(archives, res.body)
	}
	require.Equal(t, archives[0], archives[1], "both replicas stream the one archive")

	// Usage load alternating between A and B; B is killed (SIGKILL) midway. Every event a
	// replica acknowledged (200, accepted or duplicate) must be stored.
	const batches, perBatch = 120, 5
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	killed := make(chan struct{})
	now := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	for worker := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := worker; i < batches; i += 4 {
				if i == batches/2 && worker == 0 {
					_ = b.cmd.Process.Signal(syscall.SIGKILL)
					close(killed)
				}
				base := a.base
				if i%2 == 1 {
					base = b.base
				}
				var events []map[string]any
				for j := range perBatch {
					events = append(events, map[string]any{"id": fmt.Sprintf("load-%d-%d", i, j), "resource_type": "CPU", "quantity": "1", "timestamp": now})
				}
				code, body, err := post(base, "/api/v1/tenants/"+tid+"/usage", op, map[string]any{"events": events})
				if err != nil || code != 200 {
					continue // not acknowledged (the killed replica): the client would retry elsewhere
				}
				var res struct {
					Results []struct{ ID, Status string }
				}
				if json.Unmarshal(body, &res) != nil {
					continue
				}
				mu.Lock()
				for _, r := range res.Results {
					if r.Status == "accepted" || r.Status == "duplicate" {
						acked = append(acked, r.ID)
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	<-killed
	<-b.done
	require.Greater(t, len(acked), batches*perBatch/2, "most of the load was acknowledged (A took its half)")
	conn, err := pgx.Connect(context.Background(), dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	schema := pgx.Identifier{tenant["schema_name"].(string)}.Sanitize()
	var stored int
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT count(*) FROM "+schema+".billing_usage_events WHERE event_id = ANY($1)", acked).Scan(&stored))
	require.Equal(t, len(acked), stored, "every acknowledged usage event is stored after the kill")
	t.Logf("usage: %d events acknowledged of %d sent, all %d stored", len(acked), batches*perBatch, stored)

	// Audit: the surviving processes checkpoint (the periodic job, leader-scheduled); the
	// database and the bucket hold one sequence per chain: sizes strictly increasing, and
	// every stored checkpoint has exactly its copy in the bucket.
	require.Eventually(t, func() bool {
		var n int
		_ = conn.QueryRow(context.Background(), "SELECT count(*) FROM eusaas.audit_checkpoints WHERE chain = $1::uuid", tid).Scan(&n)
		return n > 0
	}, 30*time.Second, 200*time.Millisecond, "the tenant's chain is checkpointed")
	time.Sleep(2 * time.Second) // let a checkpoint in flight finish its copy
	rows, err := conn.Query(context.Background(), "SELECT replace(chain::text, '-', ''), size, signature FROM eusaas.audit_checkpoints ORDER BY chain, size")
	require.NoError(t, err)
	type cpRow struct {
		chain string
		size  int64
		sig   []byte
	}
	dbCps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (cpRow, error) {
		var c cpRow
		return c, r.Scan(&c.chain, &c.size, &c.sig)
	})
	require.NoError(t, err)
	copies := map[string][]byte{}
	for o := range srv.Client.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Prefix: "audit/checkpoints/", Recursive: true, WithVersions: true}) {
		require.NoError(t, o.Err)
		obj, err := srv.Client.GetObject(context.Background(), bucket, o.Key, minio.GetObjectOptions{VersionID: o.VersionID})
		require.NoError(t, err)
		var cp audit.Checkpoint
		require.NoError(t, json.NewDecoder(obj).Decode(&cp), o.Key)
		obj.Close()
		k := strings.ReplaceAll(cp.Chain.String(), "-", "") + "/" + strconv.FormatInt(cp.Size, 10)
		require.NotContains(t, copies, k, "checkpoint %s stored twice in the bucket", k)
		copies[k] = cp.Signature
	}
	for _, c := range dbCps {
		k := c.chain + "/" + strconv.FormatInt(c.size, 10)
		require.Contains(t, copies, k, "checkpoint %s has its copy in the bucket", k)
		require.Equal(t, c.sig, copies[k], "the bucket's copy of %s is the stored checkpoint", k)
	}
	require.Len(t, copies, len(dbCps), "the bucket holds no checkpoint the database does not")
	t.Logf("audit: %d checkpoints, one sequence in database and bucket", len(dbCps))

	// Periodic jobs: the checkpoint job is due every second; with two job-running processes
	// it is still enqueued once per occurrence (by the queue's leader), never once per process.
	// The kill may have taken the leader with it: the worker takes over after River's
	// leadership expires, so wait for several occurrences.
	var created []time.Time
	require.Eventually(t, func() bool {
		rows, err := conn.Query(context.Background(), "SELECT created_at FROM eusaas.river_job WHERE kind = 'audit.checkpoint' ORDER BY created_at")
		if err != nil {
			return false
		}
		created, err = pgx.CollectRows(rows, pgx.RowTo[time.Time])
		return err == nil && len(created) >= 6
	}, 60*time.Second, 500*time.Millisecond, "the periodic checkpoint runs repeatedly")
	for i := 1; i < len(created); i++ {
		require.Greater(t, created[i].Sub(created[i-1]), 400*time.Millisecond,
			"two occurrences of the 1 s periodic job %v apart: scheduled by more than one process", created[i].Sub(created[i-1]))
	}
	t.Logf("periodic: %d audit.checkpoint jobs over the run, one per occurrence", len(created))
}
