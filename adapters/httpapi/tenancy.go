package httpapi

import (
	"context"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/tenancy"
)

// TenantSettingsBody is a tenant's settings as JSON.
type TenantSettingsBody struct {
	MaxUsers                 int    `json:"max_users" doc:"Maximum number of users"`
	StorageLimitGB           int    `json:"storage_limit_gb" doc:"Storage limit in GB"`
	APIRateLimit             int    `json:"api_rate_limit" doc:"API requests per minute"`
	DataRetentionDays        int    `json:"data_retention_days" doc:"Default data retention in days"`
	CostAlertThreshold       string `json:"cost_alert_threshold" doc:"Monthly cost (EUR, decimal string) above which an alert is raised" example:"1000"`
	AnomalyMinImpact         string `json:"anomaly_min_impact" doc:"Minimum absolute impact (EUR, decimal string) a cost anomaly needs to be reported" example:"5.00"`
	AllowSelfRegistration    bool   `json:"allow_self_registration" doc:"Users may register without an invitation"`
	RequireEmailVerification bool   `json:"require_email_verification" doc:"Users must verify their e-mail address before they can log in (invited users are verified by accepting)"`
	MFARequired              bool   `json:"mfa_required" doc:"Users must use a second factor (TOTP). A user without one who logs in gets tokens good only for enrolling one (POST /auth/mfa/totp, /auth/mfa/totp/confirm, then refresh); every other route answers 403 mfa_enrolment_required"`
}

// TenantBody is a tenant as JSON.
type TenantBody struct {
	ID                  string             `json:"id" format:"uuid"`
	Name                string             `json:"name"`
	Slug                string             `json:"slug"`
	Status              string             `json:"status" enum:"PENDING,PROVISIONING,ACTIVE,SUSPENDED,DEPROVISIONING,DELETED"`
	Tier                string             `json:"tier" enum:"FREE,STARTER,PROFESSIONAL,ENTERPRISE"`
	PlanCode            string             `json:"plan_code" doc:"The billing plan the tenant is on (GET /billing/plans); empty when none"`
	SchemaName          string             `json:"schema_name" doc:"Postgres schema holding the tenant's data, derived from its id"`
	DataResidencyRegion string             `json:"data_residency_region" doc:"EU region where the tenant's data is to be kept. On a Citus cluster with nodes labelled by region (APP_CITUS_REGION_NODES) the tenant's schema is placed on a node of this region, and a change (operators, PATCH) moves it in a background job. Without Citus it is a label only: every tenant's data stays on the one PostgreSQL server (or in memory)."`
	AdminEmail          string             `json:"admin_email" doc:"Empty once the tenant is deleted"`
	Metadata            map[string]string  `json:"metadata"`
	Settings            TenantSettingsBody `json:"settings"`
	StatusReason        string             `json:"status_reason,omitempty" doc:"Why the tenant is in its status, e.g. a provisioning failure"`
	CreatedAt           time.Time          `json:"created_at"`
	UpdatedAt           time.Time          `json:"updated_at"`
	DeletedAt           *time.Time         `json:"deleted_at,omitempty"`
	Placement           *TenantPlacement   `json:"placement,omitempty" readOnly:"true" doc:"Platform operators only: where the tenant's schema is placed on the Citus cluster, as last recorded. Absent without Citus (the region is a label only) and before the first placement."`
}

// TenantPlacement is where a tenant's schema is placed on a Citus cluster.
type TenantPlacement struct {
	Node     string    `json:"node" doc:"The Citus worker node holding the schema (host:port)"`
	Region   string    `json:"region" doc:"The data residency region it was placed for"`
	PlacedAt time.Time `json:"placed_at"`
}

func tenancyBody(t tenancy.Tenant) TenantBody {
	md := t.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return TenantBody{
		ID: t.ID.String(), Name: t.Name, Slug: t.Slug, Status: string(t.Status), Tier: string(t.Tier), PlanCode: t.PlanCode,
		SchemaName: t.SchemaName, DataResidencyRegion: t.Region, AdminEmail: t.AdminEmail, Metadata: md,
		Settings: TenantSettingsBody{
			MaxUsers: t.Settings.MaxUsers, StorageLimitGB: t.Settings.StorageLimitGB, APIRateLimit: t.Settings.APIRateLimit,
			DataRetentionDays: t.Settings.DataRetentionDays, CostAlertThreshold: t.Settings.CostAlertThreshold.StringFixed(2),
			AnomalyMinImpact:         t.Settings.AnomalyMinImpact.StringFixed(2),
			AllowSelfRegistration:    t.Settings.AllowSelfRegistration,
			RequireEmailVerification: t.Settings.RequireEmailVerification,
			MFARequired:              t.Settings.MFARequired,
		},
		StatusReason: t.StatusReason, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, DeletedAt: t.DeletedAt,
	}
}

// tenancyETag is the strong entity tag of a tenant version.
func tenancyETag(t tenancy.Tenant) string { return `"` + strconv.FormatInt(t.Version, 10) + `"` }

// tenancyIfMatch turns an If-Match header into the version the update requires: 0 for none
// or "*"; -1 (matching nothing, hence 412) for a list or tag that is not one of ours.
func tenancyIfMatch(h string) int64 {
	h = strings.TrimSpace(h)
	if h == "" || h == "*" {
		return 0
	}
	// If-Match uses the strong comparison (RFC 9110 13.1.1): weak tags never match.
	if !strings.HasPrefix(h, `"`) || !strings.HasSuffix(h, `"`) || len(h) < 3 {
		return -1
	}
	v, err := strconv.ParseInt(h[1:len(h)-1], 10, 64)
	if err != nil || v <= 0 {
		return -1
	}
	return v
}

type tenancyOne struct {
	ETag string `header:"ETag"`
	Body TenantBody
}

// tenancyDeleted answers DELETE: 200 when the tenant is DELETED, 202 while the erasure runs.
type tenancyDeleted struct {
	Status int
	ETag   string `header:"ETag"`
	Body   TenantBody
}

type tenancyIDInput struct {
	ID string `path:"id" doc:"Tenant id (UUID)"`
}

type tenancyCreateInput struct {
	Body struct {
		Name                string            `json:"name" minLength:"1" maxLength:"200"`
		Slug                string            `json:"slug" minLength:"2" maxLength:"64" pattern:"^[a-z0-9]+(-[a-z0-9]+)*$"`
		Tier                string            `json:"tier,omitempty" enum:"FREE,STARTER,PROFESSIONAL,ENTERPRISE" doc:"FREE when absent"`
		AdminEmail          string            `json:"admin_email" format:"email" doc:"Receives the owner invitation"`
		DataResidencyRegion string            `json:"data_residency_region,omitempty" doc:"An EU region; eu-central-1 when absent"`
		Metadata            map[string]string `json:"metadata,omitempty"`
	}
}

type tenancyInvitationBody struct {
	Token     string    `json:"token" doc:"Shown once: the owner registers with it"`
	ExpiresAt time.Time `json:"expires_at"`
}

type tenancyCreatedBody struct {
	TenantBody
	OwnerInvitation *tenancyInvitationBody `json:"owner_invitation,omitempty"`
}

type tenancyCreateOutput struct {
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	// CacheControl keeps the owner invitation token out of every cache, as on the
	// invitation and token endpoints.
	CacheControl string `header:"Cache-Control"`
	Body         tenancyCreatedBody
}

type tenancyListInput struct {
	PageQuery
	Status string `query:"status" enum:"PENDING,PROVISIONING,ACTIVE,SUSPENDED,DEPROVISIONING,DELETED" doc:"Only tenants in this status"`
}

type tenancyListOutput struct {
	Body Paginated[TenantBody]
}

type tenancySettingsPatch struct {
	MaxUsers                 *int    `json:"max_users,omitempty" doc:"Operators only"`
	StorageLimitGB           *int    `json:"storage_limit_gb,omitempty" doc:"Operators only"`
	APIRateLimit             *int    `json:"api_rate_limit,omitempty" doc:"Operators only"`
	DataRetentionDays        *int    `json:"data_retention_days,omitempty"`
	CostAlertThreshold       *string `json:"cost_alert_threshold,omitempty" doc:"Decimal string, EUR"`
	AnomalyMinImpact         *string `json:"anomaly_min_impact,omitempty" doc:"Decimal string, EUR, 0.01 to 1000000000"`
	AllowSelfRegistration    *bool   `json:"allow_self_registration,omitempty"`
	RequireEmailVerification *bool   `json:"require_email_verification,omitempty"`
	MFARequired              *bool   `json:"mfa_required,omitempty"`
}

type tenancyPatchInput struct {
	ID      string `path:"id" doc:"Tenant id (UUID)"`
	IfMatch string `header:"If-Match" doc:"ETag of the version the change is based on; 412 when the tenant has changed since"`
	Body    struct {
		Name     *string               `json:"name,omitempty" minLength:"1" maxLength:"200"`
		Tier     *string               `json:"tier,omitempty" enum:"FREE,STARTER,PROFESSIONAL,ENTERPRISE" doc:"Operators only"`
		PlanCode *string               `json:"plan_code,omitempty" maxLength:"64" doc:"Operators only. Moves the tenant to a billing plan: its entitlements become max_users, storage_limit_gb and api_rate_limit (unless settings sets them in the same request); the next invoice prorates the month by day. An unknown plan is a 422 and nothing changes."`
		Region   *string               `json:"data_residency_region,omitempty" doc:"Operators only. An EU region. The region changes at once; on a Citus cluster with nodes labelled by region the tenant's schema then moves to a node of the new region in a background job (audited TENANT_PLACED). Without Citus the region is a label only (the job audits TENANT_REGION_LABEL_ONLY)."`
		Metadata map[string]*string    `json:"metadata,omitempty" doc:"Merged key by key; a null value removes the key"`
		Settings *tenancySettingsPatch `json:"settings,omitempty" doc:"Only the given settings change"`
	}
}

// errTenancyOperatorOnly refuses tenant users the fields that are the platform's to set:
// the plan, its quotas and where the data is kept.
var errTenancyOperatorOnly = errForbidden.With("only platform operators set the tier, the region and quotas")

// RegisterTenancy adds the seven tenant endpoints. Operators manage every tenant; a tenant's
// OWNER and ADMIN read and patch their own (name, metadata and the tenant-side settings —
// tier and quotas are the operator's), and its OWNER may delete it.
func RegisterTenancy(s *Server, svc *tenancy.Service) {
	tags := []string{"Tenants"}

	Register(s, huma.Operation{
		OperationID: "create-tenant", Method: http.MethodPost, Path: "/api/v1/tenants", Tags: tags,
		Summary:     "Create a tenant",
		Description: "Registers the tenant and answers at once, with status PROVISIONING in the reference server: a background job creates its schema and makes it ACTIVE (poll GET /tenants/{id}). The owner invitation (the token is shown once) is usable once the tenant is ACTIVE. Platform operators only.",
		Security:    BearerAuth, DefaultStatus: http.StatusCreated,
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusServiceUnavailable},
	}, func(ctx context.Context, in *tenancyCreateInput) (*tenancyCreateOutput, error) {
		if _, err := s.Operator(ctx); err != nil {
			return nil, err
		}
		res, err := svc.Create(ctx, tenancy.CreateInput{
			Name: in.Body.Name, Slug: in.Body.Slug, Tier: tenancy.Tier(in.Body.Tier), AdminEmail: in.Body.AdminEmail,
			Region: in.Body.DataResidencyRegion, Metadata: in.Body.Metadata,
		})
		if err != nil {
			return nil, err
		}
		out := &tenancyCreateOutput{ETag: tenancyETag(res.Tenant), Location: "/api/v1/tenants/" + res.Tenant.ID.String(), CacheControl: "no-store"}
		out.Body.TenantBody = tenancyBody(res.Tenant)
		if res.Invitation.Token != "" {
			out.Body.OwnerInvitation = &tenancyInvitationBody{Token: res.Invitation.Token, ExpiresAt: res.Invitation.ExpiresAt.UTC()}
		}
		return out, nil
	})

	Register(s, huma.Operation{
		OperationID: "list-tenants", Method: http.MethodGet, Path: "/api/v1/tenants", Tags: tags,
		Summary: "List tenants", Description: "Platform operators only.", Security: BearerAuth,
	}, func(ctx context.Context, in *tenancyListInput) (*tenancyListOutput, error) {
		if _, err := s.Operator(ctx); err != nil {
			return nil, err
		}
		page := in.ToPage()
		l, err := svc.List(ctx, tenancy.ListFilter{Status: tenancy.Status(in.Status)}, page)
		if err != nil {
			return nil, err
		}
		items := make([]TenantBody, 0, len(l.Items))
		for _, t := range l.Items {
			items = append(items, tenancyBody(t))
		}
		return &tenancyListOutput{Body: NewPaginated(items, l.Total, page)}, nil
	})

	Register(s, huma.Operation{
		OperationID: "get-tenant", Method: http.MethodGet, Path: "/api/v1/tenants/{id}", Tags: tags,
		Summary: "Get a tenant", Description: "Operators, or the tenant's OWNER or ADMIN. The ETag is the tenant's version. Operators also see the tenant's placement on a Citus cluster.",
		Security: BearerAuth,
	}, func(ctx context.Context, in *tenancyIDInput) (*tenancyOne, error) {
		id, p, err := s.TenantAccess(ctx, in.ID, auth.PermTenantRead)
		if err != nil {
			return nil, err
		}
		t, err := svc.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		body := tenancyBody(t)
		// Where the data sits is infrastructure: operators see it, tenants do not.
		if p.Kind == eusaas.ActorOperator {
			pl, ok, err := svc.Placement(ctx, id)
			if err != nil {
				return nil, err
			}
			if ok {
				body.Placement = &TenantPlacement{Node: pl.Node, Region: pl.Region, PlacedAt: pl.PlacedAt.UTC()}
			}
		}
		return &tenancyOne{ETag: tenancyETag(t), Body: body}, nil
	})

	Register(s, huma.Operation{
		OperationID: "update-tenant", Method: http.MethodPatch, Path: "/api/v1/tenants/{id}", Tags: tags,
		Summary:     "Change a tenant",
		Description: "Only the given fields change; metadata is merged (null removes a key). Operators, or the tenant's OWNER or ADMIN (tier, data_residency_region and quotas are for operators). A region change moves the tenant's schema in a background job on a Citus cluster; without Citus the region is a label only. With If-Match, a tenant changed since answers 412.",
		Security:    BearerAuth,
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict, http.StatusPreconditionFailed, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *tenancyPatchInput) (*tenancyOne, error) {
		id, p, err := s.TenantAccess(ctx, in.ID, auth.PermTenantWrite)
		if err != nil {
			return nil, err
		}
		up := tenancy.UpdateInput{Name: in.Body.Name, Region: in.Body.Region, Metadata: in.Body.Metadata, PlanCode: in.Body.PlanCode}
		if in.Body.Tier != nil {
			tier := tenancy.Tier(*in.Body.Tier)
			up.Tier = &tier
		}
		var v eusaas.Violations
		if sp := in.Body.Settings; sp != nil {
			up.Settings = &tenancy.SettingsPatch{
				MaxUsers: sp.MaxUsers, StorageLimitGB: sp.StorageLimitGB, APIRateLimit: sp.APIRateLimit,
				DataRetentionDays: sp.DataRetentionDays, AllowSelfRegistration: sp.AllowSelfRegistration,
				RequireEmailVerification: sp.RequireEmailVerification, MFARequired: sp.MFARequired,
			}
			if sp.CostAlertThreshold != nil {
				d, err := decimal.NewFromString(*sp.CostAlertThreshold)
				if err != nil {
					v.Add("body.settings.cost_alert_threshold", "must be a decimal number")
				} else {
					up.Settings.CostAlertThreshold = &d
				}
			}
			if sp.AnomalyMinImpact != nil {
				d, err := decimal.NewFromString(*sp.AnomalyMinImpact)
				if err != nil {
					v.Add("body.settings.anomaly_min_impact", "must be a decimal number")
				} else {
					up.Settings.AnomalyMinImpact = &d
				}
			}
		}
		if err := v.Err(); err != nil {
			return nil, err
		}
		if p.Kind != eusaas.ActorOperator {
			sp := up.Settings
			if up.Tier != nil || up.Region != nil || up.PlanCode != nil || (sp != nil && (sp.MaxUsers != nil || sp.StorageLimitGB != nil || sp.APIRateLimit != nil)) {
				return nil, errTenancyOperatorOnly.With("tier, plan_code, data_residency_region, max_users, storage_limit_gb and api_rate_limit are set by platform operators")
			}
		}
		up.IfMatch = tenancyIfMatch(in.IfMatch)
		if up.IfMatch < 0 {
			return nil, tenancy.ErrPreconditionFailed.With("If-Match does not match the tenant's ETag")
		}
		t, err := svc.Update(ctx, id, up)
		if err != nil {
			return nil, err
		}
		return &tenancyOne{ETag: tenancyETag(t), Body: tenancyBody(t)}, nil
	})

	lifecycle := func(opID, path, summary string, do func(context.Context, eusaas.TenantID) (tenancy.Tenant, error)) {
		Register(s, huma.Operation{
			OperationID: opID, Method: http.MethodPost, Path: path, Tags: tags, Summary: summary,
			Description: "Platform operators only. 409 when the tenant's status does not allow it.",
			Security:    BearerAuth,
			Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity},
		}, func(ctx context.Context, in *tenancyIDInput) (*tenancyOne, error) {
			if _, err := s.Operator(ctx); err != nil {
				return nil, err
			}
			id, _, err := s.TenantAccess(ctx, in.ID, auth.PermTenantAdmin)
			if err != nil {
				return nil, err
			}
			t, err := do(ctx, id)
			if err != nil {
				return nil, err
			}
			return &tenancyOne{ETag: tenancyETag(t), Body: tenancyBody(t)}, nil
		})
	}
	lifecycle("suspend-tenant", "/api/v1/tenants/{id}/suspend", "Suspend a tenant", svc.Suspend)
	lifecycle("activate-tenant", "/api/v1/tenants/{id}/activate", "Reactivate a suspended tenant", svc.Activate)

	Register(s, huma.Operation{
		OperationID: "delete-tenant", Method: http.MethodDelete, Path: "/api/v1/tenants/{id}", Tags: tags,
		Summary: "Deprovision a tenant",
		Description: "Freezes the tenant (DEPROVISIONING) and runs the GDPR erasure pipeline (backup, data deleted, schema dropped, caches purged, audit entry, DELETED). " +
			"200 with the DELETED tombstone when the erasure finished within the request; 202 with the DEPROVISIONING tenant when it continues in the background " +
			"(GET the tenant to follow it; DELETE again resumes an interrupted erasure). Operators, or the tenant's OWNER.",
		Security: BearerAuth,
		Errors:   []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity},
		Responses: map[string]*huma.Response{
			"202": {Description: "Erasure scheduled; the tenant stays DEPROVISIONING until it completes",
				Content: map[string]*huma.MediaType{"application/json": {Schema: s.api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[TenantBody](), true, "")}}},
		},
	}, func(ctx context.Context, in *tenancyIDInput) (*tenancyDeleted, error) {
		id, _, err := s.TenantAccess(ctx, in.ID, auth.PermTenantAdmin)
		if err != nil {
			return nil, err
		}
		t, err := svc.Deprovision(ctx, id)
		if err != nil {
			return nil, err
		}
		out := &tenancyDeleted{Status: http.StatusOK, ETag: tenancyETag(t), Body: tenancyBody(t)}
		if t.Status != tenancy.StatusDeleted {
			out.Status = http.StatusAccepted
		}
		return out, nil
	})
}
