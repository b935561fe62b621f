package gdpr

import (
	"context"
	"slices"
	"time"

	"github.com/eusaas/eusaas"
)

// Subject erasure (Art. 17); the tenant erasure saga is in saga.go.

// RequestErasure records the erasure of one data subject and enqueues its job. Erasing a
// subject already erased (or being erased) returns that request unchanged with created false.
func (s *Service) RequestErasure(ctx context.Context, tenant eusaas.TenantID, subject, reason string) (r Request, created bool, err error) {
	r, err = s.requestErasure(ctx, tenant, subject, reason, &created, "")
	return r, created, err
}

// requestErasure is RequestErasure; dsr names the data-subject request it works for. Without
// one, a new erasure is also recorded as the subject's ERASURE request (when the workflow is
// configured), verified by the caller.
func (s *Service) requestErasure(ctx context.Context, tenant eusaas.TenantID, subject, reason string, created *bool, dsr string) (Request, error) {
	var v eusaas.Violations
	if subject == "" || len(subject) > 200 {
		v.Add("body.data_subject_id", "must be a non-empty id of at most 200 characters")
	}
	if len(reason) > 1000 {
		v.Add("body.reason", "must be at most 1000 characters")
	}
	if err := v.Err(); err != nil {
		return Request{}, err
	}
	if prev, err := s.d.Requests.SubjectErasure(ctx, tenant, subject); err == nil {
		return prev, nil
	} else if eusaas.KindOf(err) != eusaas.NotFound {
		return Request{}, err
	}
	if err := s.checkHolds(ctx, tenant); err != nil {
		return Request{}, err
	}
	if err := s.checkSubjects(ctx, tenant, []string{subject}, "body.data_subject_id"); err != nil {
		return Request{}, err
	}
	r := s.newRequest(ctx, tenant, KindSubjectErasure)
	r.SubjectID, r.Reason = subject, reason
	*created = true
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Requests.CreateRequest(ctx, r); err != nil {
			return err
		}
		if _, err := s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Action: ActionErasureRequested, ResourceType: resourceGDPR,
			ResourceID: r.ID, Changes: map[string]any{"data_subject_id": subject}}); err != nil {
			return err
		}
		if err := s.d.Queue.Enqueue(ctx, JobSubjectErasure, jobArgs{TenantID: tenant, RequestID: r.ID}, nil); err != nil {
			return err
		}
		if dsr == "" {
			return s.implicitDSR(ctx, tenant, DSRErasure, r)
		}
		return nil
	})
	return r, err
}

// EstimatedCompletion is when a request is expected to finish (shown to callers).
func (s *Service) EstimatedCompletion(r Request) time.Time {
	if r.Done() {
		return r.CompletedAt
	}
	return r.RequestedAt.Add(defaultEstimatedErasureWindow)
}

func (s *Service) runSubjectErasure(ctx context.Context, tenant eusaas.TenantID, id string) error {
	r, err := s.d.Requests.Request(ctx, tenant, id)
	if err != nil {
		if eusaas.KindOf(err) == eusaas.NotFound {
			return nil
		}
		return err
	}
	if r.Done() {
		return s.jobFinished(ctx, r)
	}
	r.Status = StatusProcessing
	if err := s.d.Requests.UpdateRequest(ctx, &r); err != nil {
		return err
	}
	if err := s.checkpoint(ctx, "subject_erasure/users"); err != nil {
		return err
	}
	counts := map[string]int{}
	// Each eraser is idempotent, so a retry after a partial run is safe.
	if s.d.Users != nil {
		c, err := s.d.Users.EraseSubject(ctx, tenant, r.SubjectID)
		if err != nil {
			return err
		}
		for k, v := range c {
			counts["auth."+k] = v
		}
	}
	if err := s.checkpoint(ctx, "subject_erasure/audit"); err != nil {
		return err
	}
	if s.d.AuditEraser != nil {
		n, err := s.d.AuditEraser.EraseSubject(ctx, tenant, r.SubjectID)
		if err != nil {
			return err
		}
		counts[CountAuditPersonal] = n
	}
	if err := s.checkpoint(ctx, "subject_erasure/exports"); err != nil {
		return err
	}
	// Exports holding the subject's data: those scoped to them and tenant-wide ones.
	n, err := s.eraseExports(ctx, tenant, func(e Request) bool {
		return len(e.Subjects) == 0 || slices.Contains(e.Subjects, r.SubjectID)
	})
	if err != nil {
		return err
	}
	counts[CountExports] = n
	if err := s.checkpoint(ctx, "subject_erasure/dsrs"); err != nil {
		return err
	}
	if n, err := s.scrubDSRs(ctx, tenant, r.SubjectID); err != nil {
		return err
	} else if n > 0 {
		counts[CountDSRContacts] = n
	}
	if err := s.checkpoint(ctx, "subject_erasure/billing"); err != nil {
		return err
	}
	var retained []string
	if s.d.Billing != nil {
		n, err := s.d.Billing.PseudonymizeSubject(ctx, tenant, r.SubjectID)
		if err != nil {
			return err
		}
		counts["billing.pseudonymised"] = n
		retained = append(retained, "invoices (legal retention), pseudonymised")
	}
	if err := s.checkpoint(ctx, "subject_erasure/certificate"); err != nil {
		return err
	}
	now := s.clock.Now()
	r.Status, r.Progress, r.CompletedAt, r.Counts = StatusCompleted, 100, now, counts
	return s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		ce, err := s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: ActionSubjectErased,
			ResourceType: resourceGDPR, ResourceID: r.ID, Changes: map[string]any{"data_subject_id": r.SubjectID, "counts": counts}})
		if err != nil {
			return err
		}
		cert, err := signCertificate(s.o.SigningKey, Certificate{Type: KindSubjectErasure, RequestID: r.ID, TenantID: tenant.String(),
			SubjectID: r.SubjectID, RequestedAt: r.RequestedAt, CompletedAt: now, Counts: counts,
			AuditEntries: []CertifiedEntry{ce}, Retained: retained})
		if err != nil {
			return err
		}
		r.Certificate = cert
		if err := s.d.Requests.UpdateRequest(ctx, &r); err != nil {
			return err
		}
		return s.jobFinished(ctx, r)
	})
}

// Keys of erasure counts (and certificates) that are not tables.
const (
	// CountExports counts the export archives an erasure deleted.
	CountExports = "gdpr.exports"
	// CountAuditPersonal counts the audit log's personal values an erasure deleted.
	CountAuditPersonal = "audit.personal_data"
	// CountJobs counts the queued jobs about the tenant its erasure canceled.
	CountJobs = "jobs.pending"
	// CountDSRContacts counts the data-subject requests whose contact e-mail and details an
	// erasure removed (the requests stay as the accountability record).
	CountDSRContacts = "gdpr.dsr_contacts"
)

// eraseExports deletes the archives of the tenant's exports that match and marks each
// erased: EXPIRED without an archive, so its download URL answers 404 and its job, if still
// pending, does nothing. It returns how many downloadable archives it deleted; a second
// call deletes none.
func (s *Service) eraseExports(ctx context.Context, tenant eusaas.TenantID, match func(Request) bool) (int, error) {
	rs, err := s.d.Requests.Exports(ctx, tenant)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range rs {
		if !match(e) || (e.Status == StatusExpired && e.Archive == "") {
			continue
		}
		if e.Archive != "" {
			if err := s.d.Archives.Delete(ctx, e.Archive); err != nil {
				return n, err
			}
			if e.Status == StatusCompleted {
				n++
			}
		}
		e.Status, e.Archive, e.ArchiveSHA256 = StatusExpired, "", ""
		if err := s.d.Requests.UpdateRequest(ctx, &e); err != nil {
			return n, err
		}
	}
	return n, nil
}
