package platform

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/storage"
)

// ArchiveStore is gdpr.ArchiveStore on object storage: export archives and encrypted
// backups live in the bucket under Prefix + their name, so whichever replica serves a
// download streams the archive the worker wrote.
type ArchiveStore struct {
	Bucket storage.Bucket
	// Prefix is prepended to archive names ("gdpr/" in a shared bucket; "" keeps the layout
	// of the former archive directory, so archives written before stay readable).
	Prefix string
}

var (
	_ gdpr.ArchiveStore   = (*ArchiveStore)(nil)
	_ gdpr.PartialRemover = (*ArchiveStore)(nil)
)

// RemovePartial implements gdpr.PartialRemover through the bucket's storage.PartialRemover
// (nothing to remove on a bucket without partial writes).
func (a *ArchiveStore) RemovePartial(ctx context.Context, name string) error {
	if pr, ok := a.Bucket.(storage.PartialRemover); ok {
		return pr.RemovePartial(ctx, a.Prefix+name)
	}
	return nil
}

// NewArchiveStore returns archives in bucket under prefix.
func NewArchiveStore(bucket storage.Bucket, prefix string) *ArchiveStore {
	return &ArchiveStore{Bucket: bucket, Prefix: prefix}
}

// archiveWriter streams Write calls through a pipe into one Put running beside the
// writer, so an archive is never held in memory: the object appears on Commit (the pipe
// reaches EOF) and Abort fails the Put's reader, which stores nothing.
type archiveWriter struct {
	pw   *io.PipeWriter
	done chan error
	fin  bool
}

var errArchiveAborted = errors.New("archive aborted")

func (w *archiveWriter) Write(p []byte) (int, error) {
	if w.fin {
		return 0, errors.New("archive: writer already finished")
	}
	return w.pw.Write(p)
}

func (w *archiveWriter) finish(err error) error {
	if w.fin {
		return errors.New("archive: writer already finished")
	}
	w.fin = true
	_ = w.pw.CloseWithError(err)
	return <-w.done
}

func (w *archiveWriter) Commit() error { return w.finish(nil) }

// Abort fails the Put's reader; the Put's error (whatever the adapter made of the abort)
// is the expected outcome, not a failure of Abort.
func (w *archiveWriter) Abort() error {
	if w.fin {
		return nil
	}
	_ = w.finish(errArchiveAborted)
	return nil
}

// Create implements gdpr.ArchiveStore.
func (a *ArchiveStore) Create(ctx context.Context, name string) (gdpr.ArchiveWriter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := storage.CheckKey(a.Prefix + name); err != nil {
		return nil, eusaas.E(eusaas.InvalidArgument, "archive: invalid name")
	}
	pr, pw := io.Pipe()
	w := &archiveWriter{pw: pw, done: make(chan error, 1)}
	go func() {
		_, err := a.Bucket.Put(ctx, a.Prefix+name, pr, storage.PutOptions{ContentType: "application/octet-stream"})
		// Unblock a writer still writing when the Put failed early.
		_ = pr.CloseWithError(cmpErr(err))
		w.done <- err
	}()
	return w, nil
}

func cmpErr(err error) error {
	if err == nil {
		return io.ErrClosedPipe
	}
	return err
}

// Open implements gdpr.ArchiveStore: the archive streams from storage.
func (a *ArchiveStore) Open(ctx context.Context, name string) (io.ReadCloser, int64, error) {
	if err := storage.CheckKey(a.Prefix + name); err != nil {
		return nil, 0, eusaas.E(eusaas.InvalidArgument, "archive: invalid name")
	}
	rc, info, err := a.Bucket.Get(ctx, a.Prefix+name)
	if eusaas.KindOf(err) == eusaas.NotFound {
		return nil, 0, eusaas.E(eusaas.NotFound, "archive not found")
	}
	if err != nil {
		return nil, 0, err
	}
	return rc, info.Size, nil
}

// Delete implements gdpr.ArchiveStore.
func (a *ArchiveStore) Delete(ctx context.Context, name string) error {
	if err := storage.CheckKey(a.Prefix + name); err != nil {
		return eusaas.E(eusaas.InvalidArgument, "archive: invalid name")
	}
	return a.Bucket.Delete(ctx, a.Prefix+name)
}

// CheckpointStore keeps a copy of every signed audit checkpoint in object storage, one
// immutable object per checkpoint (Prefix + chain + "/" + zero-padded size + ".json"), so
// every replica and the verifier read one record, and — when the bucket has object lock —
// each copy is locked for Retain (a database operator who deletes checkpoints and rows can
// then neither delete nor rewrite the copies). It implements audit.CheckpointSink and
// audit.CheckpointSource, and serves as a witness service's store.
type CheckpointStore struct {
	Bucket storage.Bucket
	Prefix string // default "audit/checkpoints/"
	// Retain locks each copy for this long when the bucket supports retention (zero: no
	// lock); Mode is the lock's mode (default Governance).
	Retain time.Duration
	Mode   storage.RetentionMode
	Clock  eusaas.Clock
}

var (
	_ audit.CheckpointSink   = (*CheckpointStore)(nil)
	_ audit.CheckpointSource = (*CheckpointStore)(nil)
)

func (s *CheckpointStore) prefix() string {
	if s.Prefix == "" {
		return "audit/checkpoints/"
	}
	return s.Prefix
}

func (s *CheckpointStore) key(c audit.Checkpoint) string {
	return fmt.Sprintf("%s%s/%020d.json", s.prefix(), c.Chain, c.Size)
}

// Write implements audit.CheckpointSink. A checkpoint of a size already stored is not
// written again (retries, and a second writer that lost the checkpoint lease, are no-ops).
func (s *CheckpointStore) Write(ctx context.Context, c audit.Checkpoint) error {
	key := s.key(c)
	if _, err := s.Bucket.Stat(ctx, key); err == nil {
		return nil
	} else if eusaas.KindOf(err) != eusaas.NotFound {
		return err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	opts := storage.PutOptions{ContentType: "application/json"}
	if s.Retain > 0 && s.Bucket.Features().Retention {
		now := time.Now
		if s.Clock != nil {
			now = s.Clock.Now
		}
		opts.RetainUntil, opts.RetentionMode = now().Add(s.Retain).Truncate(time.Second), s.Mode
	}
	_, err = s.Bucket.Put(ctx, key, bytes.NewReader(b), opts)
	if errors.Is(err, storage.ErrLocked) {
		return nil // stored (and locked) by another writer meanwhile
	}
	return err
}

// Latest implements audit.CheckpointSource: the checkpoint of largest size. The keys sort
// by size (zero-padded), so that is the last object listed that parses.
func (s *CheckpointStore) Latest(ctx context.Context, chain eusaas.TenantID) (audit.Checkpoint, bool, error) {
	objs, err := s.Bucket.List(ctx, s.prefix()+chain.String()+"/")
	if err != nil {
		return audit.Checkpoint{}, false, err
	}
	for i := len(objs) - 1; i >= 0; i-- {
		name := strings.TrimSuffix(objs[i].Key[strings.LastIndex(objs[i].Key, "/")+1:], ".json")
		if _, err := strconv.ParseInt(name, 10, 64); err != nil {
			continue
		}
		rc, _, err := s.Bucket.Get(ctx, objs[i].Key)
		if eusaas.KindOf(err) == eusaas.NotFound {
			continue
		}
		if err != nil {
			return audit.Checkpoint{}, false, err
		}
		var c audit.Checkpoint
		err = json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&c)
		rc.Close()
		if err != nil || c.Chain != chain {
			continue
		}
		return c, true, nil
	}
	return audit.Checkpoint{}, false, nil
}

// CheckpointKeyObject is the key of the published checkpoint verification key.
const CheckpointKeyObject = "audit/checkpoint-key.pem"

// PublishCheckpointKey stores the checkpoint verification key (PEM "PUBLIC KEY") at
// CheckpointKeyObject, for verifiers that read the bucket.
func PublishCheckpointKey(ctx context.Context, b storage.Bucket, pub ed25519.PublicKey) error {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return err
	}
	body := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	// Every replica publishes at start; an unchanged key is not written again (in a
	// versioned bucket each write would add a version).
	if rc, _, err := b.Get(ctx, CheckpointKeyObject); err == nil {
		old, rerr := io.ReadAll(io.LimitReader(rc, 1<<16))
		rc.Close()
		if rerr == nil && bytes.Equal(old, body) {
			return nil
		}
	}
	_, err = b.Put(ctx, CheckpointKeyObject, bytes.NewReader(body), storage.PutOptions{ContentType: "application/x-pem-file"})
	return err
}
