package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/eusaas/eusaas/adapters/file"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/audit/memaudit"
)

// AuditConfig is the audit module's configuration (APP_AUDIT_* variables).
//
//	APP_AUDIT_SIGNING_KEY        Ed25519 private key: base64 of the 32-byte seed, or a PKCS#8 PEM
//	APP_AUDIT_SIGNING_KEY_FILE   the same, read from a file (wins over the variable)
//	APP_AUDIT_PREVIOUS_PUBLIC_KEYS  retired checkpoint keys still trusted: comma-separated base64 of raw 32-byte Ed25519 public keys
//	APP_AUDIT_CHECKPOINT_DIR     directory of the file checkpoint sink and the published key
//	APP_AUDIT_CHECKPOINT_EVERY   entries between checkpoints (default 1000)
//	APP_AUDIT_CHECKPOINT_SECONDS seconds between checkpoints of a chain with new entries (default 60)
type AuditConfig struct {
	// Signer is nil when no key is configured: in memory mode a key is generated per
	// process; in Postgres mode checkpoints are then not made (and a warning is logged),
	// because a key generated per process could not verify yesterday's checkpoints.
	Signer          ed25519.PrivateKey
	PreviousKeys    []ed25519.PublicKey
	CheckpointDir   string
	CheckpointEvery int64
	CheckpointEach  time.Duration
}

// LoadAuditConfig reads AuditConfig through getenv.
func LoadAuditConfig(getenv func(string) string) (AuditConfig, error) {
	c := AuditConfig{CheckpointEvery: 1000, CheckpointEach: time.Minute, CheckpointDir: getenv("APP_AUDIT_CHECKPOINT_DIR")}
	key := getenv("APP_AUDIT_SIGNING_KEY")
	keyVar := "APP_AUDIT_SIGNING_KEY"
	if path := getenv("APP_AUDIT_SIGNING_KEY_FILE"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, &ConfigError{"APP_AUDIT_SIGNING_KEY_FILE", "cannot read the file it names"}
		}
		key, keyVar = string(b), "APP_AUDIT_SIGNING_KEY_FILE"
	}
	if key != "" {
		k, err := auditParseSigningKey(key)
		if err != nil {
			return c, &ConfigError{keyVar, "must be an Ed25519 key: base64 of a 32-byte seed or a PKCS#8 PEM"}
		}
		c.Signer = k
	}
	if v := getenv("APP_AUDIT_PREVIOUS_PUBLIC_KEYS"); v != "" {
		for _, part := range strings.Split(v, ",") {
			b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(part))
			if err != nil || len(b) != ed25519.PublicKeySize {
				return c, &ConfigError{"APP_AUDIT_PREVIOUS_PUBLIC_KEYS", "must be comma-separated base64 of 32-byte Ed25519 public keys"}
			}
			c.PreviousKeys = append(c.PreviousKeys, ed25519.PublicKey(b))
		}
	}
	if v := getenv("APP_AUDIT_CHECKPOINT_EVERY"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > 1_000_000 {
			return c, &ConfigError{"APP_AUDIT_CHECKPOINT_EVERY", "must be an integer between 1 and 1000000"}
		}
		c.CheckpointEvery = n
	}
	if v := getenv("APP_AUDIT_CHECKPOINT_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 86400 {
			return c, &ConfigError{"APP_AUDIT_CHECKPOINT_SECONDS", "must be an integer between 1 and 86400"}
		}
		c.CheckpointEach = time.Duration(n) * time.Second
	}
	return c, nil
}

// auditParseSigningKey accepts base64 (std or URL, padded or not) of the 32-byte seed, or a
// PKCS#8 PEM "PRIVATE KEY".
func auditParseSigningKey(s string) (ed25519.PrivateKey, error) {
	s = strings.TrimSpace(s)
	if blk, _ := pem.Decode([]byte(s)); blk != nil {
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, err
		}
		ek, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, errAuditNotEd25519
		}
		return ek, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == ed25519.SeedSize {
			return ed25519.NewKeyFromSeed(b), nil
		}
	}
	return nil, errAuditNotEd25519
}

var errAuditNotEd25519 = &ConfigError{"APP_AUDIT_SIGNING_KEY", "not an Ed25519 key"}

// auditStores returns the audit store and key store of the app's mode.
func (a *App) auditStores() (audit.Store, audit.KeyStore) {
	if a.db != nil {
		s := postgres.NewAuditStore(a.db)
		return s, s
	}
	s := memaudit.NewStore()
	return s, s
}

// wireAudit builds the audit service for the app's mode (Postgres when a.db is set, else
// memory) and starts its periodic checkpointing, stopped by a.Close. The service is the
// eusaas.Recorder every module records through, and what httpapi.RegisterAudit takes.
// In Postgres mode the platform migrations (00020_audit.sql) must have run.
func (a *App) wireAudit(ctx context.Context, cfg AuditConfig) (*audit.Service, error) {
	store, keys := a.auditStores()
	deps := audit.Deps{Store: store, Keys: keys, Tx: a.tx}
	opts := audit.Options{Signer: cfg.Signer, PreviousKeys: cfg.PreviousKeys, CheckpointEvery: cfg.CheckpointEvery, CheckpointInterval: cfg.CheckpointEach,
		Logger: a.log}
	if opts.Signer == nil {
		if a.db == nil {
			_, k, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				return nil, err
			}
			opts.Signer = k
			a.log.Info("audit: checkpoint signing key generated for this process (memory mode)")
		} else {
			a.log.Warn("audit: APP_AUDIT_SIGNING_KEY not set: no signed checkpoints, so truncation of an audit chain's tail that also rewinds its head goes undetected")
		}
	}
	if cfg.CheckpointDir != "" {
		sink, err := file.NewCheckpointSink(cfg.CheckpointDir)
		if err != nil {
			return nil, &ConfigError{"APP_AUDIT_CHECKPOINT_DIR", "cannot create or open the directory"}
		}
		if opts.Signer != nil {
			if err := sink.WritePublicKey(opts.Signer.Public().(ed25519.PublicKey)); err != nil {
				return nil, err
			}
		}
		deps.Sink = sink
	}
	svc, err := audit.NewService(deps, opts)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = svc.Run(runCtx)
	}()
	a.closers = append(a.closers, func() {
		cancel()
		<-done
		// A last checkpoint of chains with unsigned entries, then refuse new records.
		flushCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		if _, err := svc.Flush(flushCtx); err != nil {
			a.log.Error("audit: final checkpoint", "error", err.Error())
		}
		svc.Close()
	})
	return svc, nil
}
