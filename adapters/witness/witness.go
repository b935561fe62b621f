// Package witness publishes audit checkpoints to a witness outside the database over HTTP
// (APP_AUDIT_WITNESS_URL), and holds a small reference witness service.
//
// The protocol is deliberately plain: the log POSTs each checkpoint as JSON (the form
// audit.Checkpoint marshals to: chain, size, head and root hash, the legacy signature and the
// signed note) to the URL; GET URL?chain=<id> returns the latest checkpoint the witness
// holds for the chain (404 when none). A witness that co-signs adds its own signature line to
// the note it stores and returns.
package witness

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
)

// Client is an HTTP witness. It implements audit.CheckpointSink and audit.CheckpointSource.
type Client struct {
	URL    string
	Client *http.Client // default: 10 s timeout
}

var (
	_ audit.CheckpointSink   = (*Client)(nil)
	_ audit.CheckpointSource = (*Client)(nil)
)

// NewClient returns a client of the witness at rawURL (http or https).
func NewClient(rawURL string) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, eusaas.E(eusaas.InvalidArgument, "witness URL must be an http or https URL")
	}
	return &Client{URL: rawURL, Client: &http.Client{Timeout: 10 * time.Second}}, nil
}

// Write implements audit.CheckpointSink.
func (c *Client) Write(ctx context.Context, cp audit.Checkpoint) error {
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Client.Do(req)
	if err != nil {
		return eusaas.E(eusaas.Unavailable, "audit witness unreachable").Wrap(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return eusaas.Errorf(eusaas.Unavailable, "audit witness refused checkpoint %d: HTTP %d", cp.Size, resp.StatusCode)
	}
	return nil
}

// Latest implements audit.CheckpointSource.
func (c *Client) Latest(ctx context.Context, chain eusaas.TenantID) (audit.Checkpoint, bool, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return audit.Checkpoint{}, false, err
	}
	q := u.Query()
	q.Set("chain", chain.String())
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return audit.Checkpoint{}, false, err
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		return audit.Checkpoint{}, false, eusaas.E(eusaas.Unavailable, "audit witness unreachable").Wrap(err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return audit.Checkpoint{}, false, nil
	case resp.StatusCode != http.StatusOK:
		return audit.Checkpoint{}, false, eusaas.Errorf(eusaas.Unavailable, "audit witness: HTTP %d", resp.StatusCode)
	}
	var cp audit.Checkpoint
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&cp); err != nil {
		return audit.Checkpoint{}, false, eusaas.E(eusaas.Unavailable, "audit witness sent an invalid checkpoint").Wrap(err)
	}
	if cp.Chain != chain {
		return audit.Checkpoint{}, false, eusaas.E(eusaas.Unavailable, "audit witness sent another chain's checkpoint")
	}
	return cp, true, nil
}

// Handler is a reference witness service: it accepts a checkpoint only when its note
// verifies under the log's key and it does not go back (a smaller size than the latest it
// holds, or the same size with another root, is refused with 409: the log was rolled back
// or forked), stores it in Store, and serves the latest per chain.
type Handler struct {
	Store interface {
		audit.CheckpointSink
		audit.CheckpointSource
	}
	// LogKey is the log's checkpoint public key and LogOrigin its note name/origin prefix.
	LogKey    ed25519.PublicKey
	LogOrigin string
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		chain, err := eusaas.ParseTenantID(r.URL.Query().Get("chain"))
		if err != nil && r.URL.Query().Get("chain") != audit.PlatformChain.String() {
			http.Error(w, "chain must be a UUID", http.StatusBadRequest)
			return
		}
		cp, ok, err := h.Store.Latest(r.Context(), chain)
		if err != nil {
			http.Error(w, "storage error", http.StatusInternalServerError)
			return
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(cp)
	case http.MethodPost:
		var cp audit.Checkpoint
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&cp); err != nil {
			http.Error(w, "invalid checkpoint", http.StatusBadRequest)
			return
		}
		if err := h.check(r.Context(), cp); err != nil {
			status := http.StatusBadRequest
			if errors.Is(err, errBackwards) {
				status = http.StatusConflict
			}
			http.Error(w, err.Error(), status)
			return
		}
		if err := h.Store.Write(r.Context(), cp); err != nil {
			http.Error(w, "storage error", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

var errBackwards = errors.New("checkpoint goes back from the latest witnessed")

func (h *Handler) check(ctx context.Context, cp audit.Checkpoint) error {
	origin := h.LogOrigin
	if origin == "" {
		origin = audit.DefaultLogOrigin
	}
	v, _, err := audit.NoteVerifier(origin, h.LogKey)
	if err != nil {
		return err
	}
	size, root, err := audit.OpenCheckpointNote(cp.Note, audit.Origin(origin, cp.Chain), v)
	if err != nil {
		return fmt.Errorf("checkpoint note does not verify: %w", err)
	}
	if size != cp.Size || root != cp.Root {
		return errors.New("checkpoint fields disagree with its note")
	}
	last, ok, err := h.Store.Latest(ctx, cp.Chain)
	if err != nil {
		return err
	}
	switch {
	case !ok:
	case cp.Size < last.Size:
		return fmt.Errorf("%w: size %d < %d", errBackwards, cp.Size, last.Size)
	case cp.Size == last.Size && cp.Root != last.Root:
		return fmt.Errorf("%w: another root at size %d", errBackwards, cp.Size)
	}
	return nil
}
