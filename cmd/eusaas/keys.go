package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

// authMissingKeys says how to make keys; the server refuses to start without them outside
// in-memory mode because tokens signed by a per-process key die with the process and differ
// between replicas.
const authMissingKeys = "APP_JWT_PRIVATE_KEY and APP_JWT_PUBLIC_KEY are required outside in-memory mode: " +
	"run `eusaas keys generate --dir ./keys` and set APP_JWT_PRIVATE_KEY_FILE=./keys/jwt-private.pem " +
	"APP_JWT_PUBLIC_KEY_FILE=./keys/jwt-public.pem (or the PEM text in APP_JWT_PRIVATE_KEY/APP_JWT_PUBLIC_KEY)"

// authConfig is the token configuration from cfg.
func authConfig(cfg Config) auth.Config {
	return auth.Config{Issuer: cfg.JWTIssuer,
		AccessTTL:  time.Duration(cfg.AccessTokenMinutes) * time.Minute,
		RefreshTTL: time.Duration(cfg.RefreshTokenDays) * 24 * time.Hour, TOTPKey: cfg.MFAKey,
		// The redirect URI tenants register at their IdP.
		SSOCallbackURL:         strings.TrimRight(cfg.GDPR.PublicURL, "/") + "/api/v1/auth/sso/callback",
		SSOAllowInsecureIssuer: cfg.SSOAllowHTTPIssuer}
}

// authKeys loads the key set from the configuration, or makes a per-process key in memory
// mode. Extra public keys in APP_JWT_PUBLIC_KEY are the previous keys of a rotation: they keep
// verifying (and stay in the JWKS) for one access token lifetime after start.
func authKeys(cfg Config, memory bool, log *slog.Logger) (*auth.KeySet, error) {
	if cfg.JWTPrivateKeyPEM == "" {
		if !memory {
			return nil, &ConfigError{"APP_JWT_PRIVATE_KEY", authMissingKeys}
		}
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		log.Warn("in-memory mode without APP_JWT_PRIVATE_KEY: generated a signing key for this process; tokens stop verifying when it exits",
			"kid", auth.Thumbprint(&key.PublicKey))
		return auth.NewKeySet(key, eusaas.SystemClock)
	}
	key, err := auth.ParsePrivateKeyPEM([]byte(cfg.JWTPrivateKeyPEM))
	if err != nil {
		return nil, &ConfigError{"APP_JWT_PRIVATE_KEY", eusaas.MessageOf(err) + "; " + authMissingKeys}
	}
	pubs, err := auth.ParsePublicKeysPEM([]byte(cfg.JWTPublicKeyPEM))
	if err != nil {
		return nil, &ConfigError{"APP_JWT_PUBLIC_KEY", eusaas.MessageOf(err)}
	}
	ks, err := auth.NewKeySet(key, eusaas.SystemClock)
	if err != nil {
		return nil, &ConfigError{"APP_JWT_PRIVATE_KEY", eusaas.MessageOf(err)}
	}
	kid, matched := auth.Thumbprint(&key.PublicKey), false
	retireAt := time.Now().Add(authConfig(cfg).AccessTTL + auth.MaxLeeway)
	for _, p := range pubs {
		if auth.Thumbprint(p) == kid {
			matched = true
			continue
		}
		if err := ks.AddRetiring(p, retireAt); err != nil {
			return nil, &ConfigError{"APP_JWT_PUBLIC_KEY", eusaas.MessageOf(err)}
		}
	}
	if !matched {
		return nil, &ConfigError{"APP_JWT_PUBLIC_KEY", "does not contain the public key of APP_JWT_PRIVATE_KEY"}
	}
	return ks, nil
}

// bootstrapOperator creates the first platform operator from APP_BOOTSTRAP_ADMIN_EMAIL /
// _PASSWORD; in memory mode without them it creates admin@eusaas.local with a random
// password written once to notice (never to the log).
func bootstrapOperator(ctx context.Context, cfg Config, memory bool, svc *auth.Service, ops auth.OperatorStore, log *slog.Logger, notice io.Writer) error {
	if cfg.BootstrapEmail != "" {
		created, err := svc.BootstrapOperator(ctx, cfg.BootstrapEmail, cfg.BootstrapPassword)
		if err != nil {
			if eusaas.KindOf(err) == eusaas.InvalidArgument {
				return &ConfigError{"APP_BOOTSTRAP_ADMIN_PASSWORD", "APP_BOOTSTRAP_ADMIN_EMAIL must be an email and the password 10..128 characters with upper, lower, digit and special character"}
			}
			return err
		}
		if created {
			log.Info("created the bootstrap platform operator from APP_BOOTSTRAP_ADMIN_EMAIL")
		}
		return nil
	}
	n, err := ops.CountOperators(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if !memory {
		log.Warn("no platform operator exists: set APP_BOOTSTRAP_ADMIN_EMAIL and APP_BOOTSTRAP_ADMIN_PASSWORD to create one")
		return nil
	}
	var b [18]byte
	_, _ = rand.Read(b[:])
	// The fixed prefix guarantees every character class the policy asks for.
	pw := "Aa1!" + base64.RawURLEncoding.EncodeToString(b[:])
	const email = "admin@eusaas.local"
	if _, err := svc.BootstrapOperator(ctx, email, pw); err != nil {
		return err
	}
	fmt.Fprintf(notice, "eusaas: in-memory mode without APP_BOOTSTRAP_ADMIN_EMAIL: platform operator %s, password %s (shown once)\n", email, pw)
	return nil
}

// auditSigner is the checkpoint key: the configured one, or in memory mode one generated
// for the process. In Postgres mode without one no checkpoints are made (logged): a key
// generated per process could not verify yesterday's checkpoints.
func auditSigner(cfg AuditConfig, memory bool, log *slog.Logger) (ed25519.PrivateKey, error) {
	if cfg.Signer != nil {
		return cfg.Signer, nil
	}
	if !memory {
		log.Warn("audit: APP_AUDIT_SIGNING_KEY not set: no signed checkpoints, so truncation of an audit chain's tail that also rewinds its head goes undetected")
		return nil, nil
	}
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	log.Info("audit: checkpoint signing key generated for this process (memory mode)")
	return k, nil
}

// gdprSigner is the GDPR signing key: the configured one, or one generated for the process
// (in Postgres mode with a warning: signatures made now cannot be checked after a restart).
func gdprSigner(cfg gdprConfig, memory bool, log *slog.Logger) (ed25519.PrivateKey, error) {
	if cfg.SigningKey != nil {
		return cfg.SigningKey, nil
	}
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	if !memory {
		log.Warn("APP_GDPR_SIGNING_KEY not set: using a per-process key; manifests and certificates signed now cannot be verified after a restart")
	}
	return k, nil
}
