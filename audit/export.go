package audit

import (
	"context"
	"log/slog"
	"time"

	"github.com/eusaas/eusaas"
)

// EntrySink receives exported entries of one chain in ascending seq order (a SIEM
// transport: syslog, JSON lines). Send returns nil only once the entries were handed on;
// on an error the exporter sends them again later (at-least-once).
type EntrySink interface {
	Send(ctx context.Context, entries []Entry) error
}

// CursorStore keeps the exporters' cursors: per exporter name and chain, the last seq sent.
type CursorStore interface {
	ExportCursor(ctx context.Context, name string, chain eusaas.TenantID) (int64, error)
	SetExportCursor(ctx context.Context, name string, chain eusaas.TenantID, seq int64) error
}

// Exporter ships every entry of every chain to a sink, resuming from its cursor: the cursor
// moves only after the sink accepted a batch, so a crash or an unreachable receiver loses
// nothing; entries of a batch whose acceptance was not recorded are sent again (the
// at-least-once window is one batch per chain).
type Exporter struct {
	Store   Store
	Cursors CursorStore
	Sink    EntrySink
	// Name identifies the exporter's cursors (several exporters can ship to several sinks).
	Name string
	// Batch is the number of entries per Send (default 500).
	Batch int
	// Personal ships personal values (IP address, user agent, ...) too; by default only
	// their names go out.
	Personal bool
	// Interval between runs of Run (default 5 s).
	Interval time.Duration
	Logger   *slog.Logger
}

// ExportOnce ships every entry not yet shipped and returns how many it sent.
func (x *Exporter) ExportOnce(ctx context.Context) (int, error) {
	chains, err := x.Store.Chains(ctx)
	if err != nil {
		return 0, err
	}
	batch := x.Batch
	if batch <= 0 {
		batch = 500
	}
	sent := 0
	for _, chain := range chains {
		cur, err := x.Cursors.ExportCursor(ctx, x.Name, chain)
		if err != nil {
			return sent, err
		}
		head, err := x.Store.Head(ctx, chain)
		if err != nil {
			return sent, err
		}
		for cur < head.Size {
			to := min(cur+int64(batch), head.Size)
			var es []Entry
			next := cur + 1
			err := x.Store.ScanRange(ctx, chain, cur+1, to, func(e *Entry) error {
				if e.Seq != next { // a gap would be skipped for good: stop and report
					return eusaas.Errorf(eusaas.FailedPrecondition, "audit export: chain %s has no entry %d", chain, next)
				}
				next++
				if !x.Personal {
					for i := range e.Personal {
						e.Personal[i].Value = ""
					}
				}
				es = append(es, *e)
				return nil
			})
			if err != nil {
				return sent, err
			}
			if len(es) == 0 {
				break
			}
			if err := x.Sink.Send(ctx, es); err != nil {
				return sent, err
			}
			cur = es[len(es)-1].Seq
			if err := x.Cursors.SetExportCursor(ctx, x.Name, chain, cur); err != nil {
				return sent, err
			}
			sent += len(es)
		}
	}
	return sent, nil
}

// Run exports every Interval until ctx ends; failures (an unreachable receiver) are logged
// and retried on the next round from the cursor.
func (x *Exporter) Run(ctx context.Context) error {
	iv := x.Interval
	if iv <= 0 {
		iv = 5 * time.Second
	}
	log := x.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		if _, err := x.ExportOnce(ctx); err != nil && ctx.Err() == nil {
			log.Warn("audit export: will retry from the cursor", "exporter", x.Name, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
