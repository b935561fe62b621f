package postgres_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/audit"
)

// auditPlainStore is the append baseline: the same rows, batched by the same group commit,
// inserted with the same pipelined INSERT statements into a table of the same shape and
// indexes, in one round trip [BEGIN; INSERT...; COMMIT]: no chain head to lock and move, no
// triggers. Seqs come from an in-process counter.
type auditPlainStore struct {
	*postgres.AuditStore
	db   *postgres.DB
	seq  atomic.Int64
	mu   sync.Mutex
	head audit.Head // the baseline's head lives in memory: nothing to lock or move in SQL
}

func (p *auditPlainStore) InTx(context.Context) bool { return false }

func (p *auditPlainStore) Append(ctx context.Context, chain eusaas.TenantID, seal func(audit.Head) (audit.Batch, error)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	sealed, err := seal(p.head)
	if err != nil {
		return err
	}
	entries := sealed.Entries
	base := p.seq.Add(int64(len(entries))) - int64(len(entries))
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	for i, e := range entries {
		b.Queue(`INSERT INTO eusaas.audit_plain (chain, seq, id, tenant_id, actor_kind, actor_id, actor_tenant,
action, resource_type, resource_id, subject, changes, personal_names, personal_commitments, occurred_at, prev_hash, hash, tree_hashes)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
			[16]byte(e.Chain), base+int64(i)+1, [16]byte(e.ID), [16]byte(e.TenantID), string(e.Actor.Kind), e.Actor.ID,
			[16]byte(e.Actor.TenantID), e.Action, e.ResourceType, e.ResourceID, e.Subject, string(e.Changes),
			[]string{}, [][]byte{}, e.Timestamp, e.PrevHash[:], e.Hash[:], treeBytes(e.TreeHashes))
	}
	b.Queue("COMMIT")
	if err := p.db.Pool.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	p.head = sealed.Head
	return nil
}

// auditCountingStore counts group commits.
type auditCountingStore struct {
	audit.Store
	appends atomic.Int64
}

func (c *auditCountingStore) Append(ctx context.Context, chain eusaas.TenantID, seal func(audit.Head) (audit.Batch, error)) error {
	c.appends.Add(1)
	return c.Store.Append(ctx, chain, seal)
}

func auditBenchEvent(tenant eusaas.TenantID, i int) eusaas.AuditEvent {
	return eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.Actor{Kind: eusaas.ActorUser, ID: "0190f1c2-user", TenantID: tenant},
		Action: audit.ActionUpdate, ResourceType: "invoice", ResourceID: fmt.Sprintf("inv-%d", i),
		Changes: map[string]any{"status": map[string]any{"old": "DRAFT", "new": "ISSUED"}, "n": i}}
}

// BenchmarkAuditAppend: 32 concurrent writers on one chain. Each op is one round of 400
// entries through the audit log (chained: head lock, hash chain, triggers, signed
// checkpoints every 1000) followed by 400 through the baseline above (plain); rounds
// alternate so both see the same machine load. Reports both rates and their ratio.
//
//	go test ./adapters/postgres/ -run '^$' -bench AuditAppend -benchtime=10x -count 3
func BenchmarkAuditAppend(b *testing.B) {
	ctx := context.Background()
	db := auditDB(b)
	_, err := db.Pool.Exec(ctx, `CREATE TABLE eusaas.audit_plain (LIKE eusaas.audit_entries INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)`)
	require.NoError(b, err)
	signer := ed25519.NewKeyFromSeed(make([]byte, 32))
	chainedStore := &auditCountingStore{Store: postgres.NewAuditStore(db)}
	plainStore := &auditCountingStore{Store: &auditPlainStore{AuditStore: postgres.NewAuditStore(db), db: db}}
	chained, err := audit.NewService(audit.Deps{Store: chainedStore, Keys: postgres.NewAuditStore(db)}, audit.Options{Signer: signer})
	require.NoError(b, err)
	plain, err := audit.NewService(audit.Deps{Store: plainStore, Keys: postgres.NewAuditStore(db)}, audit.Options{})
	require.NoError(b, err)
	tenant := eusaas.NewTenantID()
	const round, writers = 400, 32
	var seq atomic.Int64
	// one runs round entries through svc with writers goroutines and returns the time taken.
	one := func(svc *audit.Service) time.Duration {
		var left atomic.Int64
		left.Store(round)
		done := make(chan error, writers)
		start := time.Now()
		for range writers {
			go func() {
				for left.Add(-1) >= 0 {
					if err := svc.Record(ctx, auditBenchEvent(tenant, int(seq.Add(1)))); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
		}
		for range writers {
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	var tc, tp time.Duration
	for b.Loop() {
		tc += one(chained)
		tp += one(plain)
	}
	n := float64(round * b.N)
	b.ReportMetric(n/tc.Seconds(), "chained-entries/s")
	b.ReportMetric(n/tp.Seconds(), "plain-entries/s")
	b.ReportMetric(tp.Seconds()/tc.Seconds(), "ratio")
	b.ReportMetric(n/float64(chainedStore.appends.Load()), "chained-entries/batch")
	b.ReportMetric(n/float64(plainStore.appends.Load()), "plain-entries/batch")
	r, err := chained.Verify(ctx, tenant)
	require.NoError(b, err)
	require.True(b, r.OK)
}

// BenchmarkAuditVerify: verifying a 20,000-entry chain (verify), against a plain scan of
// the same rows and columns with nothing computed (scan), the store's own streaming read
// without hashing (store-scan), and SHA-256 over the same canonical bytes held in memory
// (sha256). Each op runs each once over the whole chain; reports entries/s and ratios.
//
//	go test ./adapters/postgres/ -run '^$' -bench AuditVerify -benchtime=10x -count 3
func BenchmarkAuditVerify(b *testing.B) {
	ctx := context.Background()
	db := auditDB(b)
	store := postgres.NewAuditStore(db)
	signer := ed25519.NewKeyFromSeed(make([]byte, 32))
	svc, err := audit.NewService(audit.Deps{Store: store, Keys: store}, audit.Options{Signer: signer, CheckpointEvery: 5000})
	require.NoError(b, err)
	tenant := eusaas.NewTenantID()
	const n = 20000
	// Fill with concurrent writers so the group commit makes it quick.
	var next atomic.Int64
	done := make(chan error, 32)
	for range 32 {
		go func() {
			for {
				i := next.Add(1)
				if i > n {
					done <- nil
					return
				}
				if err := svc.Record(ctx, auditBenchEvent(tenant, int(i))); err != nil {
					done <- err
					return
				}
			}
		}()
	}
	for range 32 {
		require.NoError(b, <-done)
	}
	_, err = svc.Checkpoint(ctx, tenant)
	require.NoError(b, err)
	var encodings [][]byte
	_, err = store.Scan(ctx, tenant, func(e *audit.Entry) error {
		encodings = append(encodings, audit.AppendEncoding(nil, e))
		return nil
	})
	require.NoError(b, err)
	require.Len(b, encodings, n)
	v := svc.Verifier()
	verify := func() {
		r, err := v.Verify(ctx, tenant)
		if err != nil || !r.OK || r.Entries != n {
			b.Fatalf("verify: %v %+v", err, r.Finding)
		}
	}
	storeScan := func() {
		if _, err := store.Scan(ctx, tenant, func(*audit.Entry) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	scan := func() {
		rows, err := db.Pool.Query(ctx, `SELECT chain, seq, id, tenant_id, actor_kind, actor_id, actor_tenant, action, resource_type,
resource_id, subject, changes, personal_names, personal_commitments, occurred_at, prev_hash, hash
FROM eusaas.audit_entries WHERE chain = $1 ORDER BY seq`, tenant.UUID())
		require.NoError(b, err)
		count := 0
		for rows.Next() {
			var (
				c, id, tn, at                            [16]byte
				seq                                      int64
				kind, actor, act, rt, rid, subj, changes string
				names                                    []string
				commits                                  [][]byte
				ts                                       time.Time
				prev, hash                               []byte
			)
			if err := rows.Scan(&c, &seq, &id, &tn, &kind, &actor, &at, &act, &rt, &rid, &subj, &changes, &names, &commits, &ts, &prev, &hash); err != nil {
				b.Fatal(err)
			}
			count++
		}
		require.NoError(b, rows.Err())
		require.Equal(b, n, count)
	}
	var sink [32]byte
	hashAll := func() {
		for _, enc := range encodings {
			sink = sha256.Sum256(enc)
		}
	}
	timed := func(fn func()) time.Duration {
		start := time.Now()
		fn()
		return time.Since(start)
	}
	// Each op runs all four once, interleaved, so they share the machine's load.
	var tv, tss, ts, th time.Duration
	for b.Loop() {
		tv += timed(verify)
		tss += timed(storeScan)
		ts += timed(scan)
		th += timed(hashAll)
	}
	_ = sink
	total := float64(n * b.N)
	b.ReportMetric(total/tv.Seconds(), "verify-entries/s")
	b.ReportMetric(total/tss.Seconds(), "store-scan-entries/s")
	b.ReportMetric(total/ts.Seconds(), "scan-entries/s")
	b.ReportMetric(total/th.Seconds(), "sha256-entries/s")
	b.ReportMetric(ts.Seconds()/tv.Seconds(), "verify/scan")
	b.ReportMetric(th.Seconds()/tv.Seconds(), "verify/sha256")
}

func treeBytes(hs []audit.Hash) []byte {
	var b []byte
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}
