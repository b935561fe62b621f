package gdpr

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// The data-subject request workflow. Every transition stores the request, its timeline
// entry and its audit entry in one transaction, together with the job it starts.

// Audit actions of the workflow.
const (
	ActionDSRReceived         = "GDPR_DSR_RECEIVED"
	ActionDSRIdentityVerified = "GDPR_DSR_IDENTITY_VERIFIED"
	ActionDSRExtended         = "GDPR_DSR_EXTENDED"
	ActionDSRCompleted        = "GDPR_DSR_COMPLETED"
	ActionDSRRejected         = "GDPR_DSR_REJECTED"
	resourceDSR               = "gdpr_dsr"
)

// Errors of the workflow.
var (
	ErrDSRNotFound    = eusaas.Sentinel(eusaas.NotFound, "gdpr_dsr_not_found", "data-subject request not found")
	ErrDSRState       = eusaas.Sentinel(eusaas.FailedPrecondition, "gdpr_dsr_state", "the data-subject request does not allow this now")
	ErrDSRUnavailable = eusaas.Sentinel(eusaas.FailedPrecondition, "gdpr_dsr_unavailable", "the data-subject request workflow is not configured")
)

// DSRInput is a new data-subject request.
type DSRInput struct {
	Type      DSRType
	SubjectID string
	Email     string
	Details   string
	Format    Format // ACCESS, PORTABILITY; json when empty
}

// Validate checks the input's shape.
func (in DSRInput) Validate() error {
	var v eusaas.Violations
	if !slices.Contains(DSRTypes, in.Type) {
		v.Add("body.type", "must be one of ACCESS, RECTIFICATION, ERASURE, RESTRICTION, OBJECTION, PORTABILITY")
	}
	if in.SubjectID == "" && in.Email == "" {
		v.Add("body", "needs data_subject_id or email")
	}
	if len(in.SubjectID) > 200 {
		v.Add("body.data_subject_id", "must be at most 200 characters")
	}
	if in.Email != "" && (len(in.Email) > 254 || !strings.Contains(in.Email, "@") || strings.ContainsAny(in.Email, " \t\r\n")) {
		v.Add("body.email", "must be an e-mail address")
	}
	if len(in.Details) > 2000 {
		v.Add("body.details", "must be at most 2000 characters")
	}
	if in.Format != "" {
		if in.Type != DSRAccess && in.Type != DSRPortability {
			v.Add("body.format", "only ACCESS and PORTABILITY requests produce an export")
		} else if !slices.Contains(Formats, in.Format) {
			v.Add("body.format", "must be json, csv or xml")
		}
	}
	return v.Err()
}

func actorLabel(a eusaas.Actor) string {
	if a.ID == "" {
		return string(a.Kind)
	}
	return string(a.Kind) + ":" + a.ID
}

func (s *Service) dsrs() (DSRStore, error) {
	if s.d.DSRs == nil {
		return nil, ErrDSRUnavailable
	}
	return s.d.DSRs, nil
}

func (d *DSR) event(ctx context.Context, at time.Time, name, note string) {
	d.Timeline = append(d.Timeline, DSREvent{At: at, Event: name, Status: d.Status, Actor: actorLabel(eusaas.ActorFrom(ctx)), Note: note})
}

// CreateDSR records a data-subject request. Naming a known subject gives RECEIVED (the
// identity still to be verified); only an e-mail gives IDENTITY_PENDING (the subject still
// to be identified). A data_subject_id the tenant's data does not know is refused (422).
func (s *Service) CreateDSR(ctx context.Context, tenant eusaas.TenantID, in DSRInput) (DSR, error) {
	store, err := s.dsrs()
	if err != nil {
		return DSR{}, err
	}
	in.Type = DSRType(strings.ToUpper(string(in.Type)))
	in.Format = Format(strings.ToLower(string(in.Format)))
	in.Email = strings.TrimSpace(in.Email)
	if err := in.Validate(); err != nil {
		return DSR{}, err
	}
	if in.SubjectID != "" {
		if err := s.checkSubjects(ctx, tenant, []string{in.SubjectID}, "body.data_subject_id"); err != nil {
			return DSR{}, err
		}
	}
	d := s.newDSR(tenant, in)
	d.event(ctx, d.ReceivedAt, EventReceived, "")
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := store.CreateDSR(ctx, d); err != nil {
			return err
		}
		return s.recordDSR(ctx, d, ActionDSRReceived, nil)
	})
	return d, err
}

func (s *Service) newDSR(tenant eusaas.TenantID, in DSRInput) DSR {
	now := s.clock.Now()
	d := DSR{ID: uuid.Must(uuid.NewV7()).String(), Version: 1, TenantID: tenant, Type: in.Type, Status: DSRReceived,
		SubjectID: in.SubjectID, Email: in.Email, Details: in.Details, Format: in.Format, ReceivedAt: now, DueAt: DueDate(now)}
	if d.SubjectID == "" {
		d.Status = DSRIdentityPending
	}
	if (d.Type == DSRAccess || d.Type == DSRPortability) && d.Format == "" {
		d.Format = FormatJSON
	}
	return d
}

// recordDSR writes the audit entry of a transition. The e-mail address stays out of it
// (the audit log is kept longer than the request's personal data needs to be).
func (s *Service) recordDSR(ctx context.Context, d DSR, action string, extra map[string]any) error {
	ch := map[string]any{"type": string(d.Type), "status": string(d.Status)}
	if d.SubjectID != "" {
		ch["data_subject_id"] = d.SubjectID
	}
	for k, v := range extra {
		ch[k] = v
	}
	_, err := s.record(ctx, eusaas.AuditEvent{TenantID: d.TenantID, Action: action, ResourceType: resourceDSR, ResourceID: d.ID, Changes: ch})
	return err
}

// DSR returns one of the tenant's data-subject requests.
func (s *Service) DSR(ctx context.Context, tenant eusaas.TenantID, id string) (DSR, error) {
	store, err := s.dsrs()
	if err != nil {
		return DSR{}, err
	}
	if _, err := uuid.Parse(id); err != nil {
		return DSR{}, ErrDSRNotFound
	}
	d, err := store.DSR(ctx, tenant, id)
	if eusaas.KindOf(err) == eusaas.NotFound {
		return DSR{}, ErrDSRNotFound
	}
	return d, err
}

// DSRs lists the tenant's requests; f.Overdue filters at the service's clock.
func (s *Service) DSRs(ctx context.Context, tenant eusaas.TenantID, f DSRFilter, overdue bool) ([]DSR, error) {
	store, err := s.dsrs()
	if err != nil {
		return nil, err
	}
	var v eusaas.Violations
	if f.Status != "" && !slices.Contains(DSRStatuses, f.Status) {
		v.Add("query.status", "must be one of RECEIVED, IDENTITY_PENDING, IN_PROGRESS, EXTENDED, COMPLETED, REJECTED")
	}
	if f.Type != "" && !slices.Contains(DSRTypes, f.Type) {
		v.Add("query.type", "must be one of ACCESS, RECTIFICATION, ERASURE, RESTRICTION, OBJECTION, PORTABILITY")
	}
	if f.After != "" {
		if _, err := uuid.Parse(f.After); err != nil {
			v.Add("query.cursor", "is not a cursor of this list")
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if overdue {
		f.OverdueAt = s.clock.Now()
	}
	return store.ListDSRs(ctx, tenant, f)
}

// update loads the request, applies fn (which checks the state and changes d) and stores
// it with its audit entry, in one transaction.
func (s *Service) updateDSR(ctx context.Context, tenant eusaas.TenantID, id string, fn func(ctx context.Context, d *DSR) (action string, extra map[string]any, err error)) (DSR, error) {
	store, err := s.dsrs()
	if err != nil {
		return DSR{}, err
	}
	if _, err := uuid.Parse(id); err != nil {
		return DSR{}, ErrDSRNotFound
	}
	var out DSR
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		d, err := store.DSR(ctx, tenant, id)
		if err != nil {
			if eusaas.KindOf(err) == eusaas.NotFound {
				return ErrDSRNotFound
			}
			return err
		}
		action, extra, err := fn(ctx, &d)
		if err != nil {
			return err
		}
		if err := store.UpdateDSR(ctx, &d); err != nil {
			return err
		}
		out = d
		return s.recordDSR(ctx, d, action, extra)
	})
	return out, err
}

func reasonViolation(loc, reason string) error {
	var v eusaas.Violations
	if strings.TrimSpace(reason) == "" || len(reason) > 1000 {
		v.Add(loc, "must be 1..1000 characters")
	}
	return v.Err()
}

// ExtendDSR extends the deadline by two further months (Art. 12(3)): once, and only before
// the original deadline, recording the notice to the data subject with its reason.
func (s *Service) ExtendDSR(ctx context.Context, tenant eusaas.TenantID, id, reason string) (DSR, error) {
	if err := reasonViolation("body.reason", reason); err != nil {
		return DSR{}, err
	}
	return s.updateDSR(ctx, tenant, id, func(ctx context.Context, d *DSR) (string, map[string]any, error) {
		now := s.clock.Now()
		switch {
		case d.Final():
			return "", nil, ErrDSRState.Withf("the request is %s", d.Status)
		case !d.ExtendedDueAt.IsZero():
			return "", nil, ErrDSRState.With("the deadline was extended already (Art. 12(3) allows one extension)")
		case now.After(d.DueAt):
			return "", nil, ErrDSRState.With("the extension must be notified before due_at")
		}
		d.ExtendedDueAt, d.ExtensionReason, d.Status = Deadline(d.ReceivedAt, 3), reason, DSRExtended
		d.event(ctx, now, EventExtended, "notice of the extension and its reasons to the data subject: "+reason)
		return ActionDSRExtended, map[string]any{"extended_due_at": d.ExtendedDueAt.UTC().Format(time.RFC3339)}, nil
	})
}

// RejectDSR refuses the request (Art. 12(5): manifestly unfounded or excessive; or the
// identity could not be established, Art. 12(6)), with the reason given to the subject.
func (s *Service) RejectDSR(ctx context.Context, tenant eusaas.TenantID, id, reason string) (DSR, error) {
	if err := reasonViolation("body.reason", reason); err != nil {
		return DSR{}, err
	}
	return s.updateDSR(ctx, tenant, id, func(ctx context.Context, d *DSR) (string, map[string]any, error) {
		if d.Final() {
			return "", nil, ErrDSRState.Withf("the request is %s", d.Status)
		}
		if d.JobID != "" {
			return "", nil, ErrDSRState.With("the request's export or erasure has started; complete it instead")
		}
		now := s.clock.Now()
		d.Status, d.CompletedAt, d.RejectionReason = DSRRejected, now, reason
		d.event(ctx, now, EventRejected, reason)
		ev, err := s.evidence(*d, nil)
		if err != nil {
			return "", nil, err
		}
		d.Evidence = ev
		return ActionDSRRejected, nil, nil
	})
}

// VerifyIdentity records the identity check and starts the work: ACCESS and PORTABILITY
// start the subject's export, ERASURE the subject erasure, RESTRICTION marks the subject
// restricted and completes; RECTIFICATION and OBJECTION await the controller's
// CompleteDSR. subject names the data subject when the request came with an e-mail only.
func (s *Service) VerifyIdentity(ctx context.Context, tenant eusaas.TenantID, id, subject, method string) (DSR, error) {
	var v eusaas.Violations
	if len(subject) > 200 {
		v.Add("body.data_subject_id", "must be at most 200 characters")
	}
	if len(method) > 500 {
		v.Add("body.method", "must be at most 500 characters")
	}
	if err := v.Err(); err != nil {
		return DSR{}, err
	}
	return s.updateDSR(ctx, tenant, id, func(ctx context.Context, d *DSR) (string, map[string]any, error) {
		if d.Final() || !d.IdentityVerifiedAt.IsZero() {
			return "", nil, ErrDSRState.With("the identity was verified already or the request is closed")
		}
		switch {
		case d.SubjectID == "" && subject == "":
			var v eusaas.Violations
			v.Add("body.data_subject_id", "the request names no data subject yet: name the one whose identity was verified")
			return "", nil, v.Err()
		case d.SubjectID != "" && subject != "" && subject != d.SubjectID:
			var v eusaas.Violations
			v.Add("body.data_subject_id", "differs from the request's data subject")
			return "", nil, v.Err()
		case d.SubjectID == "":
			if err := s.checkSubjects(ctx, tenant, []string{subject}, "body.data_subject_id"); err != nil {
				return "", nil, err
			}
			d.SubjectID = subject
		}
		now := s.clock.Now()
		d.IdentityVerifiedAt, d.IdentityVerifiedBy, d.IdentityMethod = now, actorLabel(eusaas.ActorFrom(ctx)), method
		if d.Status != DSRExtended {
			d.Status = DSRInProgress
		}
		d.event(ctx, now, EventIdentityVerified, method)
		if err := s.startDSR(ctx, d, now); err != nil {
			return "", nil, err
		}
		return ActionDSRIdentityVerified, nil, nil
	})
}

// startDSR starts the work of a verified request (in the caller's transaction).
func (s *Service) startDSR(ctx context.Context, d *DSR, now time.Time) error {
	switch d.Type {
	case DSRAccess, DSRPortability:
		// Art. 15 is the subject's data with the audit entries about them; Art. 20 the data
		// they provided, in the format asked for.
		r, err := s.requestExport(ctx, d.TenantID, ExportRequest{Subjects: []string{d.SubjectID}, Format: d.Format,
			IncludeAuditLogs: d.Type == DSRAccess, Access: d.Type == DSRAccess}, d.ID)
		if err != nil {
			return err
		}
		d.JobID = r.ID
		d.event(ctx, now, EventActionStarted, "export "+r.ID)
	case DSRErasure:
		var created bool
		r, err := s.requestErasure(ctx, d.TenantID, d.SubjectID, "data-subject request "+d.ID, &created, d.ID)
		if err != nil {
			return err
		}
		d.JobID = r.ID
		d.event(ctx, now, EventActionStarted, "subject erasure "+r.ID)
		if r.Status == StatusCompleted {
			// The subject was erased already: the request is fulfilled by that erasure.
			return s.completeDSR(ctx, d, &r, "the data subject had been erased already", now)
		}
	case DSRRestriction:
		d.Counts = map[string]int{"subjects.restricted": 1}
		return s.completeDSR(ctx, d, nil, "processing of the subject's data restricted (Art. 18): kept, excluded from processing", now)
	}
	return nil
}

// completeDSR closes d as COMPLETED with its evidence (d is stored by the caller).
func (s *Service) completeDSR(ctx context.Context, d *DSR, job *Request, outcome string, now time.Time) error {
	if job != nil && job.Counts != nil {
		d.Counts = make(map[string]int, len(job.Counts))
		for k, v := range job.Counts {
			d.Counts[k] = v
		}
	}
	if outcome != "" {
		d.Outcome = outcome
	}
	d.Status, d.CompletedAt = DSRCompleted, now
	d.event(ctx, now, EventCompleted, outcome)
	ev, err := s.evidence(*d, job)
	if err != nil {
		return err
	}
	d.Evidence = ev
	return nil
}

// CompleteDSR closes a verified request. Requests handled by an export or erasure can be
// completed once that finished (they complete by themselves then too); RECTIFICATION and
// OBJECTION take the controller's outcome ("what was done").
func (s *Service) CompleteDSR(ctx context.Context, tenant eusaas.TenantID, id, outcome string) (DSR, error) {
	if len(outcome) > 2000 {
		var v eusaas.Violations
		v.Add("body.outcome", "must be at most 2000 characters")
		return DSR{}, v.Err()
	}
	return s.updateDSR(ctx, tenant, id, func(ctx context.Context, d *DSR) (string, map[string]any, error) {
		if d.Final() {
			return "", nil, ErrDSRState.Withf("the request is %s", d.Status)
		}
		if d.IdentityVerifiedAt.IsZero() {
			return "", nil, ErrDSRState.With("verify the data subject's identity first")
		}
		var job *Request
		if d.JobID != "" {
			r, err := s.d.Requests.Request(ctx, tenant, d.JobID)
			if err != nil {
				return "", nil, err
			}
			if r.Status != StatusCompleted {
				return "", nil, ErrDSRState.Withf("its %s %s is %s", strings.ToLower(string(r.Kind)), r.ID, r.Status)
			}
			job = &r
		} else if strings.TrimSpace(outcome) == "" {
			var v eusaas.Violations
			v.Add("body.outcome", "say what was done (required for RECTIFICATION and OBJECTION)")
			return "", nil, v.Err()
		}
		if err := s.completeDSR(ctx, d, job, outcome, s.clock.Now()); err != nil {
			return "", nil, err
		}
		return ActionDSRCompleted, map[string]any{"counts": d.Counts}, nil
	})
}

// jobFinished completes the open request r (an export or erasure) works for, once r is
// COMPLETED. Called by the jobs; a request without one is no error.
func (s *Service) jobFinished(ctx context.Context, r Request) error {
	if s.d.DSRs == nil || r.Status != StatusCompleted {
		return nil
	}
	ds, err := s.d.DSRs.OpenDSRsByJob(ctx, r.TenantID, r.ID)
	if err != nil {
		return err
	}
	ctx = eusaas.WithActor(ctx, eusaas.System)
	for _, d := range ds {
		_, err = s.updateDSR(ctx, r.TenantID, d.ID, func(ctx context.Context, d *DSR) (string, map[string]any, error) {
			if d.Final() {
				return "", nil, ErrDSRState
			}
			if err := s.completeDSR(ctx, d, &r, "", s.clock.Now()); err != nil {
				return "", nil, err
			}
			return ActionDSRCompleted, map[string]any{"counts": d.Counts}, nil
		})
		if k := eusaas.KindOf(err); err != nil && k != eusaas.FailedPrecondition && k != eusaas.Aborted {
			return err // FailedPrecondition, Aborted: closed meanwhile (a manual completion won)
		}
	}
	return nil
}

// RestrictedSubjects lists the tenant's data subjects under an Art. 18 restriction: their
// data stays stored and processing leaves it out. Retention is the processing that touches
// subjects' rows today (EnforceTenantRetention hands the list to every Retainer in
// Policy.Restricted, which keeps their rows and values); the anomaly scanner's root causes
// leave out attribute values equal to a restricted subject (platform.AttributeCosts).
func (s *Service) RestrictedSubjects(ctx context.Context, tenant eusaas.TenantID) ([]string, error) {
	if s.d.DSRs == nil {
		return nil, nil
	}
	ds, err := s.d.DSRs.ListDSRs(ctx, tenant, DSRFilter{Type: DSRRestriction, Status: DSRCompleted})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range ds {
		if !slices.Contains(out, d.SubjectID) {
			out = append(out, d.SubjectID)
		}
	}
	return out, nil
}

// DSRDeadlines counts open requests past their deadline and those due within 7 days (for
// /metrics).
func (s *Service) DSRDeadlines(ctx context.Context) (overdue, dueSoon int, err error) {
	if s.d.DSRs == nil {
		return 0, 0, nil
	}
	now := s.clock.Now()
	return s.d.DSRs.CountDSRDeadlines(ctx, now, now.Add(7*24*time.Hour))
}

// implicitDSR records a request made through the export or erase endpoints as a data-subject
// request of typ, its identity taken as verified by the authenticated caller who made it,
// working through job r (in the caller's transaction). Without the workflow it does nothing.
func (s *Service) implicitDSR(ctx context.Context, tenant eusaas.TenantID, typ DSRType, r Request) error {
	if s.d.DSRs == nil {
		return nil
	}
	subject := r.SubjectID
	if subject == "" && len(r.Subjects) == 1 {
		subject = r.Subjects[0]
	}
	d := s.newDSR(tenant, DSRInput{Type: typ, SubjectID: subject, Format: r.Format})
	d.ReceivedAt, d.DueAt = r.RequestedAt, r.DueAt
	d.event(ctx, d.ReceivedAt, EventReceived, "through the "+strings.ToLower(string(r.Kind))+" endpoint")
	d.Status = DSRInProgress
	d.IdentityVerifiedAt, d.IdentityVerifiedBy, d.IdentityMethod = d.ReceivedAt, actorLabel(eusaas.ActorFrom(ctx)), "authenticated API caller"
	d.event(ctx, d.ReceivedAt, EventIdentityVerified, d.IdentityMethod)
	d.JobID = r.ID
	d.event(ctx, d.ReceivedAt, EventActionStarted, strings.ToLower(string(r.Kind))+" "+r.ID)
	if err := s.d.DSRs.CreateDSR(ctx, d); err != nil {
		return err
	}
	return s.recordDSR(ctx, d, ActionDSRReceived, map[string]any{"job_id": r.ID})
}

// Now is the service's clock (callers showing whether a request is overdue use it).
func (s *Service) Now() time.Time { return s.clock.Now() }

// scrubDSRs removes the contact e-mail and free-text details from the tenant's data-subject
// requests (only subject's, when given): the requests, their timelines and evidence stay
// (the evidence names the contact only by its SHA-256). It returns how many it changed; a
// second call changes none.
func (s *Service) scrubDSRs(ctx context.Context, tenant eusaas.TenantID, subject string) (int, error) {
	if s.d.DSRs == nil {
		return 0, nil
	}
	ds, err := s.d.DSRs.ListDSRs(ctx, tenant, DSRFilter{})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range ds {
		if (subject != "" && d.SubjectID != subject) || (d.Email == "" && d.Details == "") {
			continue
		}
		if d.Email != "" {
			d.EmailSHA256 = emailDigest(d.Email)
		}
		d.Email, d.Details = "", ""
		if err := s.d.DSRs.UpdateDSR(ctx, &d); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
