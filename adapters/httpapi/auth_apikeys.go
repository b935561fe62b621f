package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

type authAPIKeyBody struct {
	ID         string     `json:"id" format:"uuid"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	Prefix     string     `json:"prefix" doc:"The key's first characters, to tell keys apart"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at" doc:"null when never used (updated at most once a minute)"`
}

func authAPIKeyOut(k auth.APIKey) authAPIKeyBody {
	b := authAPIKeyBody{ID: k.ID.String(), Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt.UTC(), Scopes: []string{}}
	for _, sc := range k.Scopes {
		b.Scopes = append(b.Scopes, string(sc))
	}
	if !k.LastUsedAt.IsZero() {
		t := k.LastUsedAt.UTC()
		b.LastUsedAt = &t
	}
	return b
}

type authCreateAPIKeyInput struct {
	ID   string `path:"id" doc:"Tenant id"`
	Body struct {
		Name   string   `json:"name" maxLength:"100" doc:"What the key is for, e.g. \"backend usage reporter\""`
		Scopes []string `json:"scopes" minItems:"1" maxItems:"2" doc:"usage:write (POST /tenants/{id}/usage), costs:read (GET /tenants/{id}/costs, /costs/current, /costs/projection)"`
	}
}

type authCreateAPIKeyOutput struct {
	CacheControl string `header:"Cache-Control"`
	// Fields spelled out: huma drops an embedded unexported struct from the schema.
	Body struct {
		ID        string    `json:"id" format:"uuid"`
		Name      string    `json:"name"`
		Scopes    []string  `json:"scopes"`
		Prefix    string    `json:"prefix"`
		Key       string    `json:"key" doc:"Shown once; only its hash is stored. Send as Authorization: Bearer <key>"`
		CreatedAt time.Time `json:"created_at"`
	}
}

type authListAPIKeysInput struct {
	ID string `path:"id" doc:"Tenant id"`
	PageQuery
}

type authListAPIKeysOutput struct {
	Body Paginated[authAPIKeyBody]
}

type authAPIKeyIDInput struct {
	ID    string `path:"id" doc:"Tenant id"`
	KeyID string `path:"key_id" doc:"API key id"`
}

// registerAuthAPIKeys adds the tenant API key routes (OWNER, ADMIN and operators).
func registerAuthAPIKeys(s *Server, svc *auth.Service) {
	tags := []string{"API keys"}
	Register(s, huma.Operation{OperationID: "create-api-key", Method: http.MethodPost, Path: "/api/v1/tenants/{id}/api-keys",
		Summary: "Create a tenant API key", Tags: tags, Security: BearerAuth, DefaultStatus: http.StatusCreated,
		Description: "OWNER or ADMIN (or a platform operator). The key (eusk_ followed by 65 base62 characters: 32 random bytes and the tenant id) is shown once; only its SHA-256 is stored. " +
			"Presented as a Bearer token it acts for this tenant only and only within its scopes: 403 on another tenant or outside its scopes, 401 once revoked. Audited API_KEY_CREATED (without the key).",
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity}},
		func(ctx context.Context, in *authCreateAPIKeyInput) (*authCreateAPIKeyOutput, error) {
			tenant, p, err := s.TenantAccess(ctx, in.ID, auth.PermAPIKeys)
			if err != nil {
				return nil, err
			}
			k, key, err := svc.CreateAPIKey(ctx, p, tenant, auth.CreateAPIKeyInput{Name: in.Body.Name, Scopes: in.Body.Scopes})
			if err != nil {
				return nil, err
			}
			b := authAPIKeyOut(k)
			out := &authCreateAPIKeyOutput{CacheControl: "no-store"}
			out.Body.ID, out.Body.Name, out.Body.Scopes, out.Body.Prefix, out.Body.CreatedAt = b.ID, b.Name, b.Scopes, b.Prefix, b.CreatedAt
			out.Body.Key = key
			return out, nil
		})
	Register(s, huma.Operation{OperationID: "list-api-keys", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/api-keys",
		Summary: "List the tenant's active API keys", Tags: tags, Security: BearerAuth,
		Description: "OWNER or ADMIN (or a platform operator). Oldest first; keys are never shown again.",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity}},
		func(ctx context.Context, in *authListAPIKeysInput) (*authListAPIKeysOutput, error) {
			tenant, p, err := s.TenantAccess(ctx, in.ID, auth.PermAPIKeys)
			if err != nil {
				return nil, err
			}
			all, err := svc.ListAPIKeys(ctx, p, tenant)
			if err != nil {
				return nil, err
			}
			// A tenant holds a handful of keys: paging the full list is cheap.
			page := in.ToPage()
			lo, hi := min(page.Offset(), len(all)), min(page.Offset()+page.Size, len(all))
			items := make([]authAPIKeyBody, 0, hi-lo)
			for _, k := range all[lo:hi] {
				items = append(items, authAPIKeyOut(k))
			}
			return &authListAPIKeysOutput{Body: NewPaginated(items, len(all), page)}, nil
		})
	Register(s, huma.Operation{OperationID: "revoke-api-key", Method: http.MethodDelete, Path: "/api/v1/tenants/{id}/api-keys/{key_id}",
		Summary: "Revoke a tenant API key", Tags: tags, Security: BearerAuth, DefaultStatus: http.StatusNoContent,
		Description: "OWNER or ADMIN (or a platform operator). The key is refused (401) from its next request on. Audited API_KEY_REVOKED.",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity}},
		func(ctx context.Context, in *authAPIKeyIDInput) (*struct{}, error) {
			tenant, p, err := s.TenantAccess(ctx, in.ID, auth.PermAPIKeys)
			if err != nil {
				return nil, err
			}
			id, err := uuid.Parse(in.KeyID)
			if err != nil {
				return nil, eusaas.Invalid("invalid API key id", eusaas.FieldViolation{Location: "path.key_id", Message: "must be a UUID"})
			}
			return nil, svc.RevokeAPIKey(ctx, p, tenant, id)
		})
}
