package main

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/eusaas/eusaas/auth"
)

// keysGenerateCommand is "eusaas keys generate": it writes an RS256 key pair as PEM files
// for APP_JWT_PRIVATE_KEY(_FILE) and APP_JWT_PUBLIC_KEY(_FILE).
func (m *Main) keysGenerateCommand() *cobra.Command {
	var dir string
	var bits int
	var force bool
	c := &cobra.Command{
		Use:   "generate",
		Short: "write an RS256 key pair (jwt-private.pem, jwt-public.pem)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if bits < auth.MinRSABits || bits > 8192 {
				return usageErrorf("--bits must be between %d and 8192", auth.MinRSABits)
			}
			return keysGenerate(m, dir, bits, force)
		},
	}
	c.Flags().StringVar(&dir, "dir", ".", "directory to write jwt-private.pem and jwt-public.pem into")
	c.Flags().IntVar(&bits, "bits", 3072, "RSA modulus size (at least 2048)")
	c.Flags().BoolVar(&force, "force", false, "overwrite existing files")
	return c
}

func keysGenerate(m *Main, dir string, bits int, force bool) error {
	priv, pub := filepath.Join(dir, "jwt-private.pem"), filepath.Join(dir, "jwt-public.pem")
	if !force {
		for _, p := range []string{priv, pub} {
			if _, err := os.Stat(p); err == nil {
				return fmt.Errorf("%s exists; pass --force to replace it (tokens signed with the old key then stop verifying unless its public key stays in APP_JWT_PUBLIC_KEY)", p)
			}
		}
	}
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return err
	}
	privPEM, err := auth.EncodePrivateKeyPEM(key)
	if err != nil {
		return err
	}
	pubPEM, err := auth.EncodePublicKeyPEM(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// The private key is readable by its owner only.
	if err := os.WriteFile(priv, privPEM, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(pub, pubPEM, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "wrote %s (private, mode 0600) and %s\nkid (RFC 7638 thumbprint): %s\n"+
		"use: APP_JWT_PRIVATE_KEY_FILE=%s APP_JWT_PUBLIC_KEY_FILE=%s\n"+
		"rotation: keep the previous public key appended to APP_JWT_PUBLIC_KEY for one access token lifetime\n",
		priv, pub, auth.Thumbprint(&key.PublicKey), priv, pub)
	return nil
}
