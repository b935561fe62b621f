package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/eusaas/eusaas/gdpr"
)

// GDPRBreachCreate is a new entry of the Art. 33 breach register.
type GDPRBreachCreate struct {
	DetectedAt      time.Time `json:"detected_at" doc:"when the platform became aware of the breach; the 72 hours run from here"`
	Description     string    `json:"description" minLength:"1" maxLength:"5000" doc:"nature of the breach"`
	Categories      []string  `json:"categories" minItems:"1" maxItems:"50" doc:"categories of personal data concerned"`
	AffectedTenants []string  `json:"affected_tenants" maxItems:"10000" doc:"tenant ids (the controllers to inform)"`
	ApproxSubjects  int       `json:"approx_subjects" minimum:"0" doc:"approximate number of data subjects concerned"`
	Measures        string    `json:"measures,omitempty" maxLength:"5000" doc:"measures taken or proposed"`
}

// GDPRBreachNotified records the authority notification.
type GDPRBreachNotified struct {
	NotifiedAt *time.Time `json:"notified_at,omitempty" doc:"when the supervisory authority was notified (now when absent)"`
}

// GDPRControllerNotice is the Art. 33(2) notice drafted for one affected tenant.
type GDPRControllerNotice struct {
	TenantID string `json:"tenant_id"`
	Subject  string `json:"subject"`
	Body     string `json:"body"`
}

// GDPRBreach is a register entry.
type GDPRBreach struct {
	ID                string                 `json:"id"`
	DetectedAt        time.Time              `json:"detected_at"`
	Description       string                 `json:"description"`
	Categories        []string               `json:"categories"`
	AffectedTenants   []string               `json:"affected_tenants"`
	ApproxSubjects    int                    `json:"approx_subjects"`
	Measures          string                 `json:"measures"`
	NotifyAuthorityBy time.Time              `json:"notify_authority_by" doc:"detected_at + 72 h (Art. 33(1))"`
	Status            string                 `json:"status" enum:"OPEN,NOTIFIED"`
	NotifiedAt        *time.Time             `json:"notified_at"`
	Overdue           bool                   `json:"overdue"`
	RecordedAt        time.Time              `json:"recorded_at"`
	RecordedBy        string                 `json:"recorded_by"`
	Notices           []GDPRControllerNotice `json:"controller_notices" doc:"a notice to each affected tenant (Art. 33(2)), ready to send"`
}

// GDPRBreachList is the register.
type GDPRBreachList struct {
	Items []GDPRBreach `json:"items"`
}

func gdprBreachView(b gdpr.Breach, now time.Time) GDPRBreach {
	v := GDPRBreach{ID: b.ID, DetectedAt: b.DetectedAt, Description: b.Description, Categories: b.Categories,
		AffectedTenants: []string{}, ApproxSubjects: b.ApproxSubjects, Measures: b.Measures, NotifyAuthorityBy: b.NotifyAuthorityBy,
		Status: string(b.Status), NotifiedAt: gdprTime(b.NotifiedAt), Overdue: b.Overdue(now), RecordedAt: b.RecordedAt,
		RecordedBy: b.RecordedBy, Notices: []GDPRControllerNotice{}}
	for _, t := range b.AffectedTenants {
		v.AffectedTenants = append(v.AffectedTenants, t.String())
	}
	for _, n := range b.ControllerNotices() {
		v.Notices = append(v.Notices, GDPRControllerNotice{TenantID: n.TenantID.String(), Subject: n.Subject, Body: n.Body})
	}
	if v.Categories == nil {
		v.Categories = []string{}
	}
	return v
}

// registerGDPRBreaches adds the operators' Art. 33 breach register.
func registerGDPRBreaches(s *Server, svc *gdpr.Service) {
	tags := []string{"GDPR operations"}
	Register(s, huma.Operation{OperationID: "create-gdpr-breach", Method: http.MethodPost, Path: "/api/v1/gdpr/breaches",
		Summary: "Record a personal data breach (Art. 33)", Description: "Operators. The answer carries notify_authority_by (detected_at + 72 h) and a notice to each affected tenant (Art. 33(2)).",
		Tags: tags, Security: BearerAuth, DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *struct{ Body GDPRBreachCreate }) (*struct{ Body GDPRBreach }, error) {
			if _, err := s.Operator(ctx); err != nil {
				return nil, err
			}
			b, err := svc.RecordBreach(ctx, gdpr.BreachInput{DetectedAt: in.Body.DetectedAt, Description: in.Body.Description,
				Categories: in.Body.Categories, AffectedTenants: in.Body.AffectedTenants, ApproxSubjects: in.Body.ApproxSubjects, Measures: in.Body.Measures})
			if err != nil {
				return nil, err
			}
			return &struct{ Body GDPRBreach }{Body: gdprBreachView(b, svc.Now())}, nil
		})

	Register(s, huma.Operation{OperationID: "list-gdpr-breaches", Method: http.MethodGet, Path: "/api/v1/gdpr/breaches",
		Summary: "The breach register (Art. 33(5))", Description: "Operators; most recently detected first.", Tags: tags, Security: BearerAuth},
		func(ctx context.Context, _ *struct{}) (*struct{ Body GDPRBreachList }, error) {
			if _, err := s.Operator(ctx); err != nil {
				return nil, err
			}
			bs, err := svc.Breaches(ctx)
			if err != nil {
				return nil, err
			}
			out := &struct{ Body GDPRBreachList }{}
			out.Body.Items = []GDPRBreach{}
			now := svc.Now()
			for _, b := range bs {
				out.Body.Items = append(out.Body.Items, gdprBreachView(b, now))
			}
			return out, nil
		})

	Register(s, huma.Operation{OperationID: "get-gdpr-breach", Method: http.MethodGet, Path: "/api/v1/gdpr/breaches/{breach_id}",
		Summary: "One breach and its notices to the controllers", Tags: tags, Security: BearerAuth},
		func(ctx context.Context, in *struct {
			BreachID string `path:"breach_id"`
		}) (*struct{ Body GDPRBreach }, error) {
			if _, err := s.Operator(ctx); err != nil {
				return nil, err
			}
			b, err := svc.Breach(ctx, in.BreachID)
			if err != nil {
				return nil, err
			}
			return &struct{ Body GDPRBreach }{Body: gdprBreachView(b, svc.Now())}, nil
		})

	Register(s, huma.Operation{OperationID: "notify-gdpr-breach", Method: http.MethodPost, Path: "/api/v1/gdpr/breaches/{breach_id}/notified",
		Summary: "Record the supervisory authority notification", Tags: tags, Security: BearerAuth},
		func(ctx context.Context, in *struct {
			BreachID string `path:"breach_id"`
			Body     *GDPRBreachNotified
		}) (*struct{ Body GDPRBreach }, error) {
			if _, err := s.Operator(ctx); err != nil {
				return nil, err
			}
			var at time.Time
			if in.Body != nil && in.Body.NotifiedAt != nil {
				at = *in.Body.NotifiedAt
			}
			b, err := svc.MarkBreachNotified(ctx, in.BreachID, at)
			if err != nil {
				return nil, err
			}
			return &struct{ Body GDPRBreach }{Body: gdprBreachView(b, svc.Now())}, nil
		})
}

// registerGDPRRecords adds the operators' Art. 30(2) record of processing, as JSON and as
// Markdown (for the file a controller or authority asks for).
func registerGDPRRecords(s *Server, svc *gdpr.Service) {
	tags := []string{"GDPR operations"}
	Register(s, huma.Operation{OperationID: "get-gdpr-records-of-processing", Method: http.MethodGet, Path: "/api/v1/gdpr/records-of-processing",
		Summary: "The Art. 30(2) record of processing", Description: "Operators. Built from the platform's data map: categories of data and subjects per module and store, purposes, retention, erasure, sub-processors, security measures.",
		Tags: tags, Security: BearerAuth},
		func(ctx context.Context, _ *struct{}) (*struct{ Body gdpr.RecordsOfProcessing }, error) {
			if _, err := s.Operator(ctx); err != nil {
				return nil, err
			}
			return &struct{ Body gdpr.RecordsOfProcessing }{Body: svc.RecordsOfProcessing("")}, nil
		})
	Register(s, huma.Operation{OperationID: "get-gdpr-records-of-processing-markdown", Method: http.MethodGet, Path: "/api/v1/gdpr/records-of-processing/markdown",
		Summary: "The Art. 30(2) record of processing as Markdown", Tags: tags, Security: BearerAuth,
		Responses: map[string]*huma.Response{"200": {Description: "text/markdown", Content: map[string]*huma.MediaType{"text/markdown": {}}}}},
		func(ctx context.Context, _ *struct{}) (*huma.StreamResponse, error) {
			if _, err := s.Operator(ctx); err != nil {
				return nil, err
			}
			md := svc.RecordsOfProcessing("").Markdown()
			return &huma.StreamResponse{Body: func(hctx huma.Context) {
				hctx.SetHeader("Content-Type", "text/markdown; charset=utf-8")
				_, _ = hctx.BodyWriter().Write([]byte(md))
			}}, nil
		})
}
