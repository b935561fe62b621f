package postgres_test

import (
	"context"
	"crypto/ed25519"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/archive"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/gdpr/gdprtest"
	"github.com/eusaas/eusaas/gdpr/memgdpr"
	"github.com/eusaas/eusaas/internal/pgtest"
	"github.com/eusaas/eusaas/jobs"
)

// gdprBenchRows is the tenant size of the GDPR benchmarks (GDPR_BENCH_ROWS, default 1e6):
// one tenth users, nine tenths notes.
func gdprBenchRows() int {
	if n, err := strconv.Atoi(os.Getenv("GDPR_BENCH_ROWS")); err == nil && n >= 10 {
		return n
	}
	return 1_000_000
}

// gdprDiscard is an archive store that counts bytes and keeps nothing: the benchmark measures
// reading, encoding, compressing and hashing, not the disk.
type gdprDiscard struct{ n int64 }

type gdprDiscardWriter struct{ d *gdprDiscard }

func (w gdprDiscardWriter) Write(p []byte) (int, error) { w.d.n += int64(len(p)); return len(p), nil }
func (gdprDiscardWriter) Commit() error                 { return nil }
func (gdprDiscardWriter) Abort() error                  { return nil }

func (d *gdprDiscard) Create(context.Context, string) (gdpr.ArchiveWriter, error) {
	return gdprDiscardWriter{d}, nil
}
func (d *gdprDiscard) Open(context.Context, string) (io.ReadCloser, int64, error) {
	return nil, 0, eusaas.E(eusaas.NotFound, "discarded")
}
func (d *gdprDiscard) Delete(context.Context, string) error { return nil }

// gdprPeakRSS returns VmHWM (peak resident set) in KiB; gdprResetPeak resets it (Linux).
func gdprPeakRSS() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return -1
}

func gdprResetPeak() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// BenchmarkGDPRExport compares the Art. 20 export (JSON, zip, SHA-256, signed manifest) of a
// tenant with COPY ... TO STDOUT of the same tables in the same run, and reports the peak
// RSS of the process during the export.
//
//	go test ./adapters/postgres/ -run '^$' -bench GDPRExport -benchtime 1x
func BenchmarkGDPRExport(b *testing.B) {
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(b))
	if err := db.MigratePlatform(ctx); err != nil {
		b.Fatal(err)
	}
	tenant := eusaas.NewTenantID()
	rows := gdprBenchRows()
	total := gdprSeed(b, db, tenant, rows/10, 9)
	data := postgres.NewGDPRData(db)
	tables, err := data.Tables(ctx, tenant)
	if err != nil {
		b.Fatal(err)
	}

	copyAll := func(b *testing.B) {
		conn, err := db.Pool.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range tables {
			if _, err := conn.Conn().PgConn().CopyTo(ctx, io.Discard, "COPY "+pgx.Identifier{tenant.SchemaName(), t.Name}.Sanitize()+" TO STDOUT"); err != nil {
				b.Fatal(err)
			}
		}
		conn.Release()
	}
	// One untimed pass first: the first scan after the bulk insert sets hint bits and warms
	// the cache, which would otherwise be charged to whichever side runs first.
	copyAll(b)
	b.Run("copy_to_stdout", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			copyAll(b)
		}
		b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})

	for _, f := range []gdpr.Format{gdpr.FormatJSON, gdpr.FormatCSV} {
		b.Run("export_"+string(f), func(b *testing.B) {
			_, key, _ := ed25519.GenerateKey(nil)
			store, q, sink := memgdpr.NewStore(), &gdprtest.Queue{}, &gdprDiscard{}
			svc, err := gdpr.NewService(gdpr.Deps{Requests: store, Policies: store, Holds: store, Keys: store, Archives: sink, Data: data, Queue: q}, gdpr.Options{SigningKey: key})
			if err != nil {
				b.Fatal(err)
			}
			reg := jobs.NewRegistry()
			svc.RegisterJobs(reg)
			h, _ := reg.Handler(gdpr.JobExport)
			var peak int64
			for i := 0; i < b.N; i++ {
				if _, err := svc.RequestExport(ctx, tenant, gdpr.ExportRequest{Format: f}); err != nil {
					b.Fatal(err)
				}
				gdprResetPeak()
				job := q.Jobs[len(q.Jobs)-1]
				if err := h(ctx, jobs.Job{Kind: job.Kind, Args: job.Args, Attempt: 1, MaxAttempts: 1}); err != nil {
					b.Fatal(err)
				}
				peak = max(peak, gdprPeakRSS())
			}
			b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/1024, "peakRSS_MiB")
			b.ReportMetric(float64(sink.n)/float64(b.N)/(1<<20), "archive_MiB")
		})
	}
}

// BenchmarkGDPRTenantErasure times the whole seven-step saga (with the encrypted backup of
// every row to files) for a tenant of GDPR_BENCH_ROWS rows.
//
//	go test ./adapters/postgres/ -run '^$' -bench GDPRTenantErasure -benchtime 1x
func BenchmarkGDPRTenantErasure(b *testing.B) {
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(b))
	if err := db.MigratePlatform(ctx); err != nil {
		b.Fatal(err)
	}
	rows := gdprBenchRows()
	store, err := postgres.NewGDPRStore(db, nil)
	if err != nil {
		b.Fatal(err)
	}
	arch, err := archive.NewFS(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	data := postgres.NewGDPRData(db)
	_, key, _ := ed25519.GenerateKey(nil)
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		tenant := eusaas.NewTenantID()
		gdprSeed(b, db, tenant, rows/10, 9)
		svc, err := gdpr.NewService(gdpr.Deps{Tx: db, Requests: store, Policies: store, Holds: store, Keys: store, Archives: arch, Data: data, Schemas: data,
			Queue: &gdprtest.Queue{}, Recorder: &gdprtest.Recorder{}, Lifecycle: gdprtest.NewLifecycle(tenant),
			Cache: gdprtest.NewCache(tenant)}, gdpr.Options{SigningKey: key})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if err := svc.Deprovision(ctx, tenant); err != nil {
			b.Fatal(err)
		}
		if err := svc.RunTenantErasure(ctx, tenant); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		if gdprSchemaExists(b, db, tenant) {
			b.Fatal("schema survived")
		}
	}
	b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/erasure")
	b.ReportMetric(float64(rows)*float64(b.N)/elapsed.Seconds(), "rows/s")
}
