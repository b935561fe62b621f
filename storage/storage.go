// Package storage is the port to object storage: where the platform keeps what does not
// belong in Postgres (GDPR export archives, erasure backups, audit checkpoint copies), so
// that every replica reads what any other wrote.
//
// A Bucket is a flat namespace of keys (slash-separated, like S3). Put streams: an adapter
// never needs the size up front and never holds a whole object in memory, and nothing is
// visible under a key until the reader has been read to its end (a failed or canceled Put
// leaves the previous object, if any, in place). Adapters: memstorage (in process),
// fsstorage (a directory) and adapters/s3 (any S3-compatible server), all passing
// storagetest.Run.
package storage

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/eusaas/eusaas"
)

// RetentionMode is an object-lock mode, as S3 names them.
type RetentionMode string

const (
	// Governance protects an object until its retain-until date from everyone who lacks the
	// right to bypass governance retention.
	Governance RetentionMode = "GOVERNANCE"
	// Compliance protects an object until its retain-until date from everyone, the root
	// account included.
	Compliance RetentionMode = "COMPLIANCE"
)

// PutOptions tune one Put.
type PutOptions struct {
	// ContentType is stored with the object and returned by Get and Stat.
	ContentType string
	// RetainUntil, when set, locks the object against deletion and overwrite until then
	// (object lock). An adapter without Features.Retention refuses such a Put with
	// FailedPrecondition instead of silently storing an unprotected object.
	RetainUntil time.Time
	// RetentionMode is the lock's mode; empty means Governance.
	RetentionMode RetentionMode
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key         string
	Size        int64
	ModTime     time.Time
	ContentType string
	// RetainUntil is the object's lock, zero when it has none.
	RetainUntil time.Time
	// Encrypted tells whether the server encrypted the object at rest.
	Encrypted bool
}

// Features say what an adapter can do beyond the basics.
type Features struct {
	// Retention: Put honours RetainUntil, and Delete refuses a locked object.
	Retention bool
	// Encryption: the adapter asks the server to encrypt every object at rest (S3 SSE) and
	// ObjectInfo.Encrypted reports it.
	Encryption bool
}

// Bucket is the object storage port. Keys are validated with ValidKey.
type Bucket interface {
	// Put stores the bytes r yields under key, replacing an existing object. The object
	// appears atomically once r returns io.EOF; an error from r or ctx aborts it.
	Put(ctx context.Context, key string, r io.Reader, opts PutOptions) (ObjectInfo, error)
	// Get opens key for reading; NotFound when absent. The caller closes the reader.
	Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error)
	// Stat describes key; NotFound when absent.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// Delete removes key for good (every stored version of it); deleting a missing key is
	// not an error; a locked object is refused with FailedPrecondition.
	Delete(ctx context.Context, key string) error
	// List returns the objects whose keys start with prefix, sorted by key.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
	// Features reports the adapter's optional capabilities.
	Features() Features
}

// PartialRemover is an optional extension of Bucket: RemovePartial deletes what a Put of
// key left behind when its process died mid-stream (a temporary file, an incomplete
// multipart upload), so a resumed write does not leave the interrupted one's bytes lying
// around. Removing nothing is not an error. Only call it when no Put of key is running.
type PartialRemover interface {
	RemovePartial(ctx context.Context, key string) error
}

// ErrNotFound is the error Get and Stat return for a missing key.
var ErrNotFound = eusaas.E(eusaas.NotFound, "storage: object not found")

// ErrLocked is the error Delete and Put return for an object under retention.
var ErrLocked = eusaas.E(eusaas.FailedPrecondition, "storage: object is under retention")

// ErrRetentionUnsupported is Put's answer to RetainUntil on an adapter without retention.
var ErrRetentionUnsupported = eusaas.E(eusaas.FailedPrecondition, "storage: this storage cannot lock objects (retention)")

// ValidKey reports whether key is acceptable to every adapter: non-empty, at most 1024
// bytes, slash-separated segments that are neither empty, "." nor "..", no backslash, no
// control character. The filesystem adapter maps keys to paths, so this also keeps a key
// from leaving its root.
func ValidKey(key string) bool {
	if key == "" || len(key) > 1024 || strings.ContainsRune(key, '\\') {
		return false
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// CheckKey returns an InvalidArgument error for a key ValidKey refuses.
func CheckKey(key string) error {
	if !ValidKey(key) {
		return eusaas.E(eusaas.InvalidArgument, "storage: invalid object key")
	}
	return nil
}

// ValidPrefix reports whether prefix may be listed: empty, or a key prefix without
// backslash, control characters or "." / ".." segments.
func ValidPrefix(prefix string) bool {
	if prefix == "" {
		return true
	}
	return ValidKey(strings.TrimSuffix(prefix, "/")) || ValidKey(prefix+"x")
}
