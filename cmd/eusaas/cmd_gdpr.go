package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/eusaas/eusaas/adapters/postgres"
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
		Short: "print a new APP_GDPR_SIGNING_KEY (base64 Ed25519 seed) with its public key, and a new APP_GDPR_KEY_ENCRYPTION_KEY",
		Long: `Prints a new GDPR signing key (base64 Ed25519 seed) with its public key, and a new
key-encryption key (base64, 32 random bytes) that seals the per-tenant backup keys in
PostgreSQL. Keep both in your secret store: never in the database or its backups.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pub, priv, err := ed25519.GenerateKey(nil)
			if err != nil {
				return err
			}
			kek := make([]byte, kekSize)
			if _, err := rand.Read(kek); err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "APP_GDPR_SIGNING_KEY=%s\npublic key: %s\nAPP_GDPR_KEY_ENCRYPTION_KEY=%s\n",
				base64.StdEncoding.EncodeToString(priv.Seed()), base64.StdEncoding.EncodeToString(pub),
				base64.StdEncoding.EncodeToString(kek))
			return nil
		},
	}
}

// gdprRotateKEKCommand is `eusaas gdpr rotate-kek`: it re-seals every stored backup key
// with APP_GDPR_KEY_ENCRYPTION_KEY. The old KEK comes from
// APP_GDPR_KEY_ENCRYPTION_KEY_PREVIOUS or a file (--previous-file), never from the command
// line, where other users of the machine could read it.
func (m *Main) gdprRotateKEKCommand() *cobra.Command {
	var previousFile string
	c := &cobra.Command{
		Use:   "rotate-kek",
		Short: "re-seal every stored backup key with APP_GDPR_KEY_ENCRYPTION_KEY (Postgres mode)",
		Long: `Re-seals every live per-tenant backup key in PostgreSQL with the key-encryption key in
APP_GDPR_KEY_ENCRYPTION_KEY. Keys sealed with the previous KEK (from
APP_GDPR_KEY_ENCRYPTION_KEY_PREVIOUS or --previous-file) and keys stored unsealed by a server
that ran without a KEK are re-sealed; keys already sealed with the new KEK are left alone, so
running it twice is safe. It runs in one transaction: a key that opens with neither KEK fails
the run and changes nothing.

Rotation: deploy the servers with the new KEK and the old one as
APP_GDPR_KEY_ENCRYPTION_KEY_PREVIOUS, run this command, then remove the previous KEK.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return m.gdprRotateKEK(cmd.Context(), previousFile) },
	}
	c.Flags().StringVar(&previousFile, "previous-file", "", "file holding the previous KEK (base64), instead of APP_GDPR_KEY_ENCRYPTION_KEY_PREVIOUS")
	return c
}

func (m *Main) gdprRotateKEK(ctx context.Context, previousFile string) error {
	cfg, err := LoadConfig(m.Getenv)
	if err != nil {
		return err
	}
	if cfg.Postgres == nil {
		return &ConfigError{"APP_POSTGRES_HOST", "rotate-kek needs PostgreSQL: set at least one APP_POSTGRES_* variable (the in-memory mode keeps no keys at rest)"}
	}
	if cfg.GDPR.KEK == nil {
		return errNoKEK
	}
	if previousFile != "" {
		if cfg.GDPR.KEKPrevious != nil {
			return usageErrorf("rotate-kek: give the previous KEK either in APP_GDPR_KEY_ENCRYPTION_KEY_PREVIOUS or with --previous-file, not both")
		}
		b, err := os.ReadFile(previousFile)
		if err != nil {
			return fmt.Errorf("rotate-kek: --previous-file: %w", err)
		}
		if cfg.GDPR.KEKPrevious, err = parseKEK(string(b)); err != nil {
			return fmt.Errorf("rotate-kek: --previous-file %s: %w", previousFile, err)
		}
	}
	db, err := postgres.Open(ctx, cfg.Postgres.URL())
	if err != nil {
		return fmt.Errorf("postgres at %s: %w", cfg.Postgres.Where(), err)
	}
	defer db.Close()
	store, err := newGDPRStore(db, cfg.GDPR)
	if err != nil {
		return err
	}
	n, err := store.Reseal(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "re-sealed %d backup keys with APP_GDPR_KEY_ENCRYPTION_KEY\n", n)
	return nil
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
