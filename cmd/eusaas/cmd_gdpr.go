package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/eusaas/eusaas/gdpr"
)

const gdprUsage = `usage: eusaas gdpr <subcommand>

subcommands:
  verify-export [-public-key BASE64] FILE
      verify an export archive offline: the Ed25519 signature of manifest.json and the
      SHA-256 and size of every file it lists. Without -public-key the key named in the
      manifest is used and printed: compare it with GET /api/v1/gdpr/signing-key.
  keygen
      print a new APP_GDPR_SIGNING_KEY (base64 Ed25519 seed) and its public key
`

// gdprCommand is `eusaas gdpr ...`.
func gdprCommand(ctx context.Context, m *Main, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, gdprUsage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "verify-export":
		return gdprVerifyExport(m, args[1:])
	case "keygen":
		pub, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "APP_GDPR_SIGNING_KEY=%s\npublic key: %s\n",
			base64.StdEncoding.EncodeToString(priv.Seed()), base64.StdEncoding.EncodeToString(pub))
		return nil
	}
	fmt.Fprint(m.Stderr, gdprUsage)
	return fmt.Errorf("gdpr: unknown subcommand %q", args[0])
}

// errVerifyFailed makes the exit status 1 after the failure was printed.
var errVerifyFailed = errors.New("export archive verification failed")

func gdprVerifyExport(m *Main, args []string) error {
	fs := flag.NewFlagSet("gdpr verify-export", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	pubText := fs.String("public-key", "", "base64 Ed25519 public key (GET /api/v1/gdpr/signing-key)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprint(m.Stderr, gdprUsage)
		return flag.ErrHelp
	}
	var pub ed25519.PublicKey
	if *pubText != "" {
		b, err := base64.StdEncoding.DecodeString(*pubText)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return &ConfigError{"-public-key", "must be a base64 32-byte Ed25519 public key"}
		}
		pub = b
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	res, err := gdpr.VerifyArchive(f, st.Size(), pub)
	if err != nil {
		fmt.Fprintf(m.Stdout, "FAILED: %v\n", err)
		return errVerifyFailed
	}
	man := res.Manifest
	fmt.Fprintf(m.Stdout, "OK: tenant %s, request %s, format %s, created %s\n", man.TenantID, man.RequestID, man.Format, man.CreatedAt.Format("2006-01-02T15:04:05Z07:00"))
	for _, f := range man.Files {
		fmt.Fprintf(m.Stdout, "  %-40s %10d rows %12d bytes  sha256 %s\n", f.Name, f.Rows, f.Bytes, f.SHA256)
	}
	if res.KeyFromArchive {
		fmt.Fprintf(m.Stdout, "signature checked with the key named in the manifest: %s\ncompare it with the published key (GET /api/v1/gdpr/signing-key)\n", man.SigningKey)
	} else {
		fmt.Fprintln(m.Stdout, "signature checked with the given public key")
	}
	return nil
}
