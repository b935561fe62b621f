// Command eusaas is the reference server: it wires the eusaas modules with their adapters
// into one REST platform.
//
//	eusaas serve     run the HTTP server (in-memory adapters unless APP_POSTGRES_* is set)
//	eusaas version   print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=..."; otherwise it comes from
// the module build info.
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := &Main{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	os.Exit(m.Run(ctx, os.Args[1:]))
}

// Main is the command with its environment made explicit, so tests can run it in process.
type Main struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Ready, when set, receives the listen address once the server accepts connections.
	Ready func(addr string)
}

// Version reports the build's version.
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

const usage = `usage: eusaas <command> [flags]

commands:
  serve                         run the HTTP server and, unless APP_JOBS_IN_PROCESS=false, the job workers
                                (in-memory adapters unless an APP_POSTGRES_* variable is set)
  worker                        run only the background job workers (Postgres mode)
  migrate                       apply the platform migrations (and the job queue's)
  migrate tenants [--concurrency N]   bring every tenant schema to the latest version
  citus status | distribute [--all|TENANT]   Citus placement of tenant schemas (docs/scale-out.md)
  keys generate [--dir DIR]     write an RS256 key pair (jwt-private.pem, jwt-public.pem)
  audit verify [--tenant ID]    verify audit chains; exits non-zero on any finding
  audit keygen                  write an Ed25519 key for signing audit checkpoints
  anomaly scan | eval --nab DIR scan every tenant now | evaluate the detectors
  gdpr verify-export FILE       check an export archive's checksums and signature offline
  gdpr keygen                   print an Ed25519 key for signing exports and certificates
  version                       print the version

Configuration is read from APP_* environment variables; see README.md.
`

// Run executes one command and returns the process exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "version":
		fmt.Fprintln(m.Stdout, Version())
		return 0
	case "serve":
		err = m.serve(ctx, rest)
	case "help", "-h", "--help":
		fmt.Fprint(m.Stdout, usage)
		return 0
	default:
		if c, ok := commands()[cmd]; ok {
			err = c(ctx, m, rest)
			break
		}
		fmt.Fprintf(m.Stderr, "eusaas: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			fmt.Fprintf(m.Stderr, "eusaas: configuration error: %v\n", err)
			return 2
		}
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(m.Stderr, "eusaas: %v\n", err)
		return 1
	}
	return 0
}

// logger builds the JSON logger.
func (m *Main) logger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(m.Stderr, &slog.HandlerOptions{Level: level}))
}
