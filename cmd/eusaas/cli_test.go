package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
)

// runCLI runs one command line in process with the given environment.
func runCLI(t *testing.T, vars map[string]string, argv ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb, Getenv: env(vars),
		Ready: func(addr string) { t.Errorf("%v started a server on %s", argv, addr) }}
	code = m.Run(context.Background(), argv)
	return code, out.String(), errb.String()
}

// commandPaths lists every command of the tree ("serve", "gdpr keygen", ...).
func commandPaths(c *cobra.Command, prefix []string) [][]string {
	var all [][]string
	for _, sub := range c.Commands() {
		p := append(append([]string{}, prefix...), sub.Name())
		all = append(all, p)
		all = append(all, commandPaths(sub, p)...)
	}
	return all
}

// TestHelpNeverActs: for every command, --help, -h and `help COMMAND` print help on stdout
// and exit 0 without doing anything: no server, no key printed, no database touched (the
// environment points Postgres at a closed port, so a connection attempt would fail loudly).
func TestHelpNeverActs(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	vars := map[string]string{"APP_POSTGRES_HOST": "127.0.0.1", "APP_POSTGRES_PORT": strconv.Itoa(closed), "APP_HTTP_ADDR": "127.0.0.1:0",
		"APP_GDPR_ARCHIVE_DIR": filepath.Join(dir, "archives")}

	paths := commandPaths((&Main{}).rootCommand(), nil)
	require.GreaterOrEqual(t, len(paths), 12, "serve, worker, migrate, migrate tenants, keys generate, audit verify/keygen, anomaly scan/eval, gdpr verify-export/keygen, version, help")
	for _, p := range paths {
		for _, form := range [][]string{append(p, "--help"), append(p, "-h"), append([]string{"help"}, p...)} {
			t.Run(strings.Join(form, " "), func(t *testing.T) {
				code, out, errOut := runCLI(t, vars, form...)
				require.Equal(t, 0, code, errOut)
				require.Contains(t, out, "Usage:")
				require.Empty(t, errOut)
				for _, secret := range []string{"APP_GDPR_SIGNING_KEY=", "APP_AUDIT_SIGNING_KEY=", "BEGIN", "password"} {
					require.NotContains(t, out, secret, "help generated or printed a secret")
				}
			})
		}
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "help created files")
	for _, bare := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		code, out, _ := runCLI(t, vars, bare...)
		require.Equal(t, 0, code)
		for _, name := range []string{"serve", "worker", "migrate", "keys", "audit", "anomaly", "gdpr", "version"} {
			require.Contains(t, out, name)
		}
	}
}

// TestWrongUsageExitsTwo: unknown commands, flags and arguments are usage errors (exit 2,
// a short message on stderr, nothing on stdout), never a silent success.
func TestWrongUsageExitsTwo(t *testing.T) {
	cases := [][]string{
		{},
		{"frobnicate"},
		{"serve", "extra"},
		{"serve", "--nope"},
		{"worker", "x"},
		{"migrate", "bogus"},
		{"migrate", "tenants", "--concurrency", "0"},
		{"migrate", "tenants", "--concurrency", "x"},
		{"keys"},
		{"keys", "rotate"},
		{"keys", "generate", "--bits", "512"},
		{"audit"},
		{"audit", "verify", "extra"},
		{"audit", "keygen", "--force"},
		{"anomaly"},
		{"anomaly", "bogus"},
		{"anomaly", "eval", "--days", "5"},
		{"gdpr"},
		{"gdpr", "verify-export"},
		{"gdpr", "verify-export", "a.zip", "b.zip"},
		{"gdpr", "verify-export", "FILE", "-public-key", "K"}, // single-dash long flags are not a second style
		{"gdpr", "verify-export", "FILE", "--public-key", "not-a-key"},
		{"gdpr", "keygen", "now"},
		{"version", "x"},
		{"help", "nothing-like-this"},
	}
	for _, argv := range cases {
		t.Run(strings.Join(argv, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, nil, argv...)
			require.Equal(t, 2, code, "stdout: %s\nstderr: %s", out, errOut)
			require.Empty(t, out)
			require.True(t, strings.HasPrefix(errOut, "eusaas: "), errOut)
			require.LessOrEqual(t, strings.Count(errOut, "\n"), 2, "a short error, not a usage dump")
		})
	}
}

func TestVersionPrintsBuildInfo(t *testing.T) {
	code, out, _ := runCLI(t, nil, "version")
	require.Equal(t, 0, code)
	require.True(t, strings.HasPrefix(out, "eusaas "), out)
	require.Contains(t, out, "revision ")
	require.Contains(t, out, "built with go")
}
