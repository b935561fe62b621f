package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/eusaas/eusaas/auth"
)

type authPasswordChangeInput struct {
	Body struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password" doc:"10..128 characters with upper, lower, digit and special character"`
	}
}

type authPasswordForgotInput struct {
	TenantID string `header:"X-Tenant-ID" doc:"Tenant id or slug; omit for platform operators"`
	Body     struct {
		Email string `json:"email" maxLength:"254"`
	}
}

type authPasswordForgotOutput struct {
	Body struct {
		Status string `json:"status" enum:"accepted" doc:"Always \"accepted\": the answer never tells whether the account exists"`
	}
}

type authPasswordResetInput struct {
	Body struct {
		Token       string `json:"token" maxLength:"512" doc:"From the reset mail's link"`
		NewPassword string `json:"new_password" doc:"10..128 characters with upper, lower, digit and special character"`
	}
}

type authEmailVerifyInput struct {
	Body struct {
		Token string `json:"token" maxLength:"512" doc:"From the verification mail's link"`
	}
}

// registerAuthPasswords adds password change (authenticated) and the reset by e-mail.
func registerAuthPasswords(s *Server, svc *auth.Service, tags []string) {
	Register(s, huma.Operation{OperationID: "auth-password-change", Method: http.MethodPost, Path: "/api/v1/auth/password/change",
		Summary: "Change the caller's password", Tags: tags, Security: BearerAuth, DefaultStatus: http.StatusNoContent,
		Description: "Needs the current password (a wrong one is 422 on body.current_password and counts toward the account's back-off). Every other session of the caller ends; the current one stays. Audited PASSWORD_CHANGED.",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusUnprocessableEntity, http.StatusTooManyRequests}},
		func(ctx context.Context, in *authPasswordChangeInput) (*struct{}, error) {
			p, err := s.ActivePrincipal(ctx)
			if err != nil {
				return nil, err
			}
			return nil, authErr(svc.ChangePassword(ctx, p, in.Body.CurrentPassword, in.Body.NewPassword))
		})
	Register(s, huma.Operation{OperationID: "auth-password-forgot", Method: http.MethodPost, Path: "/api/v1/auth/password/forgot",
		Summary: "Ask for a password reset mail", Tags: tags, Security: Public, DefaultStatus: http.StatusAccepted,
		Description: "Tenant users send X-Tenant-ID; platform operators none. Always 202 with the same body, and the same work in the request (it only queues a job), whether or not the account exists. If it exists and is active, a mail carries a single-use reset link valid for one hour; a new request voids the previous link.",
		Errors:      []int{http.StatusUnprocessableEntity}},
		func(ctx context.Context, in *authPasswordForgotInput) (*authPasswordForgotOutput, error) {
			if err := svc.ForgotPassword(ctx, in.TenantID, in.Body.Email); err != nil {
				return nil, err
			}
			out := &authPasswordForgotOutput{}
			out.Body.Status = "accepted"
			return out, nil
		})
	Register(s, huma.Operation{OperationID: "auth-password-reset", Method: http.MethodPost, Path: "/api/v1/auth/password/reset",
		Summary: "Set a new password with a reset token", Tags: tags, Security: Public, DefaultStatus: http.StatusNoContent,
		Description: "The token from the reset mail works once, within one hour. Every session of the account ends. An unknown, used, replaced or expired token is 403 invalid_reset_token. Audited PASSWORD_RESET.",
		Errors:      []int{http.StatusForbidden, http.StatusUnprocessableEntity, http.StatusTooManyRequests}},
		func(ctx context.Context, in *authPasswordResetInput) (*struct{}, error) {
			return nil, authErr(svc.ResetPassword(ctx, in.Body.Token, in.Body.NewPassword))
		})
	Register(s, huma.Operation{OperationID: "auth-email-verify", Method: http.MethodPost, Path: "/api/v1/auth/email/verify",
		Summary: "Verify an e-mail address", Tags: tags, Security: Public, DefaultStatus: http.StatusNoContent,
		Description: "Self-registered users receive a verification mail; its token works once, within 48 hours. Invited users are verified by accepting the invitation. An unknown, used or expired token is 403 invalid_verification_token. Audited EMAIL_VERIFIED.",
		Errors:      []int{http.StatusForbidden, http.StatusUnprocessableEntity}},
		func(ctx context.Context, in *authEmailVerifyInput) (*struct{}, error) {
			return nil, svc.VerifyEmail(ctx, in.Body.Token)
		})
}
