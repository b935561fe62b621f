// Package miniotest starts a real MinIO server for a test: the S3 server the storage
// adapter and the multi-replica tests run against (no fakes, DESIGN.md).
//
// The binary is found on PATH or at /root/.cache/eusaas-ci/bin/minio (where .ci/run
// installs it with `go install github.com/minio/minio@latest`); MINIO_BINARY names another.
// Without it the test is skipped with a message saying how to install it — CI installs it,
// so CI never skips. Each server gets a free loopback port, a temporary data directory,
// random root credentials and a KMS secret key (so SSE-S3 works), and is stopped and removed
// when the test ends.
package miniotest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// CIBinary is where .ci/run installs MinIO.
const CIBinary = "/root/.cache/eusaas-ci/bin/minio"

const howTo = "miniotest: no minio binary (PATH, $MINIO_BINARY or " + CIBinary + "); install it with\n" +
	"  GOBIN=/root/.cache/eusaas-ci/bin go install github.com/minio/minio@latest\n(about 2 minutes; .ci/run does this)"

// Server is a running MinIO.
type Server struct {
	// Endpoint is the server's base URL (http://127.0.0.1:port).
	Endpoint string
	// AccessKey and SecretKey are the root credentials.
	AccessKey, SecretKey string
	// Region is the region the server was started with.
	Region string
	// Client is an admin client of the server.
	Client *minio.Client

	cmd     *exec.Cmd
	buckets atomic.Int64
}

// Binary returns the minio binary's path, or "" when there is none.
func Binary() string {
	if p := os.Getenv("MINIO_BINARY"); p != "" {
		return p
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p
	}
	if st, err := os.Stat(CIBinary); err == nil && !st.IsDir() {
		return CIBinary
	}
	return ""
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start starts a server for t, skipping t when the binary is missing (and in -short mode).
func Start(t testing.TB) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("miniotest: skipping MinIO test in -short mode")
	}
	bin := Binary()
	if bin == "" {
		t.Skip(howTo)
	}
	var lastErr error
	// The free port can be taken between probing and minio binding it: retry a few times.
	for range 3 {
		s, err := start(t, bin)
		if err == nil {
			return s
		}
		lastErr = err
	}
	t.Fatalf("miniotest: MinIO did not start: %v", lastErr)
	return nil
}

func start(t testing.TB, bin string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "miniotest-")
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s := &Server{Endpoint: "http://" + addr, AccessKey: "test" + randomHex(8), SecretKey: randomHex(20), Region: "eu-central-1"}
	kms := make([]byte, 32)
	_, _ = rand.Read(kms)
	var logs strings.Builder
	cmd := exec.Command(bin, "server", dir, "--address", addr, "--console-address", "127.0.0.1:0", "--quiet")
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+s.AccessKey, "MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_REGION="+s.Region, "MINIO_KMS_SECRET_KEY=miniotest-key:"+base64.StdEncoding.EncodeToString(kms),
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=on")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	// The server dies with the test process even when that is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.cmd = cmd
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		os.RemoveAll(dir)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.Endpoint + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			os.RemoveAll(dir)
			return nil, fmt.Errorf("minio exited (%v): %s", err, logs.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, errors.New("minio not ready after 60 s: " + logs.String())
		}
	}
	t.Cleanup(stop)
	c, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Region: s.Region})
	if err != nil {
		return nil, err
	}
	s.Client = c
	return s, nil
}

// Bucket creates a new bucket (with object lock, and thereby versioning, when lock is set)
// and returns its name.
func (s *Server) Bucket(t testing.TB, lock bool) string {
	t.Helper()
	name := fmt.Sprintf("test-%d-%s", s.buckets.Add(1), randomHex(4))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Client.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: s.Region, ObjectLocking: lock}); err != nil {
		t.Fatalf("miniotest: creating bucket %s: %v", name, err)
	}
	return name
}

// Env returns the environment that points the server (cmd/eusaas) at bucket: APP_STORAGE_URL
// and the AWS credentials.
func (s *Server) Env(bucket string) []string {
	return []string{
		"APP_STORAGE_URL=s3://" + bucket + "?endpoint=" + s.Endpoint + "&region=" + s.Region,
		"AWS_ACCESS_KEY_ID=" + s.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
	}
}
