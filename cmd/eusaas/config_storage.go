package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/eusaas/eusaas/adapters/s3"
	"github.com/eusaas/eusaas/storage"
	"github.com/eusaas/eusaas/storage/fsstorage"
)

// storageConfig is where the platform keeps what it writes outside Postgres — GDPR export
// archives, erasure backups, audit checkpoint copies (APP_STORAGE_URL):
//
//	s3://BUCKET[/PREFIX]?endpoint=http://127.0.0.1:9000&region=eu-central-1[&sse=auto|AES256|none][&part_size_mib=16]
//	    with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN)
//	file:///var/lib/eusaas
//
// Unset, the server keeps today's behaviour: memory mode holds archives in process (or in
// APP_GDPR_ARCHIVE_DIR), Postgres mode in APP_GDPR_ARCHIVE_DIR (default $TMPDIR/eusaas-gdpr),
// which only works with one process — several replicas need a shared APP_STORAGE_URL.
//
//	APP_STORAGE_LOCK_DAYS  days each audit checkpoint copy is locked for when the bucket has
//	                       object lock (default 400; 0 disables)
//	APP_STORAGE_LOCK_MODE  GOVERNANCE (default) or COMPLIANCE
type storageConfig struct {
	URL      string // as given, "" when unset
	S3       *s3.Config
	Dir      string // file://
	LockDays int
	LockMode storage.RetentionMode
}

func loadStorageConfig(getenv func(string) string) (storageConfig, error) {
	c := storageConfig{URL: strings.TrimSpace(getenv("APP_STORAGE_URL")), LockDays: 400, LockMode: storage.Governance}
	if v := getenv("APP_STORAGE_LOCK_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 36500 {
			return c, &ConfigError{"APP_STORAGE_LOCK_DAYS", "must be an integer between 0 and 36500"}
		}
		c.LockDays = n
	}
	switch v := strings.ToUpper(getenv("APP_STORAGE_LOCK_MODE")); v {
	case "", "GOVERNANCE":
	case "COMPLIANCE":
		c.LockMode = storage.Compliance
	default:
		return c, &ConfigError{"APP_STORAGE_LOCK_MODE", "must be GOVERNANCE or COMPLIANCE"}
	}
	if c.URL == "" {
		return c, nil
	}
	scheme, _, _ := strings.Cut(c.URL, "://")
	switch scheme {
	case "s3":
		cfg, err := s3.ParseURL(c.URL)
		if err != nil {
			return c, &ConfigError{"APP_STORAGE_URL", "s3 URL: " + err.Error() + " (s3://BUCKET?endpoint=https://host&region=REGION)"}
		}
		cfg.AccessKey, cfg.SecretKey, cfg.SessionToken = getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN")
		if (cfg.AccessKey == "") != (cfg.SecretKey == "") {
			return c, &ConfigError{"AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together"}
		}
		c.S3 = &cfg
	case "file":
		u, err := url.Parse(c.URL)
		if err != nil || (u.Host != "" && u.Host != "localhost") || u.Path == "" || !filepath.IsAbs(u.Path) || u.RawQuery != "" {
			return c, &ConfigError{"APP_STORAGE_URL", "file URL must be file:///absolute/path"}
		}
		c.Dir = filepath.Clean(u.Path)
	default:
		return c, &ConfigError{"APP_STORAGE_URL", "must be s3://BUCKET?endpoint=...&region=... or file:///absolute/path"}
	}
	return c, nil
}

// openStorage opens the configured bucket; nil when APP_STORAGE_URL is unset. S3 is checked
// at once (bucket, credentials, SSE, object lock), so a wrong setting stops the start.
func openStorage(ctx context.Context, c storageConfig, log *slog.Logger) (storage.Bucket, error) {
	switch {
	case c.S3 != nil:
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		b, err := s3.Open(ctx, *c.S3)
		if err != nil {
			return nil, fmt.Errorf("APP_STORAGE_URL: %w", err)
		}
		f := b.Features()
		log.Info("object storage on S3", "bucket", c.S3.Bucket, "endpoint", c.S3.Endpoint.Host, "encryption", f.Encryption, "object_lock", f.Retention)
		return b, nil
	case c.Dir != "":
		b, err := fsstorage.New(c.Dir)
		if err != nil {
			return nil, &ConfigError{"APP_STORAGE_URL", "cannot create or open the directory " + c.Dir}
		}
		log.Info("object storage in a directory", "dir", c.Dir)
		return b, nil
	}
	return nil, nil
}

// legacyArchiveDir is where archives lie without APP_STORAGE_URL in Postgres mode.
func legacyArchiveDir(cfg gdprConfig) string {
	if cfg.ArchiveDir != "" {
		return cfg.ArchiveDir
	}
	return filepath.Join(os.TempDir(), "eusaas-gdpr")
}
