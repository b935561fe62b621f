// Command eusaas is the reference server: it wires the eusaas modules with their adapters
// into one REST platform, and carries the operators' commands (migrate, keys, audit, gdpr,
// anomaly). `eusaas help` lists them.
//
//	eusaas serve     run the HTTP server (in-memory adapters unless APP_POSTGRES_* is set)
//	eusaas version   print the version and VCS revision
package main

import (
	"context"
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

// Run executes one command line and returns the process exit code (0 success or help, 1 a
// command that failed, 2 a wrong invocation); cli.go holds the command tree.
func (m *Main) Run(ctx context.Context, args []string) int {
	return m.runCommand(ctx, args)
}

// logger builds the JSON logger.
func (m *Main) logger(level slog.Level) *slog.Logger {
	return slog.New(traceLogHandler{slog.NewJSONHandler(m.Stderr, &slog.HandlerOptions{Level: level})})
}
