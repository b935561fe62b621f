package clientgen

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eusaas/eusaas/internal/pgtest"
)

// TestOgenJourney is the contract test a client author would run: it generates a Go client
// with ogen from the served document, starts the reference server (built from this
// repository, Postgres mode, every optional key set so no operation answers "not
// configured") and runs ./journey — a walk over every operation of the document through the
// generated client only, failing on any response the document does not declare, on any
// 5xx, and on any operation the walk did not reach (so a new route without a journey step
// fails here).
func TestOgenJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server, generates an ogen client and needs PostgreSQL; run without -short")
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := filepath.Abs("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	// The generated client sits in the journey package's directory (not committed, see
	// .gitignore) so this module's go.mod resolves its imports, checked read-only.
	run(t, ".", "go", "run", ogen, "-package", "ogenclient", "-target", filepath.Join("journey", "ogenclient"), "-clean", spec)
	t.Cleanup(func() { _ = os.RemoveAll(filepath.Join("journey", "ogenclient")) })

	bin := filepath.Join(t.TempDir(), "eusaas")
	run(t, filepath.Join(root, "cmd", "eusaas"), "go", "build", "-o", bin, ".")

	db, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cfg := map[string]string{
		"APP_POSTGRES_HOST": db.Hostname(), "APP_POSTGRES_PORT": db.Port(), "APP_POSTGRES_USER": db.User.Username(),
		"APP_POSTGRES_DB": strings.TrimPrefix(db.Path, "/"), "APP_HTTP_ADDR": addr, "APP_PUBLIC_URL": "http://" + addr,
		"APP_BOOTSTRAP_ADMIN_EMAIL": "operator@journey.example", "APP_BOOTSTRAP_ADMIN_PASSWORD": "Journey-Operator-Passw0rd!",
		"APP_GDPR_ARCHIVE_DIR": t.TempDir(), "APP_LOG_LEVEL": "WARN",
	}
	if p, ok := db.User.Password(); ok {
		cfg["APP_POSTGRES_PASSWORD"] = p
	}
	keys := t.TempDir()
	run(t, ".", bin, "keys", "generate", "--dir", keys)
	cfg["APP_JWT_PRIVATE_KEY_FILE"], cfg["APP_JWT_PUBLIC_KEY_FILE"] = filepath.Join(keys, "jwt-private.pem"), filepath.Join(keys, "jwt-public.pem")
	for _, gen := range [][]string{{"gdpr", "keygen"}, {"audit", "keygen"}} {
		out, err := exec.Command(bin, gen...).Output()
		if err != nil {
			t.Fatalf("eusaas %v: %v", gen, err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok && strings.HasPrefix(k, "APP_") {
				cfg[k] = v
			}
		}
	}
	environ := os.Environ()
	for k, v := range cfg {
		environ = append(environ, k+"="+v)
	}
	cmd := exec.Command(bin, "migrate")
	cmd.Env = environ
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("eusaas migrate: %v\n%s", err, out)
	}
	serve := exec.Command(bin, "serve")
	serve.Env = environ
	logs, err := serve.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	serve.Stdout = serve.Stderr
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = serve.Process.Kill(); _ = serve.Wait() })
	go func() { // the server's warnings, for a failing run
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			t.Log("server: " + sc.Text())
		}
	}()
	waitHealthy(t, "http://"+addr+"/health")

	journey := exec.CommandContext(context.Background(), "go", "test", "-mod=readonly", "-count=1", "-v", "-tags", "ogenjourney", "./journey")
	journey.Env = append(environ, "GOFLAGS=", "JOURNEY_URL=http://"+addr, "JOURNEY_OPENAPI="+spec, "JOURNEY_EUSAAS="+bin,
		"JOURNEY_OPERATOR_EMAIL="+cfg["APP_BOOTSTRAP_ADMIN_EMAIL"], "JOURNEY_OPERATOR_PASSWORD="+cfg["APP_BOOTSTRAP_ADMIN_PASSWORD"])
	out, err := journey.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestJourney") {
		t.Fatalf("the ogen journey failed: %v\n%s", err, lastLines(string(out), 80))
	}
	t.Log(lastLines(string(out), 4))
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func waitHealthy(t *testing.T, u string) {
	t.Helper()
	for range 300 {
		if res, err := http.Get(u); err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the server did not become healthy at %s", u)
}
