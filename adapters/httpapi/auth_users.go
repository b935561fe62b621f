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

type authUsersListInput struct {
	ID string `path:"id" doc:"Tenant id"`
	PageQuery
	Role     string `query:"role" enum:"OWNER,ADMIN,MEMBER,VIEWER" doc:"only users with this role"`
	IsActive string `query:"is_active" enum:"true,false" doc:"only active (true) or deactivated (false) users"`
}

type authUsersListOutput struct {
	Body Paginated[authUserBody]
}

type authTenantUserInput struct {
	ID     string `path:"id" doc:"Tenant id"`
	UserID string `path:"user_id" doc:"User id"`
}

type authUserPatchInput struct {
	ID     string `path:"id" doc:"Tenant id"`
	UserID string `path:"user_id" doc:"User id"`
	Body   struct {
		Role     *string `json:"role,omitempty" enum:"OWNER,ADMIN,MEMBER,VIEWER"`
		IsActive *bool   `json:"is_active,omitempty" doc:"false deactivates the user and ends its sessions at once"`
		FullName *string `json:"full_name,omitempty" maxLength:"200"`
	}
}

type authInvitationBody struct {
	ID        string    `json:"id" format:"uuid"`
	Email     string    `json:"email"`
	Role      string    `json:"role" enum:"OWNER,ADMIN,MEMBER,VIEWER"`
	CreatedBy string    `json:"created_by" doc:"User id of the issuer, \"system\" for the owner invitation"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

type authInvitationsListInput struct {
	ID string `path:"id" doc:"Tenant id"`
	PageQuery
}

type authInvitationsListOutput struct {
	Body Paginated[authInvitationBody]
}

type authInvitationIDInput struct {
	ID    string `path:"id" doc:"Tenant id"`
	InvID string `path:"inv_id" doc:"Invitation id"`
}

func parseUserID(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, eusaas.Invalid("invalid user id", eusaas.FieldViolation{Location: "path.user_id", Message: "must be a UUID"})
	}
	return id, nil
}

// registerAuthUsers adds user administration and the pending invitations of a tenant.
func registerAuthUsers(s *Server, svc *auth.Service) {
	tags := []string{"Users"}
	Register(s, huma.Operation{OperationID: "list-tenant-users", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/users",
		Summary: "List the tenant's users", Tags: tags, Security: BearerAuth,
		Description: "Every role of the tenant (and operators) may read. Oldest first.",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity}},
		func(ctx context.Context, in *authUsersListInput) (*authUsersListOutput, error) {
			id, p, err := s.TenantAccess(ctx, in.ID, auth.PermUsersRead)
			if err != nil {
				return nil, err
			}
			q := auth.UserQuery{Filter: auth.UserFilter{Role: auth.Role(in.Role)}, Page: in.ToPage()}
			if in.IsActive != "" {
				active := in.IsActive == "true"
				q.Filter.Active = &active
			}
			l, err := svc.ListUsers(ctx, p, id, q)
			if err != nil {
				return nil, err
			}
			items := make([]authUserBody, 0, len(l.Items))
			for _, u := range l.Items {
				items = append(items, authUserOut(u))
			}
			return &authUsersListOutput{Body: NewPaginated(items, l.Total, q.Page)}, nil
		})
	Register(s, huma.Operation{OperationID: "get-tenant-user", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/users/{user_id}",
		Summary: "One of the tenant's users", Tags: tags, Security: BearerAuth,
		Description: "Every role of the tenant (and operators) may read.",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity}},
		func(ctx context.Context, in *authTenantUserInput) (*authUserOutput, error) {
			id, p, err := s.TenantAccess(ctx, in.ID, auth.PermUsersRead)
			if err != nil {
				return nil, err
			}
			uid, err := parseUserID(in.UserID)
			if err != nil {
				return nil, err
			}
			u, err := svc.GetUser(ctx, p, id, uid)
			if err != nil {
				return nil, err
			}
			return &authUserOutput{Body: authUserOut(u)}, nil
		})
	Register(s, huma.Operation{OperationID: "update-tenant-user", Method: http.MethodPatch, Path: "/api/v1/tenants/{id}/users/{user_id}",
		Summary: "Change a user's role, active flag or name", Tags: tags, Security: BearerAuth,
		Description: "OWNER or ADMIN (or an operator); an ADMIN can neither grant nor remove OWNER. The tenant always keeps one active OWNER (409 last_owner). Deactivation ends the user's sessions and access tokens at once. Audited USER_UPDATED.",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity}},
		func(ctx context.Context, in *authUserPatchInput) (*authUserOutput, error) {
			id, p, err := s.TenantAccess(ctx, in.ID, auth.PermUsersWrite)
			if err != nil {
				return nil, err
			}
			uid, err := parseUserID(in.UserID)
			if err != nil {
				return nil, err
			}
			ch := auth.UserPatch{IsActive: in.Body.IsActive, FullName: in.Body.FullName}
			if in.Body.Role != nil {
				r := auth.Role(*in.Body.Role)
				ch.Role = &r
			}
			u, err := svc.UpdateUser(ctx, p, id, uid, ch)
			if err != nil {
				return nil, err
			}
			return &authUserOutput{Body: authUserOut(u)}, nil
		})
	Register(s, huma.Operation{OperationID: "delete-tenant-user", Method: http.MethodDelete, Path: "/api/v1/tenants/{id}/users/{user_id}",
		Summary: "Remove a user", Tags: tags, Security: BearerAuth, DefaultStatus: http.StatusNoContent,
		Description: "OWNER or ADMIN (or an operator); an ADMIN cannot remove an OWNER, nobody the last active OWNER (409 last_owner). Deletes the account, its sessions (they stop working at once) and the invitations to its email, as GDPR subject erasure does; personal data in the audit log goes by a GDPR erasure request. Audited USER_REMOVED.",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity}},
		func(ctx context.Context, in *authTenantUserInput) (*struct{}, error) {
			id, p, err := s.TenantAccess(ctx, in.ID, auth.PermUsersWrite)
			if err != nil {
				return nil, err
			}
			uid, err := parseUserID(in.UserID)
			if err != nil {
				return nil, err
			}
			return nil, svc.DeleteUser(ctx, p, id, uid)
		})
	Register(s, huma.Operation{OperationID: "list-invitations", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/invitations",
		Summary: "List the tenant's pending invitations", Tags: []string{"Tenants"}, Security: BearerAuth,
		Description: "Every role of the tenant (or an operator), as the user list. Unused, unexpired invitations, oldest first; tokens are never shown again.",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity}},
		func(ctx context.Context, in *authInvitationsListInput) (*authInvitationsListOutput, error) {
			id, p, err := s.TenantAccess(ctx, in.ID, auth.PermUsersRead)
			if err != nil {
				return nil, err
			}
			page := in.ToPage()
			l, err := svc.ListInvitations(ctx, p, id, page)
			if err != nil {
				return nil, err
			}
			items := make([]authInvitationBody, 0, len(l.Items))
			for _, x := range l.Items {
				items = append(items, authInvitationBody{ID: x.ID.String(), Email: x.Email, Role: string(x.Role),
					CreatedBy: x.CreatedBy, CreatedAt: x.CreatedAt.UTC(), ExpiresAt: x.ExpiresAt.UTC()})
			}
			return &authInvitationsListOutput{Body: NewPaginated(items, l.Total, page)}, nil
		})
	Register(s, huma.Operation{OperationID: "delete-invitation", Method: http.MethodDelete, Path: "/api/v1/tenants/{id}/invitations/{inv_id}",
		Summary: "Revoke a pending invitation", Tags: []string{"Tenants"}, Security: BearerAuth, DefaultStatus: http.StatusNoContent,
		Description: "OWNER or ADMIN (or an operator); an ADMIN cannot revoke an OWNER invitation. The token registers nobody afterwards. Used or expired invitations are 404. Audited INVITATION_REVOKED.",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity}},
		func(ctx context.Context, in *authInvitationIDInput) (*struct{}, error) {
			id, p, err := s.TenantAccess(ctx, in.ID, auth.PermInvite)
			if err != nil {
				return nil, err
			}
			iid, err := uuid.Parse(in.InvID)
			if err != nil {
				return nil, eusaas.Invalid("invalid invitation id", eusaas.FieldViolation{Location: "path.inv_id", Message: "must be a UUID"})
			}
			return nil, svc.RevokeInvitation(ctx, p, id, iid)
		})
}
