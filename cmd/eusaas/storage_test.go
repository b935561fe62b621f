package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/internal/miniotest"
	"github.com/eusaas/eusaas/storage"
)

func TestStorageConfig(t *testing.T) {
	c, err := loadStorageConfig(env(map[string]string{
		"APP_STORAGE_URL":   "s3://eusaas?endpoint=http://127.0.0.1:9000&region=eu-central-1",
		"AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret", "APP_STORAGE_LOCK_MODE": "compliance",
	}))
	require.NoError(t, err)
	require.Equal(t, "eusaas", c.S3.Bucket)
	require.Equal(t, "eu-central-1", c.S3.Region)
	require.Equal(t, "id", c.S3.AccessKey)
	require.Equal(t, storage.Compliance, c.LockMode)
	require.Equal(t, 400, c.LockDays)

	c, err = loadStorageConfig(env(map[string]string{"APP_STORAGE_URL": "file:///var/lib/eusaas"}))
	require.NoError(t, err)
	require.Equal(t, "/var/lib/eusaas", c.Dir)

	c, err = loadStorageConfig(env(nil))
	require.NoError(t, err)
	require.Nil(t, c.S3)
	require.Empty(t, c.Dir)

	for _, bad := range []map[string]string{
		{"APP_STORAGE_URL": "ftp://host/x"},
		{"APP_STORAGE_URL": "file://relative/path"},
		{"APP_STORAGE_URL": "file:///x?y=1"},
		{"APP_STORAGE_URL": "s3://"},
		{"APP_STORAGE_URL": "s3://b?endpoint=127.0.0.1:9000"},
		{"APP_STORAGE_URL": "s3://key:secret@b"},
		{"APP_STORAGE_URL": "s3://b?sse=yes"},
		{"APP_STORAGE_URL": "s3://b", "AWS_ACCESS_KEY_ID": "only-the-id"},
		{"APP_STORAGE_LOCK_DAYS": "-1"},
		{"APP_STORAGE_LOCK_MODE": "forever"},
	} {
		_, err := loadStorageConfig(env(bad))
		var ce *ConfigError
		require.ErrorAs(t, err, &ce, bad)
		require.NotContains(t, err.Error(), "secret", "a config error never repeats a credential")
	}
}

// An S3 bucket that is not there, or credentials that do not work, stop the start with an
// error naming APP_STORAGE_URL, before anything is served.
func TestStorageUnreachableStopsStart(t *testing.T) {
	srv := miniotest.Start(t)
	var out bytes.Buffer
	cfg := map[string]string{"APP_STORAGE_URL": "s3://missing-bucket?endpoint=" + srv.Endpoint + "&region=" + srv.Region,
		"AWS_ACCESS_KEY_ID": srv.AccessKey, "AWS_SECRET_ACCESS_KEY": srv.SecretKey, "APP_HTTP_ADDR": "127.0.0.1:0"}
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(k string) string { return cfg[k] }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := m.Run(ctx, []string{"serve"})
	require.NotEqual(t, 0, code)
	require.Contains(t, out.String(), "APP_STORAGE_URL")
	require.Contains(t, out.String(), "missing-bucket")
	require.NotContains(t, out.String(), srv.SecretKey)
}

// The whole walk-through in Postgres mode with archives, backups and checkpoint copies in
// a real MinIO bucket with object lock; after the tenant's erasure no export archive is
// left in the bucket — in no version either (an object-locked bucket is versioned, and a
// plain delete there would only hide the archive behind a delete marker).
func TestEndToEndPostgresS3(t *testing.T) {
	srv := miniotest.Start(t)
	bucket := srv.Bucket(t, true)
	extra := map[string]string{}
	for _, kv := range srv.Env(bucket) {
		k, v, _ := strings.Cut(kv, "=")
		extra[k] = v
	}
	endToEndPostgres(t, extra)
	var exports, backups []string
	for o := range srv.Client.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
		require.NoError(t, o.Err)
		switch {
		case strings.HasPrefix(o.Key, "gdpr/exports/"):
			exports = append(exports, o.Key+" "+o.VersionID)
		case strings.HasPrefix(o.Key, "gdpr/backups/"):
			backups = append(backups, o.Key)
		}
	}
	require.Empty(t, exports, "export archives (or versions of them) left in the bucket after the erasure")
	require.NotEmpty(t, backups, "the erasure's encrypted backup lies in the bucket")
}

// With APP_STORAGE_URL the health report checks the storage, and an export in memory mode
// lands in the bucket (any replica could serve it).
func TestStorageHealthAndMemoryModeArchives(t *testing.T) {
	srv := miniotest.Start(t)
	bucket := srv.Bucket(t, false)
	env := map[string]string{"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword}
	for _, kv := range srv.Env(bucket) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	c := startApp(t, env)
	r := c.expect(200, c.do("GET", "/health/ready", "", nil))
	require.Contains(t, string(r.body), `"storage"`, "readiness reports the storage: %s", r.body)
	walkThrough(t, c, nil)
	var keys []string
	for o := range srv.Client.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		require.NoError(t, o.Err)
		keys = append(keys, o.Key)
	}
	require.Contains(t, keys, "audit/checkpoint-key.pem")
	var backups int
	for _, k := range keys {
		require.False(t, strings.HasPrefix(k, "gdpr/exports/"), "export archive %s left after the erasure", k)
		if strings.HasPrefix(k, "gdpr/backups/") {
			backups++
		}
	}
	require.Positive(t, backups, "the erasure backup is in the bucket: %v", keys)
}
