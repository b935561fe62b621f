package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestLoadAgainstMemoryServer builds the reference server, starts it in memory mode and runs
// a short load through the whole mix: every endpoint is hit, answers what it should, and
// nothing answers 5xx. It builds a binary, so -short skips it.
func TestLoadAgainstMemoryServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the server")
	}
	bin := filepath.Join(t.TempDir(), "eusaas")
	build := exec.Command("go", "build", "-o", bin, "./cmd/eusaas")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := exec.CommandContext(ctx, bin, "serve")
	srv.Env = append(os.Environ(), "APP_HTTP_ADDR=127.0.0.1:0", "APP_LOG_LEVEL=INFO",
		"APP_BOOTSTRAP_ADMIN_EMAIL=root@load.example", "APP_BOOTSTRAP_ADMIN_PASSWORD=Load-Operator-Passw0rd!")
	for _, k := range []string{"APP_POSTGRES_HOST", "APP_POSTGRES_PORT", "APP_POSTGRES_USER", "APP_POSTGRES_PASSWORD", "APP_POSTGRES_DB"} {
		srv.Env = append(srv.Env, k+"=") // memory mode whatever the caller's environment says
	}
	logs, err := srv.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	srv.Stdout = io.Discard
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = srv.Wait() }()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			var line struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				addr <- line.Addr
			}
		}
	}()
	var target string
	select {
	case a := <-addr:
		target = "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not start listening")
	}
	rep, err := run(ctx, config{target: target, email: "root@load.example", pass: "Load-Operator-Passw0rd!", users: 10,
		duration: 4 * time.Second, thinkMin: 50 * time.Millisecond, thinkMax: 200 * time.Millisecond, sample: time.Second,
		costTenants: 2, timeout: 10 * time.Second}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if rep.serverErrors != 0 {
		t.Errorf("%d 5xx or transport errors", rep.serverErrors)
	}
	for _, ep := range endpoints {
		m := rep.per[ep]
		if m.Requests == 0 {
			t.Errorf("%s: no requests", ep)
		}
		if len(rep.unexpected[ep]) != 0 {
			t.Errorf("%s: unexpected statuses %v", ep, rep.unexpected[ep])
		}
	}
	if got, want := rep.per[epGet].Requests, rep.per[epCreate].Requests; got+1 < want || got > want {
		t.Errorf("%d GETs after %d creates: each create is followed by its GET", got, want)
	}
	if len(rep.samples) < 2 || rep.samples[0].rss <= 0 || rep.samples[0].heap <= 0 || rep.samples[0].goroutines <= 0 {
		t.Errorf("samples of /metrics: %+v", rep.samples)
	}
	rep.print(io.Discard)
}
