// Package s3 is the storage.Bucket on any S3-compatible server (AWS S3, MinIO, Ceph RGW,
// the European clouds' object stores), on github.com/minio/minio-go/v7 (ADR 0017).
//
// Configuration is one URL (APP_STORAGE_URL):
//
//		s3://BUCKET[/PREFIX]?endpoint=http://127.0.0.1:9000&region=eu-central-1&sse=auto&part_size_mib=16
//
//	  - endpoint: the server's base URL (http or https); default https://s3.<region>.amazonaws.com
//	  - region: default us-east-1
//	  - sse: auto (default: SSE-S3 on every object when the server accepts it, checked once at
//	    Open), AES256 (SSE-S3 required: Open fails when the server refuses it), none
//	  - part_size_mib: the multipart part size, 5..5120 (default 16); a Put holds one part in
//	    memory, never the object
//	  - path_style: true (default for a non-AWS endpoint) or false (virtual-host buckets)
//
// Credentials come from the standard AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and
// AWS_SESSION_TOKEN) variables.
//
// Object lock: when the bucket was created with object lock, Put honours RetainUntil
// (GOVERNANCE or COMPLIANCE) and Delete refuses locked objects. Such buckets are versioned,
// so Delete removes every version of the key: erasure must leave no old version behind.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/storage"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

// Config is a parsed storage URL.
type Config struct {
	Bucket   string
	Prefix   string // key prefix inside the bucket ("" or ending in "/")
	Endpoint *url.URL
	Region   string
	SSE      string // auto, AES256, none
	PartSize uint64
	// PathStyle addresses the bucket in the path instead of the host name.
	PathStyle bool
	// AccessKey, SecretKey and SessionToken are the credentials (ParseURL leaves them to
	// the caller: cmd/eusaas reads the AWS_* variables).
	AccessKey, SecretKey, SessionToken string
}

// ParseURL parses an s3:// URL. Errors say what is wrong and never repeat credentials.
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, errors.New("not a URL")
	}
	if u.Scheme != "s3" {
		return Config{}, errors.New("the scheme must be s3")
	}
	if u.User != nil {
		return Config{}, errors.New("credentials do not belong in the URL: use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	c := Config{Bucket: u.Host, Region: "us-east-1", SSE: "auto", PartSize: 16 << 20}
	if c.Bucket == "" {
		return Config{}, errors.New("the URL names no bucket (s3://BUCKET)")
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		if !storage.ValidKey(p) {
			return Config{}, errors.New("the key prefix after the bucket is not a valid key")
		}
		c.Prefix = p + "/"
	}
	q := u.Query()
	for k := range q {
		switch k {
		case "endpoint", "region", "sse", "part_size_mib", "path_style":
		default:
			return Config{}, fmt.Errorf("unknown parameter %q (endpoint, region, sse, part_size_mib, path_style)", k)
		}
	}
	if v := q.Get("region"); v != "" {
		c.Region = v
	}
	ep := q.Get("endpoint")
	aws := ep == ""
	if aws {
		ep = "https://s3." + c.Region + ".amazonaws.com"
	}
	e, err := url.Parse(ep)
	if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" || (e.Path != "" && e.Path != "/") {
		return Config{}, errors.New("endpoint must be an http or https base URL without a path")
	}
	c.Endpoint = e
	c.PathStyle = !aws
	if v := q.Get("path_style"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, errors.New("path_style must be true or false")
		}
		c.PathStyle = b
	}
	switch v := q.Get("sse"); v {
	case "", "auto":
	case "AES256", "none":
		c.SSE = v
	default:
		return Config{}, errors.New("sse must be auto, AES256 or none")
	}
	if v := q.Get("part_size_mib"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 5 || n > 5120 {
			return Config{}, errors.New("part_size_mib must be an integer between 5 and 5120")
		}
		c.PartSize = uint64(n) << 20
	}
	return c, nil
}

// Bucket is a bucket (or a prefix in one) on an S3 server.
type Bucket struct {
	c        *minio.Client
	cfg      Config
	sse      encrypt.ServerSide
	features storage.Features
}

var _ storage.Bucket = (*Bucket)(nil)

// probeKey is the object Open writes and deletes to learn what the server supports.
const probeKey = ".eusaas-probe"

// Open connects to the bucket and checks it: the bucket exists and the credentials may
// write and delete in it (a probe object), whether SSE-S3 is accepted, whether object lock
// is enabled. A misconfiguration thus fails at startup, not at the first export.
func Open(ctx context.Context, cfg Config) (*Bucket, error) {
	var creds *credentials.Credentials
	if cfg.AccessKey != "" || cfg.SecretKey != "" {
		creds = credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken)
	} else {
		creds = credentials.NewStaticV4("", "", "") // anonymous: a public or policy-open bucket
	}
	lookup := minio.BucketLookupDNS
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(cfg.Endpoint.Host, &minio.Options{Creds: creds, Secure: cfg.Endpoint.Scheme == "https",
		Region: cfg.Region, BucketLookup: lookup})
	if err != nil {
		return nil, err
	}
	b := &Bucket{c: c, cfg: cfg}
	ok, err := c.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3: checking bucket %q at %s: %w", cfg.Bucket, cfg.Endpoint.Host, err)
	}
	if !ok {
		return nil, fmt.Errorf("s3: bucket %q does not exist at %s", cfg.Bucket, cfg.Endpoint.Host)
	}
	if lock, _, _, _, err := c.GetObjectLockConfig(ctx, cfg.Bucket); err == nil && lock == "Enabled" {
		b.features.Retention = true
	}
	probe := func(sse encrypt.ServerSide) error {
		_, err := c.PutObject(ctx, cfg.Bucket, cfg.Prefix+probeKey, bytes.NewReader([]byte("probe")), 5,
			minio.PutObjectOptions{ServerSideEncryption: sse})
		return err
	}
	switch cfg.SSE {
	case "none":
		err = probe(nil)
	case "AES256":
		if err = probe(encrypt.NewSSE()); err != nil {
			return nil, fmt.Errorf("s3: the server refused SSE-S3 (sse=AES256) in bucket %q: %w", cfg.Bucket, err)
		}
		b.sse = encrypt.NewSSE()
	default:
		if probe(encrypt.NewSSE()) == nil {
			b.sse = encrypt.NewSSE()
		} else {
			err = probe(nil)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("s3: cannot write to bucket %q: %w", cfg.Bucket, err)
	}
	b.features.Encryption = b.sse != nil
	if err := b.removeAll(ctx, cfg.Prefix+probeKey); err != nil {
		return nil, fmt.Errorf("s3: cannot delete from bucket %q: %w", cfg.Bucket, err)
	}
	return b, nil
}

// Features implements storage.Bucket.
func (b *Bucket) Features() storage.Features { return b.features }

// ctxReader ends a streaming Put when ctx does, between parts' reads.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// translate maps S3 error codes to error kinds.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	r := minio.ToErrorResponse(err)
	switch {
	case r.Code == "NoSuchKey" || r.StatusCode == http.StatusNotFound:
		return storage.ErrNotFound
	case strings.Contains(strings.ToLower(r.Message), "worm"), r.Code == "ObjectLocked":
		// MinIO answers "Object is WORM protected", AWS AccessDenied with a message naming
		// object lock; neither has a code of its own.
		return storage.ErrLocked
	case r.Code == "SlowDown", r.Code == "ServiceUnavailable", r.StatusCode == http.StatusServiceUnavailable:
		return eusaas.E(eusaas.Unavailable, "storage: the S3 server is unavailable").Wrap(err)
	}
	return err
}

// Put implements storage.Bucket: a multipart upload of unknown size, one part buffered at a
// time; a failing reader aborts the upload, so no partial object appears.
func (b *Bucket) Put(ctx context.Context, key string, r io.Reader, opts storage.PutOptions) (storage.ObjectInfo, error) {
	if err := storage.CheckKey(key); err != nil {
		return storage.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, err
	}
	po := minio.PutObjectOptions{ContentType: opts.ContentType, PartSize: b.cfg.PartSize, ServerSideEncryption: b.sse}
	if !opts.RetainUntil.IsZero() {
		if !b.features.Retention {
			return storage.ObjectInfo{}, storage.ErrRetentionUnsupported
		}
		po.Mode = minio.Governance
		if opts.RetentionMode == storage.Compliance {
			po.Mode = minio.Compliance
		}
		po.RetainUntilDate = opts.RetainUntil
	}
	up, err := b.c.PutObject(ctx, b.cfg.Bucket, b.cfg.Prefix+key, ctxReader{ctx, r}, -1, po)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return storage.ObjectInfo{}, cerr
		}
		return storage.ObjectInfo{}, translate(err)
	}
	return storage.ObjectInfo{Key: key, Size: up.Size, ModTime: up.LastModified, ContentType: opts.ContentType,
		RetainUntil: opts.RetainUntil, Encrypted: b.sse != nil}, nil
}

func (b *Bucket) info(key string, oi minio.ObjectInfo) storage.ObjectInfo {
	info := storage.ObjectInfo{Key: key, Size: oi.Size, ModTime: oi.LastModified, ContentType: oi.ContentType}
	if v := oi.Metadata.Get("X-Amz-Object-Lock-Retain-Until-Date"); v != "" {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			info.RetainUntil = t
		}
	}
	info.Encrypted = oi.Metadata.Get("X-Amz-Server-Side-Encryption") != ""
	return info
}

// Get implements storage.Bucket.
func (b *Bucket) Get(ctx context.Context, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	if err := storage.CheckKey(key); err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	// Core's GetObject is one GET whose body streams: a missing key fails here, and a
	// concurrent replace cannot mix two versions (minio.Client's lazy Object would send a
	// second, ETag-conditioned request and fail with PreconditionFailed).
	body, oi, _, err := minio.Core{Client: b.c}.GetObject(ctx, b.cfg.Bucket, b.cfg.Prefix+key, minio.GetObjectOptions{})
	if err != nil {
		return nil, storage.ObjectInfo{}, translate(err)
	}
	return body, b.info(key, oi), nil
}

// Stat implements storage.Bucket.
func (b *Bucket) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	if err := storage.CheckKey(key); err != nil {
		return storage.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, err
	}
	oi, err := b.c.StatObject(ctx, b.cfg.Bucket, b.cfg.Prefix+key, minio.StatObjectOptions{})
	if err != nil {
		return storage.ObjectInfo{}, translate(err)
	}
	return b.info(key, oi), nil
}

// Delete implements storage.Bucket.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if err := storage.CheckKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return b.removeAll(ctx, b.cfg.Prefix+key)
}

var _ storage.PartialRemover = (*Bucket)(nil)

// RemovePartial implements storage.PartialRemover: it aborts the incomplete multipart
// uploads of key (their parts are stored, and billed, until aborted).
func (b *Bucket) RemovePartial(ctx context.Context, key string) error {
	if err := storage.CheckKey(key); err != nil {
		return err
	}
	return translate(b.c.RemoveIncompleteUpload(ctx, b.cfg.Bucket, b.cfg.Prefix+key))
}

// removeAll deletes every version (and delete marker) of name; on an unversioned bucket
// that is the one object.
func (b *Bucket) removeAll(ctx context.Context, name string) error {
	if !b.features.Retention {
		// Versioning may still be on without object lock; listing versions covers both.
		if err := translate(b.c.RemoveObject(ctx, b.cfg.Bucket, name, minio.RemoveObjectOptions{})); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
	}
	for v := range b.c.ListObjects(ctx, b.cfg.Bucket, minio.ListObjectsOptions{Prefix: name, WithVersions: true}) {
		if v.Err != nil {
			if errors.Is(translate(v.Err), storage.ErrNotFound) {
				return nil
			}
			return translate(v.Err)
		}
		if v.Key != name {
			continue
		}
		err := b.c.RemoveObject(ctx, b.cfg.Bucket, name, minio.RemoveObjectOptions{VersionID: v.VersionID})
		if err = translate(err); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
	}
	return nil
}

// List implements storage.Bucket.
func (b *Bucket) List(ctx context.Context, prefix string) ([]storage.ObjectInfo, error) {
	if !storage.ValidPrefix(prefix) {
		return nil, storage.CheckKey("")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []storage.ObjectInfo
	for oi := range b.c.ListObjects(ctx, b.cfg.Bucket, minio.ListObjectsOptions{Prefix: b.cfg.Prefix + prefix, Recursive: true}) {
		if oi.Err != nil {
			return nil, translate(oi.Err)
		}
		key := strings.TrimPrefix(oi.Key, b.cfg.Prefix)
		if key == probeKey {
			continue
		}
		out = append(out, storage.ObjectInfo{Key: key, Size: oi.Size, ModTime: oi.LastModified, ContentType: oi.ContentType})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}
