package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/eusaas/eusaas/auth"
)

type authSSOBody struct {
	Issuer          string    `json:"issuer" doc:"The IdP's issuer URL (discovery at issuer + /.well-known/openid-configuration)"`
	ClientID        string    `json:"client_id"`
	ClientSecretSet bool      `json:"client_secret_set" doc:"Whether a client secret is stored; the secret itself is never returned"`
	AllowedDomains  []string  `json:"allowed_domains"`
	DefaultRole     string    `json:"default_role" enum:"ADMIN,MEMBER,VIEWER"`
	Enforce         bool      `json:"enforce"`
	UpdatedAt       time.Time `json:"updated_at"`
}

func authSSOOut(c auth.SSOConfig) authSSOBody {
	d := append([]string{}, c.AllowedDomains...)
	return authSSOBody{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecretSet: c.SealedSecret != nil, AllowedDomains: d,
		DefaultRole: string(c.DefaultRole), Enforce: c.Enforce, UpdatedAt: c.UpdatedAt.UTC()}
}

type authSSOOutput struct {
	Body authSSOBody
}

type authPutSSOInput struct {
	ID   string `path:"id" doc:"Tenant id"`
	Body struct {
		Issuer         string   `json:"issuer" maxLength:"2048" doc:"https URL of the OpenID Provider"`
		ClientID       string   `json:"client_id" maxLength:"255"`
		ClientSecret   string   `json:"client_secret,omitempty" required:"false" maxLength:"1024" doc:"Sealed at rest, never returned, logged or audited; omit for a public client (PKCE only)"`
		AllowedDomains []string `json:"allowed_domains" minItems:"1" maxItems:"50" doc:"E-mail domains that may sign in, e.g. example.com"`
		DefaultRole    string   `json:"default_role,omitempty" required:"false" enum:"ADMIN,MEMBER,VIEWER" doc:"Role of users provisioned just in time; default MEMBER"`
		Enforce        bool     `json:"enforce,omitempty" required:"false" doc:"Refuse password login to the tenant's users other than OWNERs"`
	}
}

type authSSOTenantInput struct {
	ID string `path:"id" doc:"Tenant id"`
}

type authSSOStartInput struct {
	Tenant string `path:"tenant" maxLength:"100" doc:"Tenant id or slug"`
}

type authRedirectOutput struct {
	Status       int
	Location     string `header:"Location"`
	CacheControl string `header:"Cache-Control"`
}

type authSSOCallbackInput struct {
	State            string `query:"state" maxLength:"512"`
	Code             string `query:"code" maxLength:"4096"`
	Error            string `query:"error" maxLength:"256" doc:"Set by the IdP when the sign-in failed there"`
	ErrorDescription string `query:"error_description" maxLength:"1024"`
}

// registerAuthSSO adds per-tenant single sign-on: configuration (OWNER and operators) and
// the public start and callback of the authorization code flow.
func registerAuthSSO(s *Server, svc *auth.Service) {
	tags := []string{"Single sign-on"}
	errs := []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity}
	Register(s, huma.Operation{OperationID: "put-tenant-sso", Method: http.MethodPut, Path: "/api/v1/tenants/{id}/sso",
		Summary: "Set the tenant's OpenID Connect single sign-on", Tags: tags, Security: BearerAuth,
		Description: "OWNER (or a platform operator): tenant administration. Register GET /api/v1/auth/sso/callback under APP_PUBLIC_URL as the redirect URI at the IdP. " +
			"The client secret is sealed at rest (under APP_MFA_KEY) and never returned, logged or audited. With enforce, password login is refused for the tenant's users other than OWNERs. Audited SSO_CONFIGURED.",
		Errors: append(errs, http.StatusServiceUnavailable)},
		func(ctx context.Context, in *authPutSSOInput) (*authSSOOutput, error) {
			tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermSSO)
			if err != nil {
				return nil, err
			}
			c, err := svc.PutSSO(ctx, tenant, auth.SSOInput{Issuer: in.Body.Issuer, ClientID: in.Body.ClientID, ClientSecret: in.Body.ClientSecret,
				AllowedDomains: in.Body.AllowedDomains, DefaultRole: auth.Role(in.Body.DefaultRole), Enforce: in.Body.Enforce})
			if err != nil {
				return nil, err
			}
			return &authSSOOutput{Body: authSSOOut(c)}, nil
		})
	Register(s, huma.Operation{OperationID: "get-tenant-sso", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/sso",
		Summary: "Read the tenant's single sign-on configuration", Tags: tags, Security: BearerAuth,
		Description: "OWNER (or a platform operator). Without the client secret. 404 when none is set.",
		Errors:      append(errs, http.StatusServiceUnavailable)},
		func(ctx context.Context, in *authSSOTenantInput) (*authSSOOutput, error) {
			tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermSSO)
			if err != nil {
				return nil, err
			}
			c, err := svc.GetSSO(ctx, tenant)
			if err != nil {
				return nil, err
			}
			return &authSSOOutput{Body: authSSOOut(c)}, nil
		})
	Register(s, huma.Operation{OperationID: "delete-tenant-sso", Method: http.MethodDelete, Path: "/api/v1/tenants/{id}/sso",
		Summary: "Remove the tenant's single sign-on", Tags: tags, Security: BearerAuth, DefaultStatus: http.StatusNoContent,
		Description: "OWNER (or a platform operator). Password login works again for everyone. Audited SSO_REMOVED.",
		Errors:      append(errs, http.StatusServiceUnavailable)},
		func(ctx context.Context, in *authSSOTenantInput) (*struct{}, error) {
			tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermSSO)
			if err != nil {
				return nil, err
			}
			return nil, svc.DeleteSSO(ctx, tenant)
		})
	Register(s, huma.Operation{OperationID: "start-sso", Method: http.MethodGet, Path: "/api/v1/auth/sso/{tenant}/start",
		Summary: "Start a single sign-on", Tags: tags, Security: Public, DefaultStatus: http.StatusFound,
		Description: "Public. Answers 302 to the tenant's IdP (authorization code flow with state, nonce and PKCE S256; they are kept server-side, single use, for 10 minutes).",
		Errors:      []int{http.StatusForbidden, http.StatusNotFound, http.StatusUnauthorized, http.StatusUnprocessableEntity, http.StatusServiceUnavailable}},
		func(ctx context.Context, in *authSSOStartInput) (*authRedirectOutput, error) {
			u, err := svc.StartSSO(ctx, in.Tenant)
			if err != nil {
				return nil, err
			}
			return &authRedirectOutput{Status: http.StatusFound, Location: u, CacheControl: "no-store"}, nil
		})
	Register(s, huma.Operation{OperationID: "sso-callback", Method: http.MethodGet, Path: "/api/v1/auth/sso/callback",
		Summary: "Finish a single sign-on", Tags: tags, Security: Public,
		Description: "Public: the redirect URI of every tenant's IdP. Consumes the state (a replay is refused), redeems the code with the PKCE verifier and verifies the ID token (signature, issuer, audience, expiry, nonce); " +
			"the e-mail must be verified and in allowed_domains. Links the tenant's user with that e-mail or provisions one with default_role (within max_users), then answers the usual token pair. " +
			"Every refusal is a 401 problem sso_failed, audited SSO_LOGIN_FAILED with its reason.",
		Errors: []int{http.StatusUnauthorized, http.StatusUnprocessableEntity, http.StatusServiceUnavailable}},
		func(ctx context.Context, in *authSSOCallbackInput) (*authTokensOutput, error) {
			p, err := svc.CompleteSSO(ctx, auth.SSOCallback{State: in.State, Code: in.Code, Error: in.Error})
			if err != nil {
				return nil, err
			}
			return authTokensOut(p), nil
		})
}
