package main

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/eusaas/eusaas/adapters/syslog"
	"github.com/eusaas/eusaas/adapters/witness"
)

// AuditConfig is the audit module's configuration (APP_AUDIT_* variables).
//
//	APP_AUDIT_SIGNING_KEY        Ed25519 private key: base64 of the 32-byte seed, or a PKCS#8 PEM
//	APP_AUDIT_SIGNING_KEY_FILE   the same, read from a file (wins over the variable)
//	APP_AUDIT_PREVIOUS_PUBLIC_KEYS  retired checkpoint keys still trusted: comma-separated base64 of raw 32-byte Ed25519 public keys
//	APP_AUDIT_CHECKPOINT_DIR     directory of the file checkpoint sink and the published key
//	APP_AUDIT_CHECKPOINT_EVERY   entries between checkpoints (default 1000)
//	APP_AUDIT_CHECKPOINT_SECONDS seconds between checkpoints of a chain with new entries (default 60)
//	APP_AUDIT_WITNESS_URL        also POST every checkpoint to this witness (http or https)
//	APP_AUDIT_SYSLOG_URL         stream every entry to a SIEM: tcp://host:port or tls://host:port (RFC 5424, octet-counted)
//	APP_AUDIT_SYSLOG_PERSONAL    "true" ships personal values (IP address, user agent, ...) to the SIEM too
type AuditConfig struct {
	// Signer is nil when no key is configured: in memory mode a key is generated per
	// process; in Postgres mode checkpoints are then not made (and a warning is logged),
	// because a key generated per process could not verify yesterday's checkpoints.
	Signer          ed25519.PrivateKey
	PreviousKeys    []ed25519.PublicKey
	CheckpointDir   string
	CheckpointEvery int64
	CheckpointEach  time.Duration
	WitnessURL      string
	SyslogURL       string
	SyslogPersonal  bool
}

// LoadAuditConfig reads AuditConfig through getenv.
func LoadAuditConfig(getenv func(string) string) (AuditConfig, error) {
	c := AuditConfig{CheckpointEvery: 1000, CheckpointEach: time.Minute, CheckpointDir: getenv("APP_AUDIT_CHECKPOINT_DIR"),
		WitnessURL: getenv("APP_AUDIT_WITNESS_URL")}
	c.SyslogURL, c.SyslogPersonal = getenv("APP_AUDIT_SYSLOG_URL"), getenv("APP_AUDIT_SYSLOG_PERSONAL") == "true"
	if c.SyslogURL != "" {
		if _, err := syslog.New(c.SyslogURL, nil); err != nil {
			return c, &ConfigError{"APP_AUDIT_SYSLOG_URL", "must be tcp://host:port or tls://host:port"}
		}
	}
	if c.WitnessURL != "" {
		if _, err := witness.NewClient(c.WitnessURL); err != nil {
			return c, &ConfigError{"APP_AUDIT_WITNESS_URL", "must be an http or https URL"}
		}
	}
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
