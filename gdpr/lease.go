package gdpr

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/jobs"
)

// Run leases: how an export or erasure interrupted by a crash resumes by itself.
//
// The job queue alone cannot tell a job that runs long from one whose process died: River
// rescues a job left "running" only after RescueStuckJobsAfter (one hour by default, one
// value for every kind), and shortening it would start a second copy of every legitimately
// long job. So the process running a request holds its lease and renews it every LeaseTTL/3;
// a lease not renewed by its expiry belongs to a process that is gone. Sweep, run by every
// worker process every SweepInterval, enqueues the job of each unfinished request whose
// lease expired. Every step is idempotent and stored before the next, so the new run resumes
// where the old one stopped; the lease also keeps two runs of one request from working at
// once (the second one to arrive leaves).

// Lease is the run lease of one request. An empty Owner is a queue marker: a job for the
// request is queued (the sweeper enqueued it, or a failed attempt waits for its retry), and
// the sweeper leaves the request alone until Until.
type Lease struct {
	RequestID string
	Owner     string
	Until     time.Time
}

// LeaseStore keeps run leases. Times come from the service's clock: the processes sharing a
// store must agree on the time within a fraction of LeaseTTL.
type LeaseStore interface {
	// Lease returns request id's lease; NotFound when there is none.
	Lease(ctx context.Context, id string) (Lease, error)
	// AcquireLease sets id's lease to owner until until, when at now it is free: absent or
	// expired (Until not after now), or, for a non-empty owner, a queue marker or already
	// owner's (renewal). It reports whether it set the lease. An empty owner sets a queue
	// marker, which only an absent or expired lease gives way to.
	AcquireLease(ctx context.Context, id, owner string, now, until time.Time) (bool, error)
	// ReleaseLease ends owner's lease of id (nothing when owner does not hold it): removed
	// when queuedUntil is zero, else turned into a queue marker until queuedUntil.
	ReleaseLease(ctx context.Context, id, owner string, queuedUntil time.Time) error
}

// Defaults of the lease timings (Options.LeaseTTL, Options.QueueGrace).
const (
	// DefaultLeaseTTL is how long a lease lasts without renewal: the time after which a
	// killed process's request is taken over.
	DefaultLeaseTTL = 15 * time.Second
	// DefaultSweepInterval is how often worker processes should call Sweep.
	DefaultSweepInterval = 10 * time.Second
	// DefaultQueueGrace is how long a request may wait for its first run before Sweep
	// enqueues it again (its job was lost, e.g. with a process killed as it took the job).
	DefaultQueueGrace = time.Minute
	// retryMarker is how long a failed attempt's request is left to the queue's retry
	// before Sweep enqueues it anew (the job may have been discarded).
	retryMarker = 24 * time.Hour
)

// errLeaseLost cancels a run whose lease another owner took (the run stalled past LeaseTTL).
var errLeaseLost = errors.New("gdpr: run lease lost")

// leased runs fn holding request id's lease, renewing it until fn returns. When another live
// run holds the lease it returns nil without running fn: that run finishes the work, or its
// lease expires and Sweep enqueues it again. Without a LeaseStore fn simply runs.
func (s *Service) leased(ctx context.Context, id string, fn func(ctx context.Context) error) error {
	if s.d.Leases == nil {
		return fn(ctx)
	}
	owner := s.instance + "/" + uuid.NewString()
	ttl := s.o.LeaseTTL
	until := s.clock.Now().Add(ttl)
	ok, err := s.d.Leases.AcquireLease(ctx, id, owner, s.clock.Now(), until)
	if err != nil || !ok {
		return err
	}
	run, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-run.Done():
				return
			case <-t.C:
			}
			next := s.clock.Now().Add(ttl)
			ok, err := s.d.Leases.AcquireLease(run, id, owner, s.clock.Now(), next)
			switch {
			case err == nil && !ok:
				cancel(errLeaseLost)
				return
			case err == nil:
				until = next
			case !s.clock.Now().Before(until):
				// The store was unreachable for a whole TTL: another process may own the
				// request by now.
				cancel(errLeaseLost)
				return
			}
		}
	}()
	err = fn(run)
	cancel(nil)
	<-stopped
	if cause := context.Cause(run); err != nil && errors.Is(cause, errLeaseLost) {
		err = errors.Join(err, cause)
	}
	var queued time.Time
	if err != nil {
		queued = s.clock.Now().Add(retryMarker)
	}
	// A lease left unreleased by a failing store only expires.
	_ = s.d.Leases.ReleaseLease(context.WithoutCancel(ctx), id, owner, queued)
	return err
}

// Sweep enqueues the job of every unfinished export and erasure that no live process works
// on: its lease expired (the process holding it died) or, never leased, it waited for its
// first run longer than QueueGrace. It also starts the erasure of a tenant left frozen
// without one (Tenants implementing DeprovisioningLister). It marks each one queued first, so processes sweeping at
// once enqueue it once. It returns how many it enqueued. Worker processes call it every
// DefaultSweepInterval; without a LeaseStore it does nothing.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	if s.d.Leases == nil {
		return 0, nil
	}
	n := 0
	var errs []error
	if dl, ok := s.d.Tenants.(DeprovisioningLister); ok {
		ids, err := dl.DeprovisioningTenantIDs(ctx)
		if err != nil {
			errs = append(errs, err)
		}
		for _, id := range ids {
			if _, err := s.d.Requests.TenantErasure(ctx, id); eusaas.KindOf(err) != eusaas.NotFound || err == nil {
				if err != nil {
					errs = append(errs, err)
				}
				continue
			}
			// Frozen without an erasure: the process died between the two. A legal hold
			// placed since keeps it frozen and unerased.
			switch _, err := s.StartTenantErasure(ctx, id); {
			case err == nil:
				n++
			case !errors.Is(err, ErrLegalHold):
				errs = append(errs, err)
			}
		}
	}
	for _, k := range []struct {
		kind Kind
		job  string
		opts *jobs.EnqueueOpts
	}{
		{KindTenantErasure, JobTenantErasure, &jobs.EnqueueOpts{MaxAttempts: tenantErasureMaxAttempts}},
		{KindSubjectErasure, JobSubjectErasure, nil},
		{KindExport, JobExport, nil},
	} {
		rs, err := s.d.Requests.Unfinished(ctx, k.kind)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, r := range rs {
			now := s.clock.Now()
			l, err := s.d.Leases.Lease(ctx, r.ID)
			switch {
			case eusaas.KindOf(err) == eusaas.NotFound && err != nil:
				if now.Sub(r.RequestedAt) < s.o.QueueGrace {
					continue // its first job is most likely still queued
				}
			case err != nil:
				errs = append(errs, err)
				continue
			case l.Until.After(now):
				continue // a live run, or a job already queued
			}
			err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
				ok, err := s.d.Leases.AcquireLease(ctx, r.ID, "", now, now.Add(s.o.QueueGrace))
				if err != nil || !ok {
					return err
				}
				n++
				return s.d.Queue.Enqueue(ctx, k.job, jobArgs{TenantID: r.TenantID, RequestID: r.ID}, k.opts)
			})
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	return n, errors.Join(errs...)
}

// checkpoint calls Options.Checkpoint at a named point of a run.
func (s *Service) checkpoint(ctx context.Context, point string) error {
	if s.o.Checkpoint == nil {
		return nil
	}
	return s.o.Checkpoint(ctx, point)
}

// Checkpoints names the points of the runs where Options.Checkpoint is called: before each
// tenant erasure step ("tenant_erasure/<step name>"), while the backup archive is half
// written, after the tenant's rows are deleted but before its exports are, before each part
// of a subject erasure, while an export archive is half written and after it is committed
// but before the request records it.
var Checkpoints = func() []string {
	var out []string
	for step := StepFreeze; step <= StepMarkDeleted; step++ {
		out = append(out, "tenant_erasure/"+StepNames[step])
		switch step {
		case StepBackup:
			out = append(out, pointBackupArchive)
		case StepDeleteData:
			out = append(out, pointDeleteExports)
		}
	}
	for _, p := range subjectPoints {
		out = append(out, "subject_erasure/"+p)
	}
	return append(out, pointExportArchive, pointExportCommitted)
}()

const (
	pointBackupArchive   = "tenant_erasure/export_backup/archive"
	pointDeleteExports   = "tenant_erasure/cascade_delete_data/exports"
	pointExportArchive   = "export/archive"
	pointExportCommitted = "export/committed"
)

// subjectPoints are the parts of a subject erasure, in order.
var subjectPoints = []string{"users", "audit", "exports", "dsrs", "billing", "certificate"}
