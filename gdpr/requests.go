package gdpr

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// Looking up requests, and the deadlines that concern every kind of request.

// checkSubjects refuses subjects the tenant's data does not name (exports and erasures
// share it), so a typo yields a 422 instead of an empty archive or a no-op erasure.
func (s *Service) checkSubjects(ctx context.Context, tenant eusaas.TenantID, subjects []string, loc string) error {
	if s.d.Subjects == nil {
		return nil
	}
	var v eusaas.Violations
	for i, subj := range subjects {
		ok, err := s.d.Subjects.HasSubject(ctx, tenant, subj)
		if err != nil {
			return err
		}
		if !ok {
			l := loc
			if len(subjects) > 1 || strings.HasSuffix(loc, "s") {
				l = loc + "[" + itoa(i) + "]"
			}
			v.Add(l, "not a data subject of this tenant")
		}
	}
	return v.Err()
}

// Request returns one of the tenant's requests of the given kind.
func (s *Service) Request(ctx context.Context, tenant eusaas.TenantID, kind Kind, id string) (Request, error) {
	if _, err := uuid.Parse(id); err != nil {
		return Request{}, ErrNotFound
	}
	r, err := s.d.Requests.Request(ctx, tenant, id)
	if err != nil {
		if eusaas.KindOf(err) == eusaas.NotFound {
			return Request{}, ErrNotFound
		}
		return Request{}, err
	}
	if r.Kind != kind {
		return Request{}, ErrNotFound
	}
	return r, nil
}

// DownloadURL returns the download URL of a completed export: a signed token valid until

// Overdue counts requests past their one-month deadline that are not fulfilled (for
// /metrics).
func (s *Service) Overdue(ctx context.Context) (int, error) {
	return s.d.Requests.CountOverdue(ctx, s.clock.Now())
}

// Resume re-enqueues every unfinished request. Call it at start-up in the in-memory mode
// (where the job queue does not survive a restart) or by an operator after a job was
// discarded; handlers are idempotent.
func (s *Service) Resume(ctx context.Context) error {
	for kind, job := range map[Kind]string{KindExport: JobExport, KindSubjectErasure: JobSubjectErasure, KindTenantErasure: JobTenantErasure} {
		rs, err := s.d.Requests.Unfinished(ctx, kind)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if err := s.d.Queue.Enqueue(ctx, job, jobArgs{TenantID: r.TenantID, RequestID: r.ID}, nil); err != nil {
				return err
			}
		}
	}
	return nil
}
