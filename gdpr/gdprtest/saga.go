package gdprtest

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

// SagaEnv is one fresh environment with a seeded tenant, for the tenant erasure suite.
type SagaEnv struct {
	Stores
	Data    gdpr.TenantData
	Schemas gdpr.SchemaDropper
	// SchemaExists reports whether the tenant's data store still exists.
	SchemaExists func() bool
	// Rows is the number of rows seeded in the tenant's tables.
	Rows int
}

// SagaHarness builds environments for RunSaga.
type SagaHarness struct {
	New func(t *testing.T, tenant eusaas.TenantID) SagaEnv
}

type errCrash struct{ step int }

func (e errCrash) Error() string { return fmt.Sprintf("injected crash after step %d", e.step) }

// RunSaga checks the tenant erasure saga over real stores: interrupted after each of the
// seven steps in turn and resumed by a new service instance over the same stores, every
// run ends DELETED with the data store gone, the cache empty, exactly one completion audit
// entry, a verifiable certificate and a backup that decrypts with the tenant key until the
// key is shredded.
func RunSaga(t *testing.T, h SagaHarness) {
	ctx := context.Background()
	_, key, _ := ed25519.GenerateKey(nil)
	for crashAt := gdpr.StepFreeze; crashAt <= gdpr.StepMarkDeleted; crashAt++ {
		t.Run(fmt.Sprintf("CrashAfterStep%d_%s", crashAt, gdpr.StepNames[crashAt]), func(t *testing.T) {
			tenant := eusaas.NewTenantID()
			env := h.New(t, tenant)
			clock := eusaas.NewFakeClock(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
			rec, life, cache, queue := &Recorder{}, NewLifecycle(tenant), NewCache(tenant), &Queue{}
			deps := gdpr.Deps{Tx: env.Tx, Requests: env.Requests, Policies: env.Policies, Holds: env.Holds, Keys: env.Keys, Archives: env.Archives, Data: env.Data,
				Queue: queue, Recorder: rec, Lifecycle: life, Schemas: env.Schemas, Cache: cache}
			crashed := false
			first := newService(t, deps, gdpr.Options{Clock: clock, SigningKey: key,
				AfterStep: func(_ eusaas.TenantID, step int) error {
					if step == crashAt && !crashed {
						crashed = true
						return errCrash{step}
					}
					return nil
				}})
			if err := first.Deprovision(ctx, tenant); err != nil {
				t.Fatal(err)
			}
			if len(queue.Jobs) != 1 || queue.Jobs[0].Kind != gdpr.JobTenantErasure {
				t.Fatalf("jobs enqueued: %+v", queue.Jobs)
			}
			var crash errCrash
			if err := first.RunTenantErasure(ctx, tenant); !errors.As(err, &crash) {
				t.Fatalf("first run: %v", err)
			}
			r, err := env.Requests.TenantErasure(ctx, tenant)
			must(t, err)
			for _, st := range r.Steps {
				if st.Done != (st.Step <= crashAt) {
					t.Fatalf("after crash at %d, step %d done=%v", crashAt, st.Step, st.Done)
				}
			}
			if crashAt < gdpr.StepMarkDeleted && r.Status == gdpr.StatusCompleted {
				t.Fatal("completed before the last step")
			}

			// "Restart": a new service over the same stores resumes the saga; a second DELETE
			// of the interrupted erasure enqueues its job again.
			clock.Advance(time.Minute)
			second := newService(t, deps, gdpr.Options{Clock: clock, SigningKey: key})
			must(t, second.Deprovision(ctx, tenant))
			wantJobs := 2
			if crashAt == gdpr.StepMarkDeleted {
				wantJobs = 1 // the crash came after the saga was stored COMPLETED
			}
			if len(queue.Jobs) != wantJobs || queue.Jobs[wantJobs-1].Kind != gdpr.JobTenantErasure {
				t.Fatalf("resume not enqueued: %d jobs", len(queue.Jobs))
			}
			must(t, second.RunTenantErasure(ctx, tenant))
			must(t, second.RunTenantErasure(ctx, tenant)) // a redelivered job is a no-op
			must(t, second.Deprovision(ctx, tenant))      // so is a DELETE after completion
			if len(queue.Jobs) != wantJobs {
				t.Fatalf("a completed erasure was enqueued again: %d jobs", len(queue.Jobs))
			}

			if s := life.Get(tenant); s != "DELETED" {
				t.Fatalf("tenant status %s", s)
			}
			if env.SchemaExists() {
				t.Fatal("tenant schema still exists")
			}
			if n := cache.Len(tenant); n != 0 {
				t.Fatalf("cache holds %d entries", n)
			}
			if n := rec.Count(tenant, gdpr.ActionTenantErasureCompleted); n != 1 {
				t.Fatalf("%d completion audit entries, want 1", n)
			}
			if n := rec.Count(tenant, gdpr.ActionTenantErasureRequested); n != 1 {
				t.Fatalf("%d intent audit entries, want 1", n)
			}
			if last := rec.Events[len(rec.Events)-1]; last.Action != gdpr.ActionTenantErasureCompleted {
				t.Fatalf("last audit entry %s, want the completion entry", last.Action)
			}
			r, err = second.TenantErasure(ctx, tenant)
			must(t, err)
			if r.Status != gdpr.StatusCompleted || r.Certificate == nil {
				t.Fatalf("saga %s, certificate %v", r.Status, r.Certificate != nil)
			}
			cert, err := r.Certificate.Verify(second.PublicKey())
			must(t, err)
			total := 0
			for _, n := range cert.Counts {
				total += n
			}
			if total != env.Rows || len(cert.Steps) != 7 || cert.Backup == nil || len(cert.AuditEntries) != 2 {
				t.Fatalf("certificate: rows %d (want %d), steps %d, backup %v, entries %d", total, env.Rows, len(cert.Steps), cert.Backup, len(cert.AuditEntries))
			}
			for _, st := range cert.Steps {
				if !st.Done || st.DoneAt.IsZero() {
					t.Fatalf("certificate step %d not done", st.Step)
				}
			}

			// The backup decrypts with the tenant's key and is itself a verifiable archive.
			k, err := env.Keys.Key(ctx, tenant)
			must(t, err)
			if gdpr.KeyID(k.Material) != cert.Backup.KeyID {
				t.Fatal("certificate names another key")
			}
			rc, _, err := env.Archives.Open(ctx, cert.Backup.Archive)
			must(t, err)
			plain, err := gdpr.OpenSealed(rc, k.Material)
			must(t, err)
			body, err := io.ReadAll(plain)
			rc.Close()
			must(t, err)
			res, err := gdpr.VerifyArchive(bytes.NewReader(body), int64(len(body)), second.PublicKey())
			must(t, err)
			rows := int64(0)
			for _, f := range res.Manifest.Files {
				rows += f.Rows
			}
			if rows != int64(env.Rows) {
				t.Fatalf("backup holds %d rows, want %d", rows, env.Rows)
			}
			if _, err := zip.NewReader(bytes.NewReader(body), int64(len(body))); err != nil {
				t.Fatal(err)
			}

			// Crypto-shredding: once backup_retention_days pass the key and backup are gone.
			must(t, second.ShredKeys(ctx))
			if k, _ := env.Keys.Key(ctx, tenant); k.Material == nil {
				t.Fatal("key destroyed before its time")
			}
			clock.Advance(31 * 24 * time.Hour)
			must(t, second.ShredKeys(ctx))
			k, err = env.Keys.Key(ctx, tenant)
			must(t, err)
			if k.Material != nil || k.DestroyedAt.IsZero() {
				t.Fatal("key not destroyed")
			}
			if _, _, err := env.Archives.Open(ctx, cert.Backup.Archive); eusaas.KindOf(err) != eusaas.NotFound {
				t.Fatalf("backup still there: %v", err)
			}
			// The certificate stays retrievable after deletion and shredding.
			r, err = second.TenantErasure(ctx, tenant)
			must(t, err)
			if _, err := r.Certificate.Verify(second.PublicKey()); err != nil {
				t.Fatal(err)
			}
		})
	}

	t.Run("ConcurrentRunsLoseOnStaleVersion", func(t *testing.T) {
		tenant := eusaas.NewTenantID()
		env := h.New(t, tenant)
		rec, life, queue := &Recorder{}, NewLifecycle(tenant), &Queue{}
		deps := gdpr.Deps{Tx: env.Tx, Requests: env.Requests, Policies: env.Policies, Holds: env.Holds, Keys: env.Keys, Archives: env.Archives, Data: env.Data,
			Queue: queue, Recorder: rec, Lifecycle: life, Schemas: env.Schemas, Cache: NewCache(tenant)}
		// Two processes (two service instances) run the same saga: the one that stored a step
		// first wins; the other fails at its next update and, retried, finds the work done.
		a := newService(t, deps, gdpr.Options{SigningKey: key})
		must(t, a.Deprovision(ctx, tenant))
		b := newService(t, deps, gdpr.Options{SigningKey: key, AfterStep: func(_ eusaas.TenantID, step int) error {
			if step == gdpr.StepBackup {
				// While b sits between steps, a runs the whole saga.
				must(t, a.RunTenantErasure(ctx, tenant))
			}
			return nil
		}})
		err := b.RunTenantErasure(ctx, tenant)
		if eusaas.KindOf(err) != eusaas.Aborted {
			t.Fatalf("stale run: %v", err)
		}
		must(t, b.RunTenantErasure(ctx, tenant))
		if n := rec.Count(tenant, gdpr.ActionTenantErasureCompleted); n != 1 {
			t.Fatalf("%d completion entries", n)
		}
		if life.Get(tenant) != "DELETED" || env.SchemaExists() {
			t.Fatal("not erased")
		}
	})

	t.Run("LegalHoldBlocks", func(t *testing.T) {
		tenant := eusaas.NewTenantID()
		env := h.New(t, tenant)
		queue := &Queue{}
		svc := newService(t, gdpr.Deps{Tx: env.Tx, Requests: env.Requests, Policies: env.Policies, Holds: env.Holds, Keys: env.Keys, Archives: env.Archives, Data: env.Data,
			Queue: queue, Recorder: &Recorder{}, Lifecycle: NewLifecycle(tenant), Schemas: env.Schemas}, gdpr.Options{SigningKey: key})
		hold, err := svc.PlaceHold(ctx, tenant, "litigation 2026-17")
		must(t, err)
		err = svc.Deprovision(ctx, tenant)
		if !errors.Is(err, gdpr.ErrLegalHold) || eusaas.KindOf(err) != eusaas.FailedPrecondition {
			t.Fatalf("Deprovision under hold: %v", err)
		}
		if !bytes.Contains([]byte(eusaas.MessageOf(err)), []byte(hold.ID)) {
			t.Fatalf("error does not name the hold: %q", eusaas.MessageOf(err))
		}
		if len(queue.Jobs) != 0 || !env.SchemaExists() {
			t.Fatal("erasure started under a legal hold")
		}
		must(t, svc.ReleaseHold(ctx, tenant, hold.ID))
		must(t, svc.Deprovision(ctx, tenant))
		must(t, svc.RunTenantErasure(ctx, tenant))
		if env.SchemaExists() {
			t.Fatal("schema survives erasure")
		}
	})
}

// newService builds a Service the suite expects to be valid.
func newService(t *testing.T, d gdpr.Deps, o gdpr.Options) *gdpr.Service {
	t.Helper()
	svc, err := gdpr.NewService(d, o)
	must(t, err)
	return svc
}
