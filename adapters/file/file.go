// Package file holds adapters that keep data in local files. Today: the audit checkpoint
// sink, which keeps a copy of every signed checkpoint outside the database, so deleting
// checkpoints (and rows) from the database cannot hide a truncated audit chain.
package file

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
)

// CheckpointSink appends each checkpoint as one JSON line to <dir>/audit-<chain>.jsonl and
// fsyncs it. It implements audit.CheckpointSink and audit.CheckpointSource.
type CheckpointSink struct {
	dir string
	mu  sync.Mutex
}

var (
	_ audit.CheckpointSink   = (*CheckpointSink)(nil)
	_ audit.CheckpointSource = (*CheckpointSink)(nil)
)

// NewCheckpointSink creates dir if needed and returns a sink writing into it.
func NewCheckpointSink(dir string) (*CheckpointSink, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	return &CheckpointSink{dir: dir}, nil
}

func (s *CheckpointSink) path(chain eusaas.TenantID) string {
	return filepath.Join(s.dir, "audit-"+chain.String()+".jsonl")
}

// Write implements audit.CheckpointSink. A checkpoint no larger than the file's latest is
// not written again (idempotent retries).
func (s *CheckpointSink) Write(ctx context.Context, c audit.Checkpoint) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	last, ok, err := s.latest(c.Chain)
	if err != nil {
		return err
	}
	if ok && last.Size >= c.Size {
		return nil
	}
	line, err := json.Marshal(c)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(s.path(c.Chain), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Latest implements audit.CheckpointSource: the checkpoint of largest size in the chain's
// file. A torn last line (crash during a write) is skipped.
func (s *CheckpointSink) Latest(ctx context.Context, chain eusaas.TenantID) (audit.Checkpoint, bool, error) {
	if err := ctx.Err(); err != nil {
		return audit.Checkpoint{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latest(chain)
}

func (s *CheckpointSink) latest(chain eusaas.TenantID) (audit.Checkpoint, bool, error) {
	f, err := os.Open(s.path(chain))
	if errors.Is(err, fs.ErrNotExist) {
		return audit.Checkpoint{}, false, nil
	}
	if err != nil {
		return audit.Checkpoint{}, false, err
	}
	defer f.Close()
	var out audit.Checkpoint
	found := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var c audit.Checkpoint
		if json.Unmarshal(sc.Bytes(), &c) != nil || c.Chain != chain {
			continue
		}
		if !found || c.Size > out.Size {
			out, found = c, true
		}
	}
	return out, found, sc.Err()
}

// PublicKeyFile is the name of the published checkpoint key inside the sink's directory.
const PublicKeyFile = "audit-checkpoint-key.pem"

// WritePublicKey publishes the checkpoint verification key as a PEM "PUBLIC KEY" (PKIX)
// file in the sink's directory.
func (s *CheckpointSink) WritePublicKey(pub ed25519.PublicKey) error {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.dir, PublicKeyFile), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
}
