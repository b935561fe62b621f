package gdpr_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

// leaseTTL is the tests' lease TTL: short, so a renewal (every TTL/3, real time) happens
// while a test holds a run paused.
const leaseTTL = 60 * time.Millisecond

// A process that died holding a request's lease leaves the request unfinished; once the lease
// expires, Sweep enqueues the request once and the new run completes it.
func TestSweepResumesADeadProcessRun(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	r, err := e.svc.RequestExport(ctx, e.tenant, gdpr.ExportRequest{Format: gdpr.FormatJSON})
	require.NoError(t, err)
	// The dead process took the lease (as the first run does) and renewed it last at now.
	ok, err := e.leases.AcquireLease(ctx, r.ID, "dead-process", e.clock.Now(), e.clock.Now().Add(gdpr.DefaultLeaseTTL))
	require.NoError(t, err)
	require.True(t, ok)
	// The queued job finds the lease held and leaves the request to its holder.
	require.Equal(t, 1, e.runner.WorkAvailable(ctx))
	got, err := e.svc.Request(ctx, e.tenant, gdpr.KindExport, r.ID)
	require.NoError(t, err)
	require.Equal(t, gdpr.StatusPending, got.Status)

	n, err := e.svc.Sweep(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "a live lease is not swept")
	e.clock.Advance(gdpr.DefaultLeaseTTL)
	n, err = e.svc.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n, "the expired lease's request is enqueued")
	n, err = e.svc.Sweep(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "marked queued: a second sweep (another process) does not enqueue it again")

	require.Equal(t, 1, e.runner.WorkAvailable(ctx))
	got, err = e.svc.Request(ctx, e.tenant, gdpr.KindExport, r.ID)
	require.NoError(t, err)
	require.Equal(t, gdpr.StatusCompleted, got.Status)
	_, err = e.leases.Lease(ctx, r.ID)
	require.Equal(t, eusaas.NotFound, eusaas.KindOf(err), "the finished run released its lease")
}

// A request whose job was lost before any run took its lease (a process killed as it took
// the job) is enqueued again once it waited QueueGrace.
func TestSweepEnqueuesALostJob(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	r, _, err := e.svc.RequestErasure(ctx, e.tenant, "u2", "")
	require.NoError(t, err)
	_, err = e.runner.CancelTenant(ctx, e.tenant.String()) // the lost job
	require.NoError(t, err)
	n, err := e.svc.Sweep(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "a fresh request's job is most likely still queued")
	e.clock.Advance(gdpr.DefaultQueueGrace)
	n, err = e.svc.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, 1, e.runner.WorkAvailable(ctx))
	got, err := e.svc.Request(ctx, e.tenant, gdpr.KindSubjectErasure, r.ID)
	require.NoError(t, err)
	require.Equal(t, gdpr.StatusCompleted, got.Status)
}

// A failed attempt leaves its retry to the queue: Sweep does not add a second job for it (for
// a day, in case the queue discarded the job).
func TestSweepLeavesAFailedAttemptToItsRetry(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	boom := errors.New("audit store down")
	e.checkpoint = func(_ context.Context, point string) error {
		if point == "subject_erasure/audit" {
			return boom
		}
		return nil
	}
	r, _, err := e.svc.RequestErasure(ctx, e.tenant, "u1", "")
	require.NoError(t, err)
	require.Equal(t, 1, e.runner.WorkAvailable(ctx))
	l, err := e.leases.Lease(ctx, r.ID)
	require.NoError(t, err)
	require.Empty(t, l.Owner, "a queue marker")
	e.clock.Advance(time.Hour)
	n, err := e.svc.Sweep(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	e.checkpoint = nil
	require.Positive(t, e.runner.WorkAvailable(ctx), "the queue's retry (and the hourly export cleanup)")
	got, err := e.svc.Request(ctx, e.tenant, gdpr.KindSubjectErasure, r.ID)
	require.NoError(t, err)
	require.Equal(t, gdpr.StatusCompleted, got.Status)
	e.clock.Advance(25 * time.Hour)
	n, err = e.svc.Sweep(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "finished requests are never swept")
}

// A run renews its lease while it works; one whose lease another process took over (it
// stalled past the TTL) is canceled instead of working beside the new owner.
func TestRunStopsWhenItsLeaseIsTaken(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	paused := make(chan string, 1)
	e.checkpoint = func(ctx context.Context, point string) error {
		if point != "tenant_erasure/drop_schema" {
			return nil
		}
		paused <- point
		<-ctx.Done()
		return ctx.Err()
	}
	r, err := e.svc.StartTenantErasure(ctx, e.tenant)
	require.NoError(t, err)
	done := make(chan int)
	go func() { done <- e.runner.WorkAvailable(ctx) }()
	<-paused
	// Renewals keep the lease while the run is paused: nobody else can take it...
	time.Sleep(2 * leaseTTL)
	ok, err := e.leases.AcquireLease(ctx, r.ID, "other-process", e.clock.Now(), e.clock.Now().Add(time.Minute))
	require.NoError(t, err)
	require.False(t, ok, "the lease is renewed while the run works")
	// ...until the run's clock says it expired without a renewal (a stall): the other
	// process takes it, and the stalled run stops at its next renewal.
	e.clock.Advance(time.Minute)
	ok, err = e.leases.AcquireLease(ctx, r.ID, "other-process", e.clock.Now(), e.clock.Now().Add(time.Hour))
	require.NoError(t, err)
	require.True(t, ok)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the run did not stop after losing its lease")
	}
	got, err := e.svc.TenantErasure(ctx, e.tenant)
	require.NoError(t, err)
	require.NotEqual(t, gdpr.StatusCompleted, got.Status)
	steps := slices.IndexFunc(got.Steps, func(s gdpr.StepState) bool { return !s.Done })
	require.Equal(t, gdpr.StepDropSchema-1, steps, "stopped before drop_schema")
	l, err := e.leases.Lease(ctx, r.ID)
	require.NoError(t, err)
	require.Equal(t, "other-process", l.Owner, "the stopped run left the new owner's lease alone")
}

// envTenants lists the env's tenant, and its frozen ones as DEPROVISIONING.
type envTenants struct{ e *env }

func (t envTenants) TenantIDs(context.Context) ([]eusaas.TenantID, error) {
	return []eusaas.TenantID{t.e.tenant}, nil
}

func (t envTenants) DeprovisioningTenantIDs(context.Context) ([]eusaas.TenantID, error) {
	return t.e.frozen, nil
}

// A tenant frozen for erasure whose erasure was never recorded (the process died between the
// two) gets its erasure from Sweep, and only once; a legal hold placed meanwhile keeps it.
func TestSweepStartsTheErasureOfAFrozenTenant(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	held := eusaas.NewTenantID()
	_, err := e.svc.PlaceHold(ctx, held, "litigation")
	require.NoError(t, err)
	e.frozen = []eusaas.TenantID{e.tenant, held}
	n, err := e.svc.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = e.svc.TenantErasure(ctx, held)
	require.ErrorIs(t, err, gdpr.ErrTenantNotErased, "the held tenant is not erased")
	n, err = e.svc.Sweep(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "its erasure exists now")
	e.runner.WorkAvailable(ctx)
	r, err := e.svc.TenantErasure(ctx, e.tenant)
	require.NoError(t, err)
	require.Equal(t, gdpr.StatusCompleted, r.Status)
}
