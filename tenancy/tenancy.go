package tenancy

import (
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
)

// Status is a tenant's lifecycle state.
type Status string

// Lifecycle states (SPEC.md "Tenant lifecycle").
const (
	StatusPending        Status = "PENDING"
	StatusProvisioning   Status = "PROVISIONING"
	StatusActive         Status = "ACTIVE"
	StatusSuspended      Status = "SUSPENDED"
	StatusDeprovisioning Status = "DEPROVISIONING"
	StatusDeleted        Status = "DELETED"
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{StatusPending, StatusProvisioning, StatusActive, StatusSuspended, StatusDeprovisioning, StatusDeleted}

// transitions is the table of SPEC.md; anything not listed is refused.
var transitions = map[Status][]Status{
	StatusPending:        {StatusProvisioning, StatusDeleted},
	StatusProvisioning:   {StatusActive, StatusDeleted},
	StatusActive:         {StatusSuspended, StatusDeprovisioning},
	StatusSuspended:      {StatusActive, StatusDeprovisioning},
	StatusDeprovisioning: {StatusDeleted},
}

// Valid reports whether s is one of the six statuses.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// CanTransitionTo reports whether the lifecycle allows s -> to.
func (s Status) CanTransitionTo(to Status) bool { return slices.Contains(transitions[s], to) }

// Tier is a tenant's commercial plan.
type Tier string

// Tiers.
const (
	TierFree         Tier = "FREE"
	TierStarter      Tier = "STARTER"
	TierProfessional Tier = "PROFESSIONAL"
	TierEnterprise   Tier = "ENTERPRISE"
)

// Valid reports whether t is one of the four tiers.
func (t Tier) Valid() bool {
	switch t {
	case TierFree, TierStarter, TierProfessional, TierEnterprise:
		return true
	}
	return false
}

// DefaultRegion is the data residency region of a tenant that names none.
const DefaultRegion = "eu-central-1"

// EURegions are the cloud regions located in EU member states (AWS naming): Frankfurt,
// Ireland, Paris, Milan, Spain, Stockholm. London (eu-west-2) and Zurich (eu-central-2) carry
// an "eu-" prefix but are outside the EU, so they are deliberately absent.
var EURegions = []string{"eu-central-1", "eu-west-1", "eu-west-3", "eu-south-1", "eu-south-2", "eu-north-1"}

// Slug bounds and pattern (SPEC.md).
const (
	SlugMinLen = 2
	SlugMaxLen = 64
)

var slugRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// ValidateSlug reports why s is not a valid slug, or "" when it is.
func ValidateSlug(s string) string {
	if len(s) < SlugMinLen || len(s) > SlugMaxLen {
		return "must be 2 to 64 characters"
	}
	if !slugRE.MatchString(s) {
		return "must match ^[a-z0-9]+(-[a-z0-9]+)*$"
	}
	return ""
}

// Limits on free-form fields; they keep the registry row and its cache entry small.
const (
	NameMaxLen          = 200
	MetadataMaxKeys     = 50
	MetadataKeyMaxLen   = 64
	MetadataValueMaxLen = 500
	EmailMaxLen         = 254
)

// Settings are a tenant's limits and switches.
type Settings struct {
	MaxUsers          int `json:"max_users"`
	StorageLimitGB    int `json:"storage_limit_gb"`
	APIRateLimit      int `json:"api_rate_limit"` // requests per minute
	DataRetentionDays int `json:"data_retention_days"`
	// CostAlertThreshold is in EUR.
	CostAlertThreshold decimal.Decimal `json:"cost_alert_threshold"`
	// AnomalyMinImpact is the minimum absolute impact in EUR a cost anomaly needs to be
	// reported (the second half of anomaly detection's dual gate). Never zero, so a stored
	// value always means itself rather than "the scanner's default".
	AnomalyMinImpact decimal.Decimal `json:"anomaly_min_impact"`
	// AllowSelfRegistration lets users register without an invitation token.
	AllowSelfRegistration bool `json:"allow_self_registration"`
	// RequireEmailVerification refuses login to users who have not verified their e-mail
	// address (self-registered users verify through a mail; invited users are verified).
	RequireEmailVerification bool `json:"require_email_verification"`
	// MFARequired makes a second factor mandatory: a user without one can log in only to
	// enrol one.
	MFARequired bool `json:"mfa_required"`
}

// DefaultSettings returns the settings of a new tenant.
func DefaultSettings() Settings {
	return Settings{
		MaxUsers:           50,
		StorageLimitGB:     100,
		APIRateLimit:       1000,
		DataRetentionDays:  365,
		CostAlertThreshold: decimal.NewFromInt(1000),
		AnomalyMinImpact:   decimal.NewFromInt(5),
	}
}

// Validate reports every out-of-range setting, located under prefix (e.g. "body.settings").
func (s Settings) Validate(prefix string, v *eusaas.Violations) {
	if s.MaxUsers < 1 || s.MaxUsers > 1_000_000 {
		v.Add(prefix+".max_users", "must be between 1 and 1000000")
	}
	if s.StorageLimitGB < 1 || s.StorageLimitGB > 1_000_000 {
		v.Add(prefix+".storage_limit_gb", "must be between 1 and 1000000")
	}
	if s.APIRateLimit < 1 || s.APIRateLimit > 10_000_000 {
		v.Add(prefix+".api_rate_limit", "must be between 1 and 10000000")
	}
	if s.DataRetentionDays < 1 || s.DataRetentionDays > 3650 {
		v.Add(prefix+".data_retention_days", "must be between 1 and 3650")
	}
	if s.CostAlertThreshold.IsNegative() || !s.CostAlertThreshold.Equal(s.CostAlertThreshold.Round(2)) {
		v.Add(prefix+".cost_alert_threshold", "must be a non-negative amount with at most 2 decimals")
	}
	if s.CostAlertThreshold.GreaterThan(decimal.New(1, 12)) {
		v.Add(prefix+".cost_alert_threshold", "must be at most 1000000000000")
	}
	if !s.AnomalyMinImpact.IsPositive() || !s.AnomalyMinImpact.Equal(s.AnomalyMinImpact.Round(2)) || s.AnomalyMinImpact.GreaterThan(decimal.New(1, 9)) {
		v.Add(prefix+".anomaly_min_impact", "must be an amount between 0.01 and 1000000000 with at most 2 decimals")
	}
}

// Tenant is a customer organisation. Its data lives in the Postgres schema SchemaName.
type Tenant struct {
	ID     eusaas.TenantID `json:"id"`
	Name   string          `json:"name"`
	Slug   string          `json:"slug"`
	Status Status          `json:"status"`
	Tier   Tier            `json:"tier"`
	// PlanCode is the billing plan the tenant is on ("" when none).
	PlanCode   string `json:"plan_code"`
	SchemaName string `json:"schema_name"`
	Region     string `json:"data_residency_region"`
	// AdminEmail is personal data: it is removed when the tenant is deleted.
	AdminEmail string            `json:"admin_email"`
	Metadata   map[string]string `json:"metadata"`
	Settings   Settings          `json:"settings"`
	// StatusReason says why the tenant is in its status when that is not self-evident
	// (a provisioning failure that ended in DELETED).
	StatusReason string     `json:"status_reason,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	DeletedAt    *time.Time `json:"deleted_at,omitempty"`
	// Version increases by one with every stored change; it is the ETag of the tenant and
	// the basis of optimistic concurrency (If-Match).
	Version int64 `json:"version"`
}

// CreateInput is what a caller gives to create a tenant.
type CreateInput struct {
	Name       string
	Slug       string
	Tier       Tier   // FREE when empty
	AdminEmail string // receives the owner invitation
	Region     string // the service's default region when empty
	Metadata   map[string]string
}

// SettingsPatch changes some settings; nil fields are kept.
type SettingsPatch struct {
	MaxUsers                 *int
	StorageLimitGB           *int
	APIRateLimit             *int
	DataRetentionDays        *int
	CostAlertThreshold       *decimal.Decimal
	AnomalyMinImpact         *decimal.Decimal
	AllowSelfRegistration    *bool
	RequireEmailVerification *bool
	MFARequired              *bool
}

// UpdateInput is a PATCH: nil fields are kept. Metadata is merged key by key (RFC 7396
// merge patch): a nil value removes the key.
type UpdateInput struct {
	Name *string
	Tier *Tier
	// PlanCode moves the tenant to a billing plan (Deps.Plans must know it); the plan's
	// limits replace max_users, storage_limit_gb and api_rate_limit unless Settings sets them
	// in the same patch.
	PlanCode *string
	// Region changes the data residency region (one of the service's regions). The change
	// is stored at once and handed to the RegionMover in the same transaction, which moves
	// the tenant's data in the background where the storage places data by region (Citus);
	// elsewhere the region is a label.
	Region   *string
	Metadata map[string]*string
	Settings *SettingsPatch
	// IfMatch, when non-zero, is the version the caller last saw; the update is refused with
	// ErrPreconditionFailed when the stored version differs.
	IfMatch int64
}

// ListFilter narrows List.
type ListFilter struct {
	Status Status // all statuses when empty
}

// OwnerInvitation is the invitation issued to a new tenant's admin. The token is shown once.
type OwnerInvitation struct {
	Token     string
	ExpiresAt time.Time
}

// CreateResult is a created tenant and its owner invitation.
type CreateResult struct {
	Tenant     Tenant
	Invitation OwnerInvitation
}

func validateName(name, loc string, v *eusaas.Violations) {
	n := strings.TrimSpace(name)
	switch {
	case n == "":
		v.Add(loc, "must not be empty")
	case utf8.RuneCountInString(name) > NameMaxLen:
		v.Add(loc, "must be at most 200 characters")
	case n != name:
		v.Add(loc, "must not start or end with white space")
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		v.Add(loc, "must not contain control characters")
	}
}

func validateEmail(email, loc string, v *eusaas.Violations) {
	if email == "" {
		v.Add(loc, "must not be empty")
		return
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" || len(email) > EmailMaxLen || !strings.Contains(email[strings.LastIndexByte(email, '@')+1:], ".") {
		v.Add(loc, "must be a valid email address")
	}
}

func validateMetadataKey(k, loc string, v *eusaas.Violations) {
	if k == "" || len(k) > MetadataKeyMaxLen || strings.ContainsFunc(k, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		v.Add(loc, "metadata keys must be 1 to 64 characters without control characters")
	}
}

func validateMetadata(m map[string]string, loc string, v *eusaas.Violations) {
	if len(m) > MetadataMaxKeys {
		v.Add(loc, "must have at most 50 keys")
		return
	}
	for k, val := range m {
		validateMetadataKey(k, loc, v)
		validateMetadataValue(val, loc+"."+k, v)
	}
}

func validateMetadataValue(val, loc string, v *eusaas.Violations) {
	switch {
	case utf8.RuneCountInString(val) > MetadataValueMaxLen:
		v.Add(loc, "must be at most 500 characters")
	case strings.ContainsRune(val, 0):
		// Postgres cannot store U+0000 in text or jsonb; it answered 500 before this check.
		v.Add(loc, "must not contain NUL characters")
	}
}
