package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/eusaas/eusaas/auth"
)

// keysCommand implements "eusaas keys generate": it writes an RS256 key pair as PEM files
// for APP_JWT_PRIVATE_KEY(_FILE) and APP_JWT_PUBLIC_KEY(_FILE).
func keysCommand(_ context.Context, m *Main, args []string) error {
	if len(args) == 0 || args[0] != "generate" {
		return errors.New("usage: eusaas keys generate [--dir DIR] [--bits 3072] [--force]")
	}
	fs := flag.NewFlagSet("keys generate", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	dir := fs.String("dir", ".", "directory to write jwt-private.pem and jwt-public.pem into")
	bits := fs.Int("bits", 3072, "RSA modulus size (at least 2048)")
	force := fs.Bool("force", false, "overwrite existing files")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *bits < auth.MinRSABits || *bits > 8192 {
		return fmt.Errorf("--bits must be between %d and 8192", auth.MinRSABits)
	}
	priv, pub := filepath.Join(*dir, "jwt-private.pem"), filepath.Join(*dir, "jwt-public.pem")
	if !*force {
		for _, p := range []string{priv, pub} {
			if _, err := os.Stat(p); err == nil {
				return fmt.Errorf("%s exists; pass --force to replace it (tokens signed with the old key then stop verifying unless its public key stays in APP_JWT_PUBLIC_KEY)", p)
			}
		}
	}
	key, err := rsa.GenerateKey(rand.Reader, *bits)
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
	if err := os.MkdirAll(*dir, 0o755); err != nil {
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
