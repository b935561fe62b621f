package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/gdpr"
)

// GDPRDSRCreate is a new data-subject request.
type GDPRDSRCreate struct {
	Type          string `json:"type" enum:"ACCESS,RECTIFICATION,ERASURE,RESTRICTION,OBJECTION,PORTABILITY" doc:"the right exercised (Art. 15, 16, 17, 18, 21, 20)"`
	DataSubjectID string `json:"data_subject_id,omitempty" maxLength:"200" doc:"the data subject (a user id), when known"`
	Email         string `json:"email,omitempty" maxLength:"254" doc:"the address the request came from"`
	Details       string `json:"details,omitempty" maxLength:"2000"`
	Format        string `json:"format,omitempty" enum:"json,csv,xml" doc:"ACCESS and PORTABILITY: the export's format (json)"`
}

// GDPRDSRReason carries the reason of an extension or rejection.
type GDPRDSRReason struct {
	Reason string `json:"reason" minLength:"1" maxLength:"1000" doc:"given to the data subject"`
}

// GDPRDSRVerify records the identity check.
type GDPRDSRVerify struct {
	DataSubjectID string `json:"data_subject_id,omitempty" maxLength:"200" doc:"required when the request named no data subject"`
	Method        string `json:"method,omitempty" maxLength:"500" doc:"how the identity was verified"`
}

// GDPRDSRComplete closes a request.
type GDPRDSRComplete struct {
	Outcome string `json:"outcome,omitempty" maxLength:"2000" doc:"what was done; required for RECTIFICATION and OBJECTION"`
}

// GDPRDSR is a data-subject request.
type GDPRDSR struct {
	ID                 string               `json:"id"`
	TenantID           string               `json:"tenant_id"`
	Type               string               `json:"type" enum:"ACCESS,RECTIFICATION,ERASURE,RESTRICTION,OBJECTION,PORTABILITY"`
	Status             string               `json:"status" enum:"RECEIVED,IDENTITY_PENDING,IN_PROGRESS,EXTENDED,COMPLETED,REJECTED"`
	DataSubjectID      *string              `json:"data_subject_id"`
	Email              *string              `json:"email"`
	Details            *string              `json:"details"`
	Format             *string              `json:"format"`
	ReceivedAt         time.Time            `json:"received_at"`
	DueAt              time.Time            `json:"due_at" doc:"one calendar month after receipt (Art. 12(3)), a weekend deadline moved to Monday"`
	ExtendedDueAt      *time.Time           `json:"extended_due_at" doc:"three months after receipt, once extended"`
	ExtensionReason    *string              `json:"extension_reason"`
	Overdue            bool                 `json:"overdue"`
	IdentityVerifiedAt *time.Time           `json:"identity_verified_at"`
	CompletedAt        *time.Time           `json:"completed_at"`
	RejectionReason    *string              `json:"rejection_reason"`
	Outcome            *string              `json:"outcome"`
	JobID              *string              `json:"job_id" doc:"the export or erasure doing the work"`
	Counts             map[string]int       `json:"counts,omitempty"`
	Timeline           []gdpr.DSREvent      `json:"timeline"`
	Evidence           *gdpr.SignedEvidence `json:"evidence,omitempty" doc:"signed evidence bundle once COMPLETED or REJECTED; check it with eusaas gdpr verify-evidence"`
}

type gdprDSROut struct {
	Status int
	Body   GDPRDSR
}

type gdprDSRPath struct {
	ID  string `path:"id" doc:"tenant id"`
	RID string `path:"rid" doc:"request id"`
}

func gdprDSRView(d gdpr.DSR, now time.Time) GDPRDSR {
	v := GDPRDSR{ID: d.ID, TenantID: d.TenantID.String(), Type: string(d.Type), Status: string(d.Status),
		DataSubjectID: gdprStr(d.SubjectID), Email: gdprStr(d.Email), Details: gdprStr(d.Details), Format: gdprStr(string(d.Format)),
		ReceivedAt: d.ReceivedAt, DueAt: d.DueAt, ExtendedDueAt: gdprTime(d.ExtendedDueAt), ExtensionReason: gdprStr(d.ExtensionReason),
		Overdue: d.Overdue(now), IdentityVerifiedAt: gdprTime(d.IdentityVerifiedAt), CompletedAt: gdprTime(d.CompletedAt),
		RejectionReason: gdprStr(d.RejectionReason), Outcome: gdprStr(d.Outcome), JobID: gdprStr(d.JobID), Counts: d.Counts,
		Timeline: d.Timeline, Evidence: d.Evidence}
	if v.Timeline == nil {
		v.Timeline = []gdpr.DSREvent{}
	}
	return v
}

// registerGDPRDSR adds the data-subject request routes. A request names a person and what
// they asked, so every route needs gdpr:write (OWNER, ADMIN; operators): those who handle
// requests, not every reader of the tenant.
func registerGDPRDSR(s *Server, svc *gdpr.Service) {
	tags := []string{"GDPR data-subject requests"}
	base := "/api/v1/tenants/{id}/gdpr/requests"
	now := svc.Now // the service's clock decides what is overdue

	Register(s, huma.Operation{OperationID: "create-gdpr-request", Method: http.MethodPost, Path: base,
		Summary: "Record a data-subject request (Art. 15-21)", Description: "Starts RECEIVED (data_subject_id named) or IDENTITY_PENDING (e-mail only); nothing is done before verify-identity.",
		Tags: tags, Security: BearerAuth, DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *struct {
			ID   string `path:"id" doc:"tenant id"`
			Body GDPRDSRCreate
		}) (*gdprDSROut, error) {
			tenant, err := gdprLiveTenant(ctx, s, in.ID, auth.PermGDPRWrite)
			if err != nil {
				return nil, err
			}
			d, err := svc.CreateDSR(ctx, tenant, gdpr.DSRInput{Type: gdpr.DSRType(in.Body.Type), SubjectID: in.Body.DataSubjectID,
				Email: in.Body.Email, Details: in.Body.Details, Format: gdpr.Format(in.Body.Format)})
			if err != nil {
				return nil, err
			}
			return &gdprDSROut{Status: http.StatusCreated, Body: gdprDSRView(d, now())}, nil
		})

	Register(s, huma.Operation{OperationID: "list-gdpr-requests", Method: http.MethodGet, Path: base,
		Summary: "List data-subject requests", Description: "Oldest first; filters status, type and overdue (open past the deadline in force).",
		Tags: tags, Security: BearerAuth},
		func(ctx context.Context, in *struct {
			ID      string `path:"id" doc:"tenant id"`
			Status  string `query:"status" enum:"RECEIVED,IDENTITY_PENDING,IN_PROGRESS,EXTENDED,COMPLETED,REJECTED"`
			Type    string `query:"type" enum:"ACCESS,RECTIFICATION,ERASURE,RESTRICTION,OBJECTION,PORTABILITY"`
			Overdue bool   `query:"overdue" doc:"only open requests past their deadline"`
			PageQuery
		}) (*struct{ Body Paginated[GDPRDSR] }, error) {
			tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermGDPRWrite)
			if err != nil {
				return nil, err
			}
			ds, err := svc.DSRs(ctx, tenant, gdpr.DSRFilter{Status: gdpr.DSRStatus(in.Status), Type: gdpr.DSRType(in.Type)}, in.Overdue)
			if err != nil {
				return nil, err
			}
			// A tenant has few requests (persons asking, not events): one page is cut
			// from the filtered list.
			page := in.ToPage()
			items := []GDPRDSR{}
			t := now()
			for i := page.Offset(); i < len(ds) && i < page.Offset()+page.Size; i++ {
				items = append(items, gdprDSRView(ds[i], t))
			}
			return &struct{ Body Paginated[GDPRDSR] }{Body: NewPaginated(items, len(ds), page)}, nil
		})

	Register(s, huma.Operation{OperationID: "get-gdpr-request", Method: http.MethodGet, Path: base + "/{rid}",
		Summary: "A data-subject request, its timeline and evidence", Tags: tags, Security: BearerAuth},
		func(ctx context.Context, in *gdprDSRPath) (*gdprDSROut, error) {
			tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermGDPRWrite)
			if err != nil {
				return nil, err
			}
			d, err := svc.DSR(ctx, tenant, in.RID)
			if err != nil {
				return nil, err
			}
			return &gdprDSROut{Status: http.StatusOK, Body: gdprDSRView(d, now())}, nil
		})

	// extend and reject take a reason and differ only in what they do with it.
	for _, act := range []struct {
		name, summary, description string
		do                         func(context.Context, eusaas.TenantID, string, string) (gdpr.DSR, error)
	}{
		{"extend", "Extend the deadline by two months (Art. 12(3))", "Once, before due_at; the notice to the data subject and its reason are recorded in the timeline.", svc.ExtendDSR},
		{"reject", "Refuse the request (Art. 12(5))", "Manifestly unfounded or excessive, or the identity could not be established; signs the evidence.", svc.RejectDSR},
	} {
		Register(s, huma.Operation{OperationID: act.name + "-gdpr-request", Method: http.MethodPost, Path: base + "/{rid}/" + act.name,
			Summary: act.summary, Description: act.description, Tags: tags, Security: BearerAuth},
			func(ctx context.Context, in *struct {
				ID   string `path:"id" doc:"tenant id"`
				RID  string `path:"rid" doc:"request id"`
				Body GDPRDSRReason
			}) (*gdprDSROut, error) {
				tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermGDPRWrite)
				if err != nil {
					return nil, err
				}
				d, err := act.do(ctx, tenant, in.RID, in.Body.Reason)
				if err != nil {
					return nil, err
				}
				return &gdprDSROut{Status: http.StatusOK, Body: gdprDSRView(d, now())}, nil
			})
	}

	Register(s, huma.Operation{OperationID: "verify-gdpr-request-identity", Method: http.MethodPost, Path: base + "/{rid}/verify-identity",
		Summary: "Record the identity check and start the work", Description: "ACCESS and PORTABILITY start the subject's export, ERASURE the subject erasure, RESTRICTION restricts and completes; the others await complete.",
		Tags: tags, Security: BearerAuth},
		func(ctx context.Context, in *struct {
			ID   string `path:"id" doc:"tenant id"`
			RID  string `path:"rid" doc:"request id"`
			Body GDPRDSRVerify
		}) (*gdprDSROut, error) {
			tenant, err := gdprLiveTenant(ctx, s, in.ID, auth.PermGDPRWrite)
			if err != nil {
				return nil, err
			}
			d, err := svc.VerifyIdentity(ctx, tenant, in.RID, in.Body.DataSubjectID, in.Body.Method)
			if err != nil {
				return nil, err
			}
			return &gdprDSROut{Status: http.StatusOK, Body: gdprDSRView(d, now())}, nil
		})

	Register(s, huma.Operation{OperationID: "complete-gdpr-request", Method: http.MethodPost, Path: base + "/{rid}/complete",
		Summary: "Complete the request and sign its evidence", Description: "After verify-identity; requests with an export or erasure once it finished (they also complete by themselves then).",
		Tags: tags, Security: BearerAuth},
		func(ctx context.Context, in *struct {
			ID   string `path:"id" doc:"tenant id"`
			RID  string `path:"rid" doc:"request id"`
			Body *GDPRDSRComplete
		}) (*gdprDSROut, error) {
			tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermGDPRWrite)
			if err != nil {
				return nil, err
			}
			var outcome string
			if in.Body != nil {
				outcome = in.Body.Outcome
			}
			d, err := svc.CompleteDSR(ctx, tenant, in.RID, outcome)
			if err != nil {
				return nil, err
			}
			return &gdprDSROut{Status: http.StatusOK, Body: gdprDSRView(d, now())}, nil
		})
}
