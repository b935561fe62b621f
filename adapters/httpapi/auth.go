package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

// authUserBody is the SPEC's user representation.
type authUserBody struct {
	ID            string     `json:"id" format:"uuid"`
	TenantID      string     `json:"tenant_id,omitempty" format:"uuid" doc:"Absent for platform operators"`
	Email         string     `json:"email" format:"email"`
	FullName      string     `json:"full_name"`
	Role          string     `json:"role,omitempty" enum:"OWNER,ADMIN,MEMBER,VIEWER" doc:"Absent for platform operators"`
	IsActive      bool       `json:"is_active"`
	EmailVerified *bool      `json:"email_verified,omitempty" doc:"Tenant users: whether the e-mail address is verified (invited users are; self-registered users verify through the mail). Absent for platform operators"`
	CreatedAt     time.Time  `json:"created_at"`
	LastLoginAt   *time.Time `json:"last_login_at" doc:"null when the user never logged in"`
}

func authUserOut(u auth.User) authUserBody {
	b := authUserBody{ID: u.ID.String(), Email: u.Email, FullName: u.FullName, Role: string(u.Role),
		IsActive: u.IsActive, CreatedAt: u.CreatedAt.UTC()}
	if !u.TenantID.IsZero() {
		b.TenantID = u.TenantID.String()
		v := u.EmailVerified
		b.EmailVerified = &v
	}
	if !u.LastLoginAt.IsZero() {
		t := u.LastLoginAt.UTC()
		b.LastLoginAt = &t
	}
	return b
}

type authTokensBody struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type" enum:"Bearer"`
	ExpiresIn    int    `json:"expires_in" doc:"Seconds until the access token expires"`
}

type authTokensOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         authTokensBody
}

func authTokensOut(p auth.TokenPair) *authTokensOutput {
	// Tokens must never be cached by intermediaries (RFC 6749 §5.1).
	return &authTokensOutput{CacheControl: "no-store", Body: authTokensBody{AccessToken: p.AccessToken,
		RefreshToken: p.RefreshToken, TokenType: p.TokenType, ExpiresIn: p.ExpiresIn}}
}

type authRegisterInput struct {
	TenantID string `header:"X-Tenant-ID" doc:"Tenant id or slug"`
	Body     struct {
		Email           string `json:"email" maxLength:"254"`
		Password        string `json:"password" doc:"10..128 characters with upper, lower, digit and special character"`
		FullName        string `json:"full_name" maxLength:"200"`
		InvitationToken string `json:"invitation_token,omitempty" required:"false"`
	}
}

type authUserOutput struct {
	Body authUserBody
}

type authLoginInput struct {
	TenantID string `header:"X-Tenant-ID" doc:"Tenant id or slug; omit for platform operators"`
	Body     struct {
		Email    string `json:"email" maxLength:"254"`
		Password string `json:"password"`
	}
}

type authRefreshBody struct {
	RefreshToken string `json:"refresh_token,omitempty" required:"false"`
}

type authRefreshInput struct {
	Body *authRefreshBody
}

type authLogoutInput struct {
	Body *authRefreshBody
}

type authInviteInput struct {
	ID   string `path:"id" doc:"Tenant id"`
	Body struct {
		Email string `json:"email" maxLength:"254"`
		Role  string `json:"role" enum:"OWNER,ADMIN,MEMBER,VIEWER"`
	}
}

type authInviteOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		ID        string    `json:"id" format:"uuid"`
		Email     string    `json:"email"`
		Role      string    `json:"role"`
		Token     string    `json:"token" doc:"Shown once; only its hash is stored"`
		ExpiresAt time.Time `json:"expires_at"`
	}
}

type authJWKSOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         auth.JWKSet
}

// authErr attaches the Retry-After hint of an overloaded hasher so the 429 carries it.
func authErr(err error) error {
	if d, ok := auth.RetryAfter(err); ok {
		return &RetryAfter{Err: err, After: d}
	}
	return err
}

// AuthJWKSMaxAge is how long clients may cache the JWKS. Keys are published before they
// sign (rotation keeps the previous key in the set), so a cached set never lacks the key of
// a token it must verify for longer than this.
const AuthJWKSMaxAge = 5 * time.Minute

// RegisterAuth adds the authentication routes: register, login, refresh, logout, me, the
// JWKS, tenant invitations, service accounts and their client-credentials token endpoint.
func RegisterAuth(s *Server, svc *auth.Service) {
	tags := []string{"Authentication"}
	Register(s, huma.Operation{OperationID: "auth-register", Method: http.MethodPost, Path: "/api/v1/auth/register",
		Summary: "Register a tenant user", Tags: tags, Security: Public, DefaultStatus: http.StatusCreated,
		Description: "Needs an invitation token (the tenant's owner invitation or one issued by an OWNER/ADMIN) unless the tenant allows self-registration (the user is then a MEMBER). A tenant that has reached its settings.max_users answers 409 tenant_user_limit (the invitation stays unused).",
		Errors:      []int{http.StatusForbidden, http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusTooManyRequests}},
		func(ctx context.Context, in *authRegisterInput) (*authUserOutput, error) {
			u, err := svc.Register(ctx, auth.RegisterInput{TenantIDOrSlug: in.TenantID, Email: in.Body.Email,
				Password: in.Body.Password, FullName: in.Body.FullName, InvitationToken: in.Body.InvitationToken})
			if err != nil {
				return nil, authErr(err)
			}
			return &authUserOutput{Body: authUserOut(u)}, nil
		})
	Register(s, huma.Operation{OperationID: "auth-login", Method: http.MethodPost, Path: "/api/v1/auth/login",
		Summary: "Log in", Tags: tags, Security: Public,
		Description: "Tenant users send X-Tenant-ID (id or slug); platform operators send none. Every failure is the same 401 problem; repeated failures back off, then lock the account or client address for a while. " +
			"An account with a second factor gets 200 {mfa_required: true, mfa_token, expires_in: 300} and no tokens: finish with POST /auth/login/mfa. " +
			"In a tenant with settings.mfa_required, a user without a second factor gets tokens marked mfa_enrolment_required, good only for enrolling one.",
		Errors: []int{http.StatusUnauthorized, http.StatusUnprocessableEntity, http.StatusTooManyRequests}},
		func(ctx context.Context, in *authLoginInput) (*authLoginOutput, error) {
			r, err := svc.LoginStart(ctx, auth.LoginInput{TenantIDOrSlug: in.TenantID, Email: in.Body.Email, Password: in.Body.Password})
			if err != nil {
				return nil, authErr(err)
			}
			return authLoginOut(r), nil
		})
	Register(s, huma.Operation{OperationID: "auth-refresh", Method: http.MethodPost, Path: "/api/v1/auth/refresh",
		Summary: "Exchange a refresh token for a new token pair", Tags: tags, Security: Public,
		Description: "The refresh token comes in the body or as the Bearer credential. Each refresh rotates the token; replaying an older one revokes the whole session, except within the grace window (30 seconds by default, auth.Config.RefreshGrace) after a rotation: the token just replaced, presented again, returns the very same new pair, so a client that lost the answer can retry.",
		Errors:      []int{http.StatusUnauthorized}},
		func(ctx context.Context, in *authRefreshInput) (*authTokensOutput, error) {
			tok := ""
			if in.Body != nil {
				tok = in.Body.RefreshToken
			}
			if tok == "" {
				tok = BearerToken(ctx)
			}
			p, err := svc.Refresh(ctx, tok)
			if err != nil {
				return nil, authErr(err)
			}
			return authTokensOut(p), nil
		})
	Register(s, huma.Operation{OperationID: "auth-logout", Method: http.MethodPost, Path: "/api/v1/auth/logout",
		Summary: "Log out", Tags: tags, Security: BearerAuth, DefaultStatus: http.StatusNoContent,
		Description: "Revokes the session and the access token (denylisted until it expires); a refresh token in the body revokes its session too."},
		func(ctx context.Context, in *authLogoutInput) (*struct{}, error) {
			p, err := s.Principal(ctx)
			if err != nil {
				return nil, err
			}
			rt := ""
			if in.Body != nil {
				rt = in.Body.RefreshToken
			}
			return nil, svc.Logout(ctx, p, rt)
		})
	Register(s, huma.Operation{OperationID: "auth-me", Method: http.MethodGet, Path: "/api/v1/auth/me",
		Summary: "The current user", Tags: tags, Security: BearerAuth,
		Description: "A user of a tenant that is not ACTIVE is refused (403 when SUSPENDED, 404 when DELETED) even with an unexpired token.",
		Errors:      []int{http.StatusForbidden, http.StatusNotFound}},
		func(ctx context.Context, _ *struct{}) (*authUserOutput, error) {
			p, err := s.ActivePrincipal(ctx)
			if err != nil {
				return nil, err
			}
			u, err := svc.Me(ctx, p)
			if err != nil {
				return nil, err
			}
			return &authUserOutput{Body: authUserOut(u)}, nil
		})
	registerAuthSessions(s, svc, tags)
	registerAuthMFA(s, svc, tags)
	registerAuthPasswords(s, svc, tags)
	Register(s, huma.Operation{OperationID: "auth-jwks", Method: http.MethodGet, Path: "/.well-known/jwks.json",
		Summary: "Public keys verifying access tokens (JWKS)", Tags: tags, Security: Public},
		func(ctx context.Context, _ *struct{}) (*authJWKSOutput, error) {
			return &authJWKSOutput{CacheControl: "public, max-age=" + strconv.Itoa(int(AuthJWKSMaxAge/time.Second)),
				Body: svc.JWKS()}, nil
		})
	Register(s, huma.Operation{OperationID: "create-invitation", Method: http.MethodPost, Path: "/api/v1/tenants/{id}/invitations",
		Summary: "Invite a user to the tenant", Tags: []string{"Tenants"}, Security: BearerAuth, DefaultStatus: http.StatusCreated,
		Description: "OWNER or ADMIN (or a platform operator). The token is shown once; it is single-use and expires.",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity}},
		func(ctx context.Context, in *authInviteInput) (*authInviteOutput, error) {
			id, p, err := s.TenantAccess(ctx, in.ID, auth.PermInvite)
			if err != nil {
				return nil, err
			}
			inv, tok, err := svc.Invite(ctx, p, auth.InviteInput{TenantID: id, Email: in.Body.Email, Role: auth.Role(in.Body.Role)})
			if err != nil {
				return nil, err
			}
			out := &authInviteOutput{CacheControl: "no-store"}
			out.Body.ID, out.Body.Email, out.Body.Role, out.Body.Token, out.Body.ExpiresAt =
				inv.ID.String(), inv.Email, string(inv.Role), tok, inv.ExpiresAt.UTC()
			return out, nil
		})
	registerAuthUsers(s, svc)
	registerAuthServiceAccounts(s, svc)
	registerAuthAPIKeys(s, svc)
	registerAuthSSO(s, svc)
}

type authServiceAccountBody struct {
	ID        string    `json:"id" format:"uuid"`
	Name      string    `json:"name"`
	ClientID  string    `json:"client_id"`
	CreatedAt time.Time `json:"created_at"`
}

func authServiceAccountOut(a auth.ServiceAccount) authServiceAccountBody {
	return authServiceAccountBody{ID: a.ID.String(), Name: a.Name, ClientID: a.ClientID, CreatedAt: a.CreatedAt.UTC()}
}

type authCreateServiceAccountInput struct {
	Body struct {
		Name string `json:"name" maxLength:"100" doc:"What the account is for, e.g. \"metering agent eu-west\""`
	}
}

type authCreateServiceAccountOutput struct {
	CacheControl string `header:"Cache-Control"`
	// The account's fields are spelled out, not embedded: huma leaves an embedded unexported
	// struct out of the schema, so generated clients would never see id or client_id.
	Body struct {
		ID           string    `json:"id" format:"uuid"`
		Name         string    `json:"name"`
		ClientID     string    `json:"client_id"`
		CreatedAt    time.Time `json:"created_at"`
		ClientSecret string    `json:"client_secret" doc:"Shown once; only its hash is stored"`
	}
}

type authListServiceAccountsOutput struct {
	Body Paginated[authServiceAccountBody]
}

type authServiceAccountIDInput struct {
	ID string `path:"id" doc:"Service account id"`
}

type authTokenInput struct {
	Body struct {
		GrantType    string `json:"grant_type" enum:"client_credentials"`
		ClientID     string `json:"client_id" maxLength:"64"`
		ClientSecret string `json:"client_secret" maxLength:"512"`
	}
}

type authClientTokenOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type" enum:"Bearer"`
		ExpiresIn   int    `json:"expires_in" doc:"Seconds until the access token expires"`
	}
}

// registerAuthServiceAccounts adds service account management (operators only) and the
// OAuth 2.0 client-credentials token endpoint services use.
func registerAuthServiceAccounts(s *Server, svc *auth.Service) {
	tags := []string{"Service accounts"}
	Register(s, huma.Operation{OperationID: "create-service-account", Method: http.MethodPost, Path: "/api/v1/service-accounts",
		Summary: "Create a service account", Tags: tags, Security: BearerAuth, DefaultStatus: http.StatusCreated,
		Description: "Platform operators only. A service account is a machine principal (a metering agent, for instance) " +
			"that may only ingest usage, for any tenant. The client secret is shown once; only its hash is stored.",
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusUnprocessableEntity}},
		func(ctx context.Context, in *authCreateServiceAccountInput) (*authCreateServiceAccountOutput, error) {
			p, err := s.Operator(ctx)
			if err != nil {
				return nil, err
			}
			a, secret, err := svc.CreateServiceAccount(ctx, p, in.Body.Name)
			if err != nil {
				return nil, err
			}
			out := &authCreateServiceAccountOutput{CacheControl: "no-store"}
			b := authServiceAccountOut(a)
			out.Body.ID, out.Body.Name, out.Body.ClientID, out.Body.CreatedAt = b.ID, b.Name, b.ClientID, b.CreatedAt
			out.Body.ClientSecret = secret
			return out, nil
		})
	Register(s, huma.Operation{OperationID: "list-service-accounts", Method: http.MethodGet, Path: "/api/v1/service-accounts",
		Summary: "List the active service accounts", Tags: tags, Security: BearerAuth,
		Description: "Platform operators only. Oldest first; secrets are never shown again.",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden}},
		func(ctx context.Context, in *struct{ PageQuery }) (*authListServiceAccountsOutput, error) {
			p, err := s.Operator(ctx)
			if err != nil {
				return nil, err
			}
			all, err := svc.ListServiceAccounts(ctx, p)
			if err != nil {
				return nil, err
			}
			// Service accounts are a handful of platform rows: paging the full list is cheap.
			page := in.ToPage()
			lo, hi := min(page.Offset(), len(all)), min(page.Offset()+page.Size, len(all))
			items := make([]authServiceAccountBody, 0, hi-lo)
			for _, a := range all[lo:hi] {
				items = append(items, authServiceAccountOut(a))
			}
			return &authListServiceAccountsOutput{Body: NewPaginated(items, len(all), page)}, nil
		})
	Register(s, huma.Operation{OperationID: "revoke-service-account", Method: http.MethodDelete, Path: "/api/v1/service-accounts/{id}",
		Summary: "Revoke a service account", Tags: tags, Security: BearerAuth, DefaultStatus: http.StatusNoContent,
		Description: "Platform operators only. The account's credentials obtain no new token and its access tokens are refused from their next request.",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity}},
		func(ctx context.Context, in *authServiceAccountIDInput) (*struct{}, error) {
			p, err := s.Operator(ctx)
			if err != nil {
				return nil, err
			}
			id, err := uuid.Parse(in.ID)
			if err != nil {
				return nil, eusaas.Invalid("invalid service account id", eusaas.FieldViolation{Location: "path.id", Message: "must be a UUID"})
			}
			return nil, svc.RevokeServiceAccount(ctx, p, id)
		})
	Register(s, huma.Operation{OperationID: "auth-token", Method: http.MethodPost, Path: "/api/v1/auth/token",
		Summary: "Obtain an access token for a service account (OAuth 2.0 client credentials)", Tags: []string{"Authentication"},
		Security: Public,
		Description: "grant_type client_credentials with the service account's client_id and client_secret (RFC 6749 §4.4). " +
			"Returns an access token of kind \"service\" without a refresh token. Every failure is the same 401 problem as a failed login; " +
			"repeated failures back off, then lock the client id or client address for a while.",
		Errors: []int{http.StatusUnauthorized, http.StatusUnprocessableEntity}},
		func(ctx context.Context, in *authTokenInput) (*authClientTokenOutput, error) {
			p, err := svc.ServiceToken(ctx, in.Body.ClientID, in.Body.ClientSecret)
			if err != nil {
				return nil, authErr(err)
			}
			out := &authClientTokenOutput{CacheControl: "no-store"}
			out.Body.AccessToken, out.Body.TokenType, out.Body.ExpiresIn = p.AccessToken, p.TokenType, p.ExpiresIn
			return out, nil
		})
}
