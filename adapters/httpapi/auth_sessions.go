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

type authSessionBody struct {
	ID         string    `json:"id" format:"uuid"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at" doc:"When the session's refresh token was last used (its latest rotation)"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
	Current    bool      `json:"current" doc:"The session of the access token making this request"`
}

type authSessionsOutput struct {
	Body struct {
		Items []authSessionBody `json:"items"`
	}
}

type authSessionIDInput struct {
	SessionID string `path:"session_id" doc:"Session id"`
}

// registerAuthSessions adds the caller's own session routes: list, end one, end all others.
func registerAuthSessions(s *Server, svc *auth.Service, tags []string) {
	Register(s, huma.Operation{OperationID: "auth-list-sessions", Method: http.MethodGet, Path: "/api/v1/auth/sessions",
		Summary: "The caller's sessions", Tags: tags, Security: BearerAuth,
		Description: "The caller's live refresh sessions, oldest first, with the client each was opened from.",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}},
		func(ctx context.Context, _ *struct{}) (*authSessionsOutput, error) {
			p, err := s.ActivePrincipal(ctx)
			if err != nil {
				return nil, err
			}
			list, err := svc.Sessions(ctx, p)
			if err != nil {
				return nil, err
			}
			out := &authSessionsOutput{}
			out.Body.Items = make([]authSessionBody, 0, len(list))
			for _, x := range list {
				out.Body.Items = append(out.Body.Items, authSessionBody{ID: x.ID.String(), CreatedAt: x.CreatedAt,
					LastUsedAt: x.RotatedAt, UserAgent: x.UserAgent, IP: x.IP, Current: x.ID.String() == p.SessionID})
			}
			return out, nil
		})
	Register(s, huma.Operation{OperationID: "auth-revoke-session", Method: http.MethodDelete, Path: "/api/v1/auth/sessions/{session_id}",
		Summary: "End one of the caller's sessions", Tags: tags, Security: BearerAuth, DefaultStatus: http.StatusNoContent,
		Description: "The session's refresh token and access tokens stop working at once. Another user's session id is 404.",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity}},
		func(ctx context.Context, in *authSessionIDInput) (*struct{}, error) {
			p, err := s.ActivePrincipal(ctx)
			if err != nil {
				return nil, err
			}
			id, err := uuid.Parse(in.SessionID)
			if err != nil {
				return nil, eusaas.Invalid("invalid session id", eusaas.FieldViolation{Location: "path.session_id", Message: "must be a UUID"})
			}
			return nil, svc.RevokeOwnSession(ctx, p, id)
		})
	Register(s, huma.Operation{OperationID: "auth-revoke-other-sessions", Method: http.MethodDelete, Path: "/api/v1/auth/sessions",
		Summary: "End all the caller's other sessions", Tags: tags, Security: BearerAuth, DefaultStatus: http.StatusNoContent,
		Description: "Every session of the caller except the current one ends at once.",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}},
		func(ctx context.Context, _ *struct{}) (*struct{}, error) {
			p, err := s.ActivePrincipal(ctx)
			if err != nil {
				return nil, err
			}
			_, err = svc.RevokeOtherSessions(ctx, p)
			return nil, err
		})
}
