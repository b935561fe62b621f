package memaudit_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/audit/audittest"
	"github.com/eusaas/eusaas/audit/memaudit"
)

func TestConformance(t *testing.T) {
	audittest.Run(t, audittest.Harness{
		New: func(t *testing.T) audittest.Stores {
			s := memaudit.NewStore()
			return audittest.Stores{
				Store:  s,
				Keys:   s,
				Tamper: tamper{s},
				Contains: func(_ context.Context, v string) (bool, error) {
					return s.Contains(v), nil
				},
			}
		},
	})
}

// tamper does to the memory store what an attacker could do to a table.
type tamper struct{ s *memaudit.Store }

func (m tamper) each(chain eusaas.TenantID, fn func(e *audit.Entry)) {
	m.s.Rewrite(chain, func(es []audit.Entry, h audit.Head) ([]audit.Entry, audit.Head) {
		for i := range es {
			fn(&es[i])
		}
		return es, h
	})
}

func (m tamper) EditAction(_ context.Context, chain eusaas.TenantID, seq int64, action string) error {
	m.each(chain, func(e *audit.Entry) {
		if e.Seq == seq {
			e.Action = action
		}
	})
	return nil
}

func (m tamper) Delete(_ context.Context, chain eusaas.TenantID, seq int64) error {
	m.s.Rewrite(chain, func(es []audit.Entry, h audit.Head) ([]audit.Entry, audit.Head) {
		out := es[:0]
		for _, e := range es {
			if e.Seq != seq {
				out = append(out, e)
			}
		}
		return out, h
	})
	return nil
}

func (m tamper) Renumber(_ context.Context, chain eusaas.TenantID, from, delta int64) error {
	m.each(chain, func(e *audit.Entry) {
		if e.Seq >= from {
			e.Seq += delta
		}
	})
	return nil
}

func (m tamper) Insert(_ context.Context, e audit.Entry) error {
	m.s.Rewrite(e.Chain, func(es []audit.Entry, h audit.Head) ([]audit.Entry, audit.Head) {
		return append(es, e), h
	})
	return nil
}

func (m tamper) Swap(_ context.Context, chain eusaas.TenantID, a, b int64) error {
	m.each(chain, func(e *audit.Entry) {
		switch e.Seq {
		case a:
			e.Seq = b
		case b:
			e.Seq = a
		}
	})
	return nil
}

func (m tamper) EditPersonal(_ context.Context, entry uuid.UUID, name, value string) error {
	m.s.RewritePersonal(entry, name, value)
	return nil
}

func (m tamper) Rollback(_ context.Context, chain eusaas.TenantID, size int64) error {
	m.s.Rewrite(chain, func(es []audit.Entry, h audit.Head) ([]audit.Entry, audit.Head) {
		out := es[:0]
		for _, e := range es {
			if e.Seq <= size {
				out = append(out, e)
				if e.Seq == size {
					h = audit.Head{Size: size, Hash: e.Hash}
				}
			}
		}
		return out, h
	})
	return nil
}

func (m tamper) Rewrite(_ context.Context, chain eusaas.TenantID, entries []audit.Entry, head *audit.Head) error {
	m.s.Rewrite(chain, func(es []audit.Entry, h audit.Head) ([]audit.Entry, audit.Head) {
		for _, n := range entries {
			for i := range es {
				if es[i].Seq == n.Seq {
					personal := es[i].Personal
					es[i] = n
					es[i].Personal = personal
				}
			}
		}
		if head != nil {
			h = audit.Head{Size: head.Size, Hash: head.Hash, Root: head.Root, Frontier: head.Frontier, Sig: h.Sig}
		}
		return es, h
	})
	return nil
}
