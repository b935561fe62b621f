package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"log/slog"
	"slices"
	"strings"

	"github.com/eusaas/eusaas/gdpr"
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
	// KEK seals backup keys at rest in Postgres (APP_GDPR_KEY_ENCRYPTION_KEY, base64 32
	// bytes). Postgres mode refuses to serve without it: unsealed keys in the database would
	// let any database backup undo crypto-shredding.
	KEK []byte
	// KEKPrevious is the KEK before a rotation (APP_GDPR_KEY_ENCRYPTION_KEY_PREVIOUS): keys
	// sealed with it still open until `eusaas gdpr rotate-kek` re-seals them.
	KEKPrevious []byte
	// PublicURL prefixes download URLs (APP_PUBLIC_URL, default http://localhost:8000).
	PublicURL string
	// PublicURLSet tells whether APP_PUBLIC_URL was given (the default is only right for a
	// local server on :8000).
	PublicURLSet bool
	// SubProcessors are the recipients of personal data listed in the Art. 30(2) record
	// (APP_GDPR_SUBPROCESSORS: "name|purpose|location" entries separated by ";").
	SubProcessors []gdpr.SubProcessor
	// TestPauseAt and TestPauseDir are a test hook, inert unless APP_TEST_GDPR_PAUSE_AT is
	// set (testPause).
	TestPauseAt  []string
	TestPauseDir string
}

func loadGDPRConfig(getenv func(string) string) (gdprConfig, error) {
	c := gdprConfig{PublicURL: "http://localhost:8000"}
	if v := getenv("APP_GDPR_ARCHIVE_DIR"); v != "" {
		c.ArchiveDir = v
	}
	if v := getenv("APP_TEST_GDPR_PAUSE_AT"); v != "" {
		for _, p := range strings.Split(v, ",") {
			if !slices.Contains(gdpr.Checkpoints, p) {
				return c, &ConfigError{"APP_TEST_GDPR_PAUSE_AT", "must list points among " + strings.Join(gdpr.Checkpoints, ", ")}
			}
			c.TestPauseAt = append(c.TestPauseAt, p)
		}
		c.TestPauseDir = getenv("APP_TEST_GDPR_PAUSE_DIR")
		if c.TestPauseDir == "" {
			return c, &ConfigError{"APP_TEST_GDPR_PAUSE_DIR", "must name a directory when APP_TEST_GDPR_PAUSE_AT is set"}
		}
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
	for _, k := range []struct {
		name string
		dst  *[]byte
	}{{"APP_GDPR_KEY_ENCRYPTION_KEY", &c.KEK}, {"APP_GDPR_KEY_ENCRYPTION_KEY_PREVIOUS", &c.KEKPrevious}} {
		if v := getenv(k.name); v != "" {
			b, err := parseKEK(v)
			if err != nil {
				return c, &ConfigError{k.name, err.Error()}
			}
			*k.dst = b
		}
	}
	if v := strings.TrimSpace(getenv("APP_GDPR_SUBPROCESSORS")); v != "" {
		for _, entry := range strings.Split(v, ";") {
			parts := strings.Split(entry, "|")
			if len(parts) != 3 || strings.TrimSpace(parts[0]) == "" || strings.TrimSpace(parts[2]) == "" {
				return c, &ConfigError{"APP_GDPR_SUBPROCESSORS", `must be "name|purpose|location" entries separated by ";"`}
			}
			c.SubProcessors = append(c.SubProcessors, gdpr.SubProcessor{Name: strings.TrimSpace(parts[0]),
				Purpose: strings.TrimSpace(parts[1]), Location: strings.TrimSpace(parts[2])})
		}
	}
	if c.KEKPrevious != nil && c.KEK == nil {
		return c, &ConfigError{"APP_GDPR_KEY_ENCRYPTION_KEY_PREVIOUS", "is the KEK before a rotation: set the new one in APP_GDPR_KEY_ENCRYPTION_KEY too"}
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

// kekSize is the length of a GDPR key-encryption key (AES-256).
const kekSize = 32

// parseKEK decodes a base64 KEK; the error never holds the value.
func parseKEK(v string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil || len(b) != kekSize {
		return nil, errors.New("must be 32 bytes, base64 (make one with `eusaas gdpr keygen`)")
	}
	return b, nil
}

// errNoKEK is Postgres mode's refusal to start without a KEK.
var errNoKEK = &ConfigError{"APP_GDPR_KEY_ENCRYPTION_KEY", "is required with PostgreSQL: it seals the per-tenant backup keys, " +
	"which a database backup would otherwise undo; make one with `eusaas gdpr keygen` and keep it in your secret store, " +
	"never in the database or its backups"}
