package httpapi

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/gdpr"
)

// GDPRExportJob is the state of an export request.
type GDPRExportJob struct {
	JobID            string     `json:"job_id"`
	TenantID         string     `json:"tenant_id"`
	Status           string     `json:"status" enum:"PENDING,PROCESSING,COMPLETED,FAILED,EXPIRED"`
	Progress         int        `json:"progress" doc:"percent done"`
	Format           string     `json:"format" enum:"json,csv,xml"`
	DataSubjects     []string   `json:"data_subjects,omitempty"`
	IncludeAuditLogs bool       `json:"include_audit_logs"`
	RequestedAt      time.Time  `json:"requested_at"`
	DueAt            time.Time  `json:"due_at" doc:"GDPR Art. 12(3) deadline: one calendar month from receipt"`
	CompletedAt      *time.Time `json:"completed_at"`
	ExpiresAt        *time.Time `json:"expires_at"`
	DownloadURL      *string    `json:"download_url" doc:"works without a bearer token until expires_at"`
	SHA256           *string    `json:"sha256,omitempty" doc:"SHA-256 of the archive file"`
	ErrorMessage     *string    `json:"error_message"`
}

// GDPRErasureJob is the state of a subject erasure request.
type GDPRErasureJob struct {
	JobID               string                  `json:"job_id"`
	TenantID            string                  `json:"tenant_id"`
	DataSubjectID       string                  `json:"data_subject_id"`
	Status              string                  `json:"status" enum:"PENDING,PROCESSING,COMPLETED,FAILED"`
	RequestedAt         time.Time               `json:"requested_at"`
	DueAt               time.Time               `json:"due_at"`
	EstimatedCompletion time.Time               `json:"estimated_completion"`
	CompletedAt         *time.Time              `json:"completed_at"`
	Counts              map[string]int          `json:"counts,omitempty"`
	ErrorMessage        *string                 `json:"error_message"`
	Certificate         *gdpr.SignedCertificate `json:"certificate,omitempty" doc:"signed erasure certificate (Ed25519 over the exact certificate bytes)"`
}

// GDPRRetention is a retention policy.
type GDPRRetention struct {
	TenantID              string     `json:"tenant_id"`
	DefaultRetentionDays  int        `json:"default_retention_days"`
	AuditLogRetentionDays int        `json:"audit_log_retention_days"`
	BackupRetentionDays   int        `json:"backup_retention_days"`
	PIIRetentionDays      int        `json:"pii_retention_days"`
	UpdatedAt             *time.Time `json:"updated_at"`
	UpdatedBy             *string    `json:"updated_by"`
}

// GDPRTenantErasure is a tenant erasure saga as operators see it.
type GDPRTenantErasure struct {
	TenantID        string                  `json:"tenant_id"`
	RequestID       string                  `json:"request_id"`
	Status          string                  `json:"status" enum:"PENDING,PROCESSING,COMPLETED,FAILED,EXPIRED"`
	Progress        int                     `json:"progress"`
	RequestedAt     time.Time               `json:"requested_at"`
	DueAt           time.Time               `json:"due_at"`
	CompletedAt     *time.Time              `json:"completed_at"`
	Steps           []gdpr.StepState        `json:"steps"`
	BackupKeyStatus *string                 `json:"backup_key_status" enum:"ACTIVE,DESTROYED"`
	KeyDestroyAfter *time.Time              `json:"backup_key_destroy_after"`
	KeyDestroyedAt  *time.Time              `json:"backup_key_destroyed_at"`
	Certificate     *gdpr.SignedCertificate `json:"certificate,omitempty" doc:"signed erasure certificate; absent until the saga completes"`
}

// GDPRLegalHold is a legal hold.
type GDPRLegalHold struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"tenant_id"`
	Reason    string    `json:"reason"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

func gdprTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func gdprStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func gdprExportView(svc *gdpr.Service, r gdpr.Request) GDPRExportJob {
	v := GDPRExportJob{JobID: r.ID, TenantID: r.TenantID.String(), Status: string(r.Status), Progress: r.Progress,
		Format: string(r.Format), DataSubjects: r.Subjects, IncludeAuditLogs: r.IncludeAuditLogs, RequestedAt: r.RequestedAt,
		DueAt: r.DueAt, CompletedAt: gdprTime(r.CompletedAt), ErrorMessage: gdprStr(r.ErrorMessage)}
	if r.Status == gdpr.StatusCompleted || r.Status == gdpr.StatusExpired {
		v.ExpiresAt = gdprTime(r.ExpiresAt)
		v.SHA256 = gdprStr(r.ArchiveSHA256)
	}
	v.DownloadURL = gdprStr(svc.DownloadURL(r))
	return v
}

func gdprErasureView(svc *gdpr.Service, r gdpr.Request) GDPRErasureJob {
	return GDPRErasureJob{JobID: r.ID, TenantID: r.TenantID.String(), DataSubjectID: r.SubjectID, Status: string(r.Status),
		RequestedAt: r.RequestedAt, DueAt: r.DueAt, EstimatedCompletion: svc.EstimatedCompletion(r), CompletedAt: gdprTime(r.CompletedAt),
		Counts: r.Counts, ErrorMessage: gdprStr(r.ErrorMessage), Certificate: r.Certificate}
}

func gdprRetentionView(p gdpr.Policy) GDPRRetention {
	return GDPRRetention{TenantID: p.TenantID.String(), DefaultRetentionDays: p.DefaultRetentionDays,
		AuditLogRetentionDays: p.AuditLogRetentionDays, BackupRetentionDays: p.BackupRetentionDays,
		PIIRetentionDays: p.PIIRetentionDays, UpdatedAt: gdprTime(p.UpdatedAt), UpdatedBy: gdprStr(p.UpdatedBy)}
}

// The request and response bodies are named types: generated clients name schemas after
// them, and huma's names for anonymous bodies ("<operation>Request") collide with the
// "<Operation>Response" types generators such as oapi-codegen create.

// GDPRExportRequest asks for an export (Art. 20).
type GDPRExportRequest struct {
	DataSubjects     []string `json:"data_subjects,omitempty" maxItems:"1000" doc:"only these subjects' rows"`
	Format           string   `json:"format" enum:"json,csv,xml" doc:"archive format"`
	IncludeAuditLogs bool     `json:"include_audit_logs,omitempty"`
}

// GDPRErasureRequest asks for a data subject's erasure (Art. 17).
type GDPRErasureRequest struct {
	DataSubjectID string `json:"data_subject_id"`
	Reason        string `json:"reason,omitempty"`
}

// GDPRRetentionRequest is a tenant's retention policy as set.
type GDPRRetentionRequest struct {
	DefaultRetentionDays  int `json:"default_retention_days" minimum:"1" maximum:"3650"`
	AuditLogRetentionDays int `json:"audit_log_retention_days" minimum:"30" maximum:"3650"`
	BackupRetentionDays   int `json:"backup_retention_days" minimum:"7" maximum:"365"`
	PIIRetentionDays      int `json:"pii_retention_days" minimum:"1" maximum:"3650"`
}

// GDPRLegalHoldRequest places a legal hold.
type GDPRLegalHoldRequest struct {
	Reason string `json:"reason" maxLength:"500"`
}

// GDPRLegalHoldList is a tenant's legal holds.
type GDPRLegalHoldList struct {
	Items []GDPRLegalHold `json:"items"`
}

// GDPRSigningKey is the published key of export manifests and erasure certificates.
type GDPRSigningKey struct {
	Algorithm string `json:"algorithm" enum:"Ed25519"`
	PublicKey string `json:"public_key" doc:"base64 raw Ed25519 public key"`
}

type gdprTenantPath struct {
	ID string `path:"id" doc:"tenant id"`
}

type gdprJobPath struct {
	ID    string `path:"id" doc:"tenant id"`
	JobID string `path:"job_id"`
}

type gdprExportOut struct {
	Status int
	Body   GDPRExportJob
}

type gdprErasureOut struct {
	Status int
	Body   GDPRErasureJob
}

type gdprRetentionOut struct {
	Body GDPRRetention
}

// RegisterGDPR adds the GDPR routes: exports, subject erasure, retention, the token-carrying
// download, the published signing key, and operators' legal holds and tenant erasure
// certificates.
func RegisterGDPR(s *Server, svc *gdpr.Service) {
	tags := []string{"GDPR"}

	Register(s, huma.Operation{OperationID: "create-gdpr-export", Method: http.MethodPost, Path: "/api/v1/tenants/{id}/gdpr/export",
		Summary: "Export the tenant's data (Art. 20)", Description: "Creates an export job; the archive holds every table (or the rows of the listed data subjects) as JSON, CSV or XML plus a signed manifest.",
		Tags: tags, Security: BearerAuth, DefaultStatus: http.StatusAccepted},
		func(ctx context.Context, in *struct {
			ID   string `path:"id" doc:"tenant id"`
			Body GDPRExportRequest
		}) (*gdprExportOut, error) {
			tenant, err := gdprLiveTenant(ctx, s, in.ID, auth.PermGDPRWrite)
			if err != nil {
				return nil, err
			}
			r, err := svc.RequestExport(ctx, tenant, gdpr.ExportRequest{Subjects: in.Body.DataSubjects,
				Format: gdpr.Format(in.Body.Format), IncludeAuditLogs: in.Body.IncludeAuditLogs})
			if err != nil {
				return nil, err
			}
			return &gdprExportOut{Status: http.StatusAccepted, Body: gdprExportView(svc, r)}, nil
		})

	Register(s, huma.Operation{OperationID: "get-gdpr-export", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/gdpr/export/{job_id}",
		Summary: "Export job status", Tags: tags, Security: BearerAuth},
		func(ctx context.Context, in *gdprJobPath) (*gdprExportOut, error) {
			tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermGDPRRead)
			if err != nil {
				return nil, err
			}
			r, err := svc.Request(ctx, tenant, gdpr.KindExport, in.JobID)
			if err != nil {
				return nil, err
			}
			return &gdprExportOut{Status: http.StatusOK, Body: gdprExportView(svc, r)}, nil
		})

	Register(s, huma.Operation{OperationID: "download-gdpr-export", Method: http.MethodGet, Path: "/api/v1/gdpr/downloads/{token}",
		Summary: "Download an export archive", Description: "Needs no bearer token: the path carries an expiring signed token (72 h).",
		Tags: tags, Security: Public,
		// A streamed body has no Go type for huma to describe: declared here so generated
		// clients hand the archive to the caller instead of discarding it.
		Responses: map[string]*huma.Response{"200": {Description: "The ZIP archive (manifest, signature and the data files)",
			Content: map[string]*huma.MediaType{"application/zip": {Schema: &huma.Schema{Type: huma.TypeString, Format: "binary"}}}}}},
		func(ctx context.Context, in *struct {
			Token string `path:"token" maxLength:"2048"`
		}) (*huma.StreamResponse, error) {
			rc, size, r, err := svc.OpenDownload(ctx, in.Token)
			if err != nil {
				return nil, err
			}
			return &huma.StreamResponse{Body: func(hctx huma.Context) {
				defer rc.Close()
				hctx.SetHeader("Content-Type", "application/zip")
				hctx.SetHeader("Content-Length", strconv.FormatInt(size, 10))
				hctx.SetHeader("Content-Disposition", `attachment; filename="gdpr-export-`+r.ID+`.zip"`)
				hctx.SetHeader("Cache-Control", "no-store")
				_, _ = io.Copy(hctx.BodyWriter(), rc)
			}}, nil
		})

	Register(s, huma.Operation{OperationID: "get-gdpr-signing-key", Method: http.MethodGet, Path: "/api/v1/gdpr/signing-key",
		Summary: "The Ed25519 key that signs export manifests and erasure certificates", Tags: tags, Security: Public},
		func(ctx context.Context, _ *struct{}) (*struct{ Body GDPRSigningKey }, error) {
			out := &struct{ Body GDPRSigningKey }{}
			out.Body.Algorithm = "Ed25519"
			out.Body.PublicKey = base64.StdEncoding.EncodeToString(svc.PublicKey())
			return out, nil
		})

	Register(s, huma.Operation{OperationID: "create-gdpr-erasure", Method: http.MethodPost, Path: "/api/v1/tenants/{id}/gdpr/erase",
		Summary: "Erase a data subject (Art. 17)", Description: "202 with a new job; erasing a subject already erased (or being erased) answers 200 with the existing job.",
		Tags: tags, Security: BearerAuth, DefaultStatus: http.StatusAccepted,
		Responses: map[string]*huma.Response{"200": {Description: "The subject's existing erasure request, unchanged",
			Content: map[string]*huma.MediaType{"application/json": {
				Schema: s.API().OpenAPI().Components.Schemas.Schema(reflect.TypeFor[GDPRErasureJob](), true, "")}}}}},
		func(ctx context.Context, in *struct {
			ID   string `path:"id" doc:"tenant id"`
			Body GDPRErasureRequest
		}) (*gdprErasureOut, error) {
			tenant, err := gdprLiveTenant(ctx, s, in.ID, auth.PermGDPRWrite)
			if err != nil {
				return nil, err
			}
			r, created, err := svc.RequestErasure(ctx, tenant, in.Body.DataSubjectID, in.Body.Reason)
			if err != nil {
				return nil, err
			}
			status := http.StatusAccepted
			if !created {
				status = http.StatusOK // the existing request, unchanged
			}
			return &gdprErasureOut{Status: status, Body: gdprErasureView(svc, r)}, nil
		})

	Register(s, huma.Operation{OperationID: "get-gdpr-erasure", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/gdpr/erase/{job_id}",
		Summary: "Erasure job status and certificate", Tags: tags, Security: BearerAuth},
		func(ctx context.Context, in *gdprJobPath) (*gdprErasureOut, error) {
			tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermGDPRRead)
			if err != nil {
				return nil, err
			}
			r, err := svc.Request(ctx, tenant, gdpr.KindSubjectErasure, in.JobID)
			if err != nil {
				return nil, err
			}
			return &gdprErasureOut{Status: http.StatusOK, Body: gdprErasureView(svc, r)}, nil
		})

	Register(s, huma.Operation{OperationID: "get-gdpr-retention", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/gdpr/retention",
		Summary: "Retention policy", Tags: tags, Security: BearerAuth},
		func(ctx context.Context, in *gdprTenantPath) (*gdprRetentionOut, error) {
			tenant, err := gdprLiveTenant(ctx, s, in.ID, auth.PermGDPRRead)
			if err != nil {
				return nil, err
			}
			p, err := svc.RetentionPolicy(ctx, tenant)
			if err != nil {
				return nil, err
			}
			return &gdprRetentionOut{Body: gdprRetentionView(p)}, nil
		})

	Register(s, huma.Operation{OperationID: "put-gdpr-retention", Method: http.MethodPut, Path: "/api/v1/tenants/{id}/gdpr/retention",
		Summary: "Set the retention policy", Tags: tags, Security: BearerAuth},
		func(ctx context.Context, in *struct {
			ID   string `path:"id" doc:"tenant id"`
			Body GDPRRetentionRequest
		}) (*gdprRetentionOut, error) {
			tenant, err := gdprLiveTenant(ctx, s, in.ID, auth.PermGDPRWrite)
			if err != nil {
				return nil, err
			}
			p, err := svc.SetRetentionPolicy(ctx, gdpr.Policy{TenantID: tenant, DefaultRetentionDays: in.Body.DefaultRetentionDays,
				AuditLogRetentionDays: in.Body.AuditLogRetentionDays, BackupRetentionDays: in.Body.BackupRetentionDays,
				PIIRetentionDays: in.Body.PIIRetentionDays})
			if err != nil {
				return nil, err
			}
			return &gdprRetentionOut{Body: gdprRetentionView(p)}, nil
		})

	// Operators: legal holds and erasure certificates of (deleted) tenants.
	opTags := []string{"GDPR operations"}
	Register(s, huma.Operation{OperationID: "create-legal-hold", Method: http.MethodPost, Path: "/api/v1/tenants/{id}/gdpr/legal-holds",
		Summary: "Place a legal hold (blocks erasure)", Tags: opTags, Security: BearerAuth, DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *struct {
			ID   string `path:"id" doc:"tenant id"`
			Body GDPRLegalHoldRequest
		}) (*struct{ Body GDPRLegalHold }, error) {
			if _, err := s.Operator(ctx); err != nil {
				return nil, err
			}
			tenant, err := gdprParseTenant(in.ID)
			if err != nil {
				return nil, err
			}
			if err := gdprTenantExists(ctx, s, tenant); err != nil {
				return nil, err
			}
			h, err := svc.PlaceHold(ctx, tenant, in.Body.Reason)
			if err != nil {
				return nil, err
			}
			return &struct{ Body GDPRLegalHold }{Body: gdprHoldView(h)}, nil
		})

	Register(s, huma.Operation{OperationID: "list-legal-holds", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/gdpr/legal-holds",
		Summary: "List legal holds", Tags: opTags, Security: BearerAuth},
		func(ctx context.Context, in *gdprTenantPath) (*struct{ Body GDPRLegalHoldList }, error) {
			if _, err := s.Operator(ctx); err != nil {
				return nil, err
			}
			tenant, err := gdprParseTenant(in.ID)
			if err != nil {
				return nil, err
			}
			hs, err := svc.Holds(ctx, tenant)
			if err != nil {
				return nil, err
			}
			out := &struct{ Body GDPRLegalHoldList }{}
			out.Body.Items = []GDPRLegalHold{}
			for _, h := range hs {
				out.Body.Items = append(out.Body.Items, gdprHoldView(h))
			}
			return out, nil
		})

	Register(s, huma.Operation{OperationID: "delete-legal-hold", Method: http.MethodDelete, Path: "/api/v1/tenants/{id}/gdpr/legal-holds/{hold_id}",
		Summary: "Release a legal hold", Tags: opTags, Security: BearerAuth, DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *struct {
			ID     string `path:"id" doc:"tenant id"`
			HoldID string `path:"hold_id"`
		}) (*struct{}, error) {
			if _, err := s.Operator(ctx); err != nil {
				return nil, err
			}
			tenant, err := gdprParseTenant(in.ID)
			if err != nil {
				return nil, err
			}
			return nil, svc.ReleaseHold(ctx, tenant, in.HoldID)
		})

	Register(s, huma.Operation{OperationID: "get-tenant-erasure", Method: http.MethodGet, Path: "/api/v1/gdpr/tenant-erasures/{id}",
		Summary: "A tenant's erasure saga and signed certificate", Description: "For operators; available after the tenant is deleted.",
		Tags: opTags, Security: BearerAuth},
		func(ctx context.Context, in *gdprTenantPath) (*struct{ Body GDPRTenantErasure }, error) {
			if _, err := s.Operator(ctx); err != nil {
				return nil, err
			}
			tenant, err := gdprParseTenant(in.ID)
			if err != nil {
				return nil, err
			}
			r, err := svc.TenantErasure(ctx, tenant)
			if err != nil {
				return nil, err
			}
			v := GDPRTenantErasure{TenantID: tenant.String(), RequestID: r.ID, Status: string(r.Status), Progress: r.Progress,
				RequestedAt: r.RequestedAt, DueAt: r.DueAt, CompletedAt: gdprTime(r.CompletedAt), Steps: r.Steps, Certificate: r.Certificate}
			if after, destroyed, err := svc.BackupKeyStatus(ctx, tenant); err == nil {
				st := "ACTIVE"
				if !destroyed.IsZero() {
					st = "DESTROYED"
				}
				v.BackupKeyStatus, v.KeyDestroyAfter, v.KeyDestroyedAt = &st, gdprTime(after), gdprTime(destroyed)
			} else if eusaas.KindOf(err) != eusaas.NotFound {
				return nil, err
			}
			return &struct{ Body GDPRTenantErasure }{Body: v}, nil
		})
}

func gdprParseTenant(id string) (eusaas.TenantID, error) {
	t, err := eusaas.ParseTenantID(id)
	if err != nil {
		var v eusaas.Violations
		v.Add("path.id", "must be a UUID")
		return eusaas.NilTenant, v.Err()
	}
	return t, nil
}

func gdprHoldView(h gdpr.LegalHold) GDPRLegalHold {
	return GDPRLegalHold{ID: h.ID, TenantID: h.TenantID.String(), Reason: h.Reason, CreatedAt: h.CreatedAt, CreatedBy: h.CreatedBy}
}

// gdprLiveTenant is TenantAccess for the routes that create GDPR state (export, erasure,
// retention, legal holds): operators pass TenantAccess for any id, so the tenant must also
// exist and not be DELETED (404), else a typo'd id would get a policy, a job and an audit
// chain of its own. Tenant users were checked by the tenant gate already.
func gdprLiveTenant(ctx context.Context, s *Server, idParam string, perm auth.Permission) (eusaas.TenantID, error) {
	tenant, p, err := s.TenantAccess(ctx, idParam, perm)
	if err != nil {
		return tenant, err
	}
	if p.Kind == eusaas.ActorUser {
		return tenant, nil
	}
	return tenant, gdprTenantExists(ctx, s, tenant)
}

// gdprTenantExists answers 404 for an unknown or DELETED tenant (when a gate is wired).
func gdprTenantExists(ctx context.Context, s *Server, tenant eusaas.TenantID) error {
	if s.opts.TenantGate == nil {
		return nil
	}
	status, err := s.opts.TenantGate.TenantStatus(ctx, tenant)
	switch {
	case eusaas.KindOf(err) == eusaas.NotFound || (err == nil && status == "DELETED"):
		return errTenantNotFound
	default:
		return err
	}
}
