package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"log/slog"
)

// gdprConfig is the gdpr module's configuration (APP_GDPR_*).
type gdprConfig struct {
	// SigningKey signs export manifests, erasure certificates and download tokens
	// (APP_GDPR_SIGNING_KEY: base64 Ed25519 seed of 32 bytes or private key of 64). nil when
	// unset: the app then generates one per process (fine in memory mode; Postgres mode logs
	// a warning, as signatures then cannot be checked after a restart).
	SigningKey ed25519.PrivateKey
	// ArchiveDir holds export archives and encrypted backups (APP_GDPR_ARCHIVE_DIR). In
	// memory mode they stay in process unless it is set; in Postgres mode it defaults to
	// $TMPDIR/eusaas-gdpr.
	ArchiveDir string
	// KEK seals backup keys at rest in Postgres (APP_GDPR_KEY_ENCRYPTION_KEY, base64 32 bytes).
	KEK []byte
	// PublicURL prefixes download URLs (APP_PUBLIC_URL, default http://localhost:8000).
	PublicURL string
	// PublicURLSet tells whether APP_PUBLIC_URL was given (the default is only right for a
	// local server on :8000).
	PublicURLSet bool
}

func loadGDPRConfig(getenv func(string) string) (gdprConfig, error) {
	c := gdprConfig{PublicURL: "http://localhost:8000"}
	if v := getenv("APP_GDPR_ARCHIVE_DIR"); v != "" {
		c.ArchiveDir = v
	}
	if v := getenv("APP_PUBLIC_URL"); v != "" {
		c.PublicURL, c.PublicURLSet = v, true
	}
	if v := getenv("APP_GDPR_SIGNING_KEY"); v != "" {
		b, err := base64.StdEncoding.DecodeString(v)
		switch {
		case err != nil:
			return c, &ConfigError{"APP_GDPR_SIGNING_KEY", "must be base64"}
		case len(b) == ed25519.SeedSize:
			c.SigningKey = ed25519.NewKeyFromSeed(b)
		case len(b) == ed25519.PrivateKeySize:
			c.SigningKey = ed25519.PrivateKey(b)
		default:
			return c, &ConfigError{"APP_GDPR_SIGNING_KEY", "must hold a 32-byte Ed25519 seed or a 64-byte private key"}
		}
	}
	if v := getenv("APP_GDPR_KEY_ENCRYPTION_KEY"); v != "" {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(b) != 32 {
			return c, &ConfigError{"APP_GDPR_KEY_ENCRYPTION_KEY", "must be 32 bytes, base64"}
		}
		c.KEK = b
	}
	return c, nil
}

// warnPublicURL warns, outside memory mode, when APP_PUBLIC_URL is unset: every GDPR download
// link would then point at http://localhost:8000, whatever the listen address or the proxy
// in front of the server.
func warnPublicURL(c gdprConfig, memory bool, log *slog.Logger) {
	if memory || c.PublicURLSet {
		return
	}
	log.Warn("APP_PUBLIC_URL not set: GDPR download links point at " + c.PublicURL + "; set it to the URL clients reach this server at")
}
