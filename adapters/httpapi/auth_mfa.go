package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/eusaas/eusaas/auth"
)

// authLoginBody is the answer to a password login: the token pair, or — for an account with
// a second factor — mfa_required with an mfa_token and no tokens.
type authLoginBody struct {
	AccessToken          string `json:"access_token,omitempty" required:"false" doc:"Absent when mfa_required"`
	RefreshToken         string `json:"refresh_token,omitempty" required:"false" doc:"Absent when mfa_required"`
	TokenType            string `json:"token_type,omitempty" required:"false" enum:"Bearer" doc:"Absent when mfa_required"`
	ExpiresIn            int    `json:"expires_in" doc:"Seconds until the access token expires, or, when mfa_required, the mfa_token (300)"`
	MFARequired          bool   `json:"mfa_required,omitempty" required:"false" doc:"The account has a second factor: send mfa_token with a code to POST /api/v1/auth/login/mfa"`
	MFAToken             string `json:"mfa_token,omitempty" required:"false" doc:"Present when mfa_required; valid for 5 minutes"`
	MFAEnrolmentRequired bool   `json:"mfa_enrolment_required,omitempty" required:"false" doc:"The tenant requires a second factor the user has not enrolled: the tokens are good only for POST /auth/mfa/totp, /auth/mfa/totp/confirm, GET /auth/me and logout (every other route answers 403 mfa_enrolment_required); refresh after confirming for full tokens"`
}

type authLoginOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         authLoginBody
}

func authLoginOut(r auth.LoginResult) *authLoginOutput {
	out := &authLoginOutput{CacheControl: "no-store"}
	if r.MFA != nil {
		out.Body = authLoginBody{MFARequired: true, MFAToken: r.MFA.Token, ExpiresIn: r.MFA.ExpiresIn}
		return out
	}
	p := r.Tokens
	out.Body = authLoginBody{AccessToken: p.AccessToken, RefreshToken: p.RefreshToken, TokenType: p.TokenType,
		ExpiresIn: p.ExpiresIn, MFAEnrolmentRequired: r.EnrolmentRequired}
	return out
}

type authLoginMFAInput struct {
	Body struct {
		MFAToken string `json:"mfa_token" maxLength:"8192" doc:"From the login answer"`
		Code     string `json:"code" maxLength:"64" doc:"The authenticator's 6-digit code, or one of the recovery codes"`
	}
}

type authTOTPEnrolOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		Secret     string `json:"secret" doc:"Base32 TOTP secret (SHA-1, 6 digits, 30 s). Shown this once"`
		OTPAuthURL string `json:"otpauth_url" doc:"otpauth://totp/ URL for a QR code. Shown this once"`
	}
}

type authTOTPConfirmInput struct {
	Body struct {
		Code string `json:"code" maxLength:"16" doc:"The authenticator's current 6-digit code"`
	}
}

type authTOTPConfirmOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		RecoveryCodes []string `json:"recovery_codes" doc:"Ten single-use recovery codes, shown this once (only their hashes are stored)"`
	}
}

type authTOTPDisableInput struct {
	Body struct {
		Code            string `json:"code,omitempty" required:"false" maxLength:"64" doc:"A current TOTP code or a recovery code"`
		CurrentPassword string `json:"current_password,omitempty" required:"false" doc:"Instead of a code"`
	}
}

// registerAuthMFA adds TOTP enrolment, its removal and the second step of login.
func registerAuthMFA(s *Server, svc *auth.Service, tags []string) {
	Register(s, huma.Operation{OperationID: "auth-login-mfa", Method: http.MethodPost, Path: "/api/v1/auth/login/mfa",
		Summary: "Finish a login with the second factor", Tags: tags, Security: Public,
		Description: "mfa_token from POST /auth/login with a TOTP code (each code works once: a code of a step already used is refused) or a recovery code (each works once). Every failure is the same 401 problem; repeated failures back off and lock as password failures do.",
		Errors:      []int{http.StatusUnauthorized, http.StatusUnprocessableEntity, http.StatusTooManyRequests}},
		func(ctx context.Context, in *authLoginMFAInput) (*authTokensOutput, error) {
			p, err := svc.CompleteMFALogin(ctx, in.Body.MFAToken, in.Body.Code)
			if err != nil {
				return nil, authErr(err)
			}
			return authTokensOut(p), nil
		})
	Register(s, huma.Operation{OperationID: "auth-mfa-totp-enrol", Method: http.MethodPost, Path: "/api/v1/auth/mfa/totp",
		Summary: "Start a TOTP enrolment", Tags: tags, Security: BearerAuth,
		Description: "Tenant users and operators. Returns the secret and its otpauth:// URL, shown this once; the enrolment is pending until confirmed with a code. Starting again replaces a pending enrolment; 409 mfa_enabled when one is enabled. Audited MFA_ENROLMENT_STARTED (without the secret).",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict}},
		func(ctx context.Context, _ *struct{}) (*authTOTPEnrolOutput, error) {
			p, err := s.ActivePrincipal(ctx)
			if err != nil {
				return nil, err
			}
			secret, u, err := svc.EnrollTOTP(ctx, p)
			if err != nil {
				return nil, err
			}
			out := &authTOTPEnrolOutput{CacheControl: "no-store"}
			out.Body.Secret, out.Body.OTPAuthURL = secret, u
			return out, nil
		})
	Register(s, huma.Operation{OperationID: "auth-mfa-totp-confirm", Method: http.MethodPost, Path: "/api/v1/auth/mfa/totp/confirm",
		Summary: "Confirm the TOTP enrolment", Tags: tags, Security: BearerAuth,
		Description: "The authenticator's current code enables the second factor and returns ten single-use recovery codes, shown this once. A wrong code is 422 on body.code and counts toward the back-off. A notice mail goes to the account. Audited MFA_ENABLED.",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusTooManyRequests}},
		func(ctx context.Context, in *authTOTPConfirmInput) (*authTOTPConfirmOutput, error) {
			p, err := s.ActivePrincipal(ctx)
			if err != nil {
				return nil, err
			}
			codes, err := svc.ConfirmTOTP(ctx, p, in.Body.Code)
			if err != nil {
				return nil, authErr(err)
			}
			out := &authTOTPConfirmOutput{CacheControl: "no-store"}
			out.Body.RecoveryCodes = codes
			return out, nil
		})
	Register(s, huma.Operation{OperationID: "auth-mfa-totp-disable", Method: http.MethodDelete, Path: "/api/v1/auth/mfa/totp",
		Summary: "Remove the TOTP second factor", Tags: tags, Security: BearerAuth, DefaultStatus: http.StatusNoContent,
		Description: "Proof is one of: a current TOTP code or a recovery code (code), or the current password (current_password). A wrong proof is 422 and counts toward the back-off. A notice mail goes to the account. Audited MFA_DISABLED. In a tenant with settings.mfa_required the next login is enrolment-only again.",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusTooManyRequests}},
		func(ctx context.Context, in *authTOTPDisableInput) (*struct{}, error) {
			p, err := s.ActivePrincipal(ctx)
			if err != nil {
				return nil, err
			}
			return nil, authErr(svc.DisableTOTP(ctx, p, in.Body.Code, in.Body.CurrentPassword))
		})
}
