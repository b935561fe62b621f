package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/eusaas/eusaas/gdpr"
)

func (m *Main) gdprVerifyExportCommand() *cobra.Command {
	var pub string
	c := &cobra.Command{
		Use:   "verify-export FILE",
		Short: "verify an export archive offline (signature of manifest.json, SHA-256 and size of every file)",
		Long: `Verifies an export archive offline: the Ed25519 signature of manifest.json and the SHA-256 and
size of every file it lists. Without --public-key the key named in the manifest is used and
printed: compare it with GET /api/v1/gdpr/signing-key. Exits 1 when verification fails.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error { return gdprVerifyExport(m, a[0], pub) },
	}
	c.Flags().StringVar(&pub, "public-key", "", "base64 Ed25519 public key (GET /api/v1/gdpr/signing-key)")
	return c
}

func (m *Main) gdprKeygenCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "keygen",
		Short: "print a new APP_GDPR_SIGNING_KEY (base64 Ed25519 seed) and its public key",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pub, priv, err := ed25519.GenerateKey(nil)
			if err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "APP_GDPR_SIGNING_KEY=%s\npublic key: %s\n",
				base64.StdEncoding.EncodeToString(priv.Seed()), base64.StdEncoding.EncodeToString(pub))
			return nil
		},
	}
}

// errVerifyFailed makes the exit status 1 after the failure was printed.
var errVerifyFailed = errors.New("export archive verification failed")

func gdprVerifyExport(m *Main, path, pubText string) error {
	var pub ed25519.PublicKey
	if pubText != "" {
		b, err := base64.StdEncoding.DecodeString(pubText)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return usageErrorf("--public-key must be a base64 32-byte Ed25519 public key")
		}
		pub = b
	}
	f, err := os.Open(path)
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
