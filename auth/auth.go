package auth

import (
	"net/mail"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// User is a tenant user (TenantID set, Role set) or a platform operator (TenantID zero, Role
// empty). PasswordHash is a PHC Argon2id string and never leaves the service.
type User struct {
	ID           uuid.UUID
	TenantID     eusaas.TenantID
	Email        string // normalised: trimmed, lower case
	FullName     string
	Role         Role
	PasswordHash string
	IsActive     bool
	// EmailVerified: the user proved the address (accepted an invitation sent to it, or
	// used the verification mail). Self-registered users start unverified. Not tracked for
	// operators.
	EmailVerified bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
	LastLoginAt   time.Time // zero: never
}

// IsOperator reports whether u is a platform operator.
func (u User) IsOperator() bool { return u.TenantID.IsZero() }

// Session is one refresh-token family: one stored row however often the token rotates.
//
// Refresh token k of a session carries secret s_k. s_0 is random and never stored;
// s_{k+1} = HMAC-SHA256(s_k, tenant|session|k+1). The row keeps only the counter n and
// SHA-256(s_n), so a leaked row mints no tokens, and any genuine older token can be proven
// genuine (by walking the chain forward to s_n) — which is what reuse detection needs.
type Session struct {
	ID        uuid.UUID
	TenantID  eusaas.TenantID // zero for operator sessions
	UserID    uuid.UUID
	Counter   uint64 // rotation counter n of the current token
	TokenHash []byte // SHA-256 of the current token's secret s_n
	CreatedAt time.Time
	RotatedAt time.Time // when token n was issued; start of the grace window
	ExpiresAt time.Time // absolute end, CreatedAt + refresh lifetime; rotation never extends it
	RevokedAt time.Time // zero: live
	// RevokeReason is "logout", "reuse", "deactivated" or "erased".
	RevokeReason string
	// UserAgent and IP are the client's at login (from eusaas.RequestMeta), shown to the
	// user in their session list so they can tell their devices apart.
	UserAgent string
	IP        string
}

// Revoked reports whether the session was revoked.
func (s Session) Revoked() bool { return !s.RevokedAt.IsZero() }

// Invitation lets its holder register in a tenant with a role. Only the SHA-256 of the token
// is stored; the token is shown once, when issued.
type Invitation struct {
	ID        uuid.UUID
	TenantID  eusaas.TenantID
	Email     string // normalised
	Role      Role
	TokenHash []byte
	CreatedBy string // user id of the issuer, "system" for owner invitations
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero: unused
}

// TenantInfo is what auth needs to know about a tenant.
type TenantInfo struct {
	ID                    eusaas.TenantID
	Status                string // tenancy status, "ACTIVE" is the only usable one
	AllowSelfRegistration bool
	// MaxUsers caps the tenant's users (tenancy's settings.max_users), counted as
	// UserStore.CountUsers counts them; registration refuses with ErrTenantUserLimit at the
	// cap. 0 means no limit.
	MaxUsers int
	// RequireEmailVerification refuses login to users whose e-mail is not verified.
	RequireEmailVerification bool
	// MFARequired (tenancy's settings.mfa_required) forces a second factor: a user without
	// one gets tokens good for enrolling one only (Principal.EnrolmentOnly).
	MFARequired bool
}

// TenantActive is the status a tenant must have for its users to register and log in.
const TenantActive = "ACTIVE"

// TokenPair is the answer to login and refresh.
type TokenPair struct {
	AccessToken  string
	RefreshToken string
	TokenType    string // "Bearer"
	ExpiresIn    int    // seconds until the access token expires
	ExpiresAt    time.Time
}

// RegisterInput is a registration request.
type RegisterInput struct {
	TenantIDOrSlug  string
	Email           string
	Password        string
	FullName        string
	InvitationToken string
}

// Validate checks the fields; messages never echo the password or the token.
func (in RegisterInput) Validate() error {
	var v eusaas.Violations
	if strings.TrimSpace(in.TenantIDOrSlug) == "" {
		v.Add("header.X-Tenant-ID", "is required")
	}
	validateEmail(&v, "body.email", in.Email)
	ValidatePassword(&v, "body.password", in.Password)
	if n := len(strings.TrimSpace(in.FullName)); n == 0 || n > 200 {
		v.Add("body.full_name", "must be 1 to 200 characters")
	} else if strings.ContainsFunc(in.FullName, unicode.IsControl) {
		// NUL in particular cannot be stored in Postgres text (it answered 500).
		v.Add("body.full_name", "must not contain control characters")
	}
	if len(in.InvitationToken) > 512 {
		v.Add("body.invitation_token", "is too long")
	}
	return v.Err()
}

// LoginInput is a login request. TenantIDOrSlug empty means a platform operator login.
type LoginInput struct {
	TenantIDOrSlug string
	Email          string
	Password       string
}

// InviteInput is an invitation request.
type InviteInput struct {
	TenantID eusaas.TenantID
	Email    string
	Role     Role
}

// Validate checks the fields.
func (in InviteInput) Validate() error {
	var v eusaas.Violations
	validateEmail(&v, "body.email", in.Email)
	if !in.Role.Valid() {
		v.Add("body.role", "must be one of OWNER, ADMIN, MEMBER, VIEWER")
	}
	return v.Err()
}

// NormalizeEmail trims and lower-cases an email, the form it is stored and looked up in.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func validateEmail(v *eusaas.Violations, loc, s string) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 254 {
		v.Add(loc, "must be an email address of at most 254 characters")
		return
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		v.Add(loc, "must be an email address")
	}
}
