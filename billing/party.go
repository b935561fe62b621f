package billing

import (
	"context"
	"net/mail"
	"strings"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing/vat"
)

// Address is a postal address; Country is ISO 3166-1 alpha-2 (EL accepted for Greece and
// stored as GR).
type Address struct {
	Line1      string
	Line2      string
	PostalCode string
	City       string
	Country    string
}

// Seller is the platform operator as it appears on every invoice (Art. 226 (5)).
type Seller struct {
	LegalName string
	Address   Address
	VATID     string
	Email     string
	IBAN      string
	BIC       string
}

// BillingProfile is a tenant's identity as a buyer.
type BillingProfile struct {
	TenantID     eusaas.TenantID
	LegalName    string
	Address      Address
	Email        string
	CustomerType vat.CustomerType
	VATID        string
	// Verification is the VIES state of VATID; Evidence the last definite VIES answer.
	Verification vat.Verification
	Evidence     *VIESEvidence
	UpdatedAt    time.Time
}

// Party is a seller or buyer block as copied onto an invoice at issue; it is never re-read
// from the profile afterwards.
type Party struct {
	LegalName    string
	Address      Address
	VATID        string
	Email        string
	CustomerType vat.CustomerType // buyers only
	Verification vat.Verification // buyers only: the VIES state when the invoice was issued
	IBAN, BIC    string           // seller only
}

// ProfileStore keeps the seller, the tenants' billing profiles and the operators' VAT-rate
// overrides.
type ProfileStore interface {
	// Seller returns the seller (ok=false when never set).
	Seller(ctx context.Context) (Seller, bool, error)
	SetSeller(ctx context.Context, s Seller) error
	// Profile returns the tenant's billing profile (ok=false when never set).
	Profile(ctx context.Context, tenant eusaas.TenantID) (BillingProfile, bool, error)
	SetProfile(ctx context.Context, p BillingProfile) error
	// RateOverrides returns every operator override of the standard rates.
	RateOverrides(ctx context.Context) ([]vat.Rate, error)
	// SetRateOverride creates or replaces the override of (country, from).
	SetRateOverride(ctx context.Context, r vat.Rate) error
}

// Errors of the invoicing identity.
var (
	ErrSellerNotConfigured = eusaas.Sentinel(eusaas.NotFound, "seller_not_configured", "the seller's billing identity is not configured (PUT /billing/seller)")
	ErrNoBillingProfile    = eusaas.Sentinel(eusaas.NotFound, "billing_profile_missing", "the tenant has no billing profile (PUT /tenants/{id}/billing-profile)")
	// ErrIssueWithoutProfile: with the seller configured, an invoice needs its buyer's
	// identity (Art. 226 (5)) before it can be issued.
	ErrIssueWithoutProfile = eusaas.Sentinel(eusaas.FailedPrecondition, "billing_profile_required", "the tenant needs a billing profile before invoices can be issued (PUT /tenants/{id}/billing-profile)")
)

const maxPartyText = 200

func checkText(v *eusaas.Violations, loc, s string, required bool) {
	switch {
	case required && strings.TrimSpace(s) == "":
		v.Add(loc, "is required")
	case len(s) > maxPartyText:
		v.Add(loc, "must be at most 200 bytes")
	case !billingText(s) || strings.ContainsAny(s, "\r\n"):
		v.Add(loc, "must be one line of valid UTF-8")
	}
}

// normalize checks the address and returns it with its country in ISO form.
func (a Address) normalize(v *eusaas.Violations, loc string) Address {
	checkText(v, loc+".line1", a.Line1, true)
	checkText(v, loc+".line2", a.Line2, false)
	checkText(v, loc+".postal_code", a.PostalCode, false)
	checkText(v, loc+".city", a.City, true)
	a.Country = vat.NormalizeCountry(a.Country)
	if !knownCountry(a.Country) {
		v.Add(loc+".country", "unknown country: an ISO 3166-1 alpha-2 code")
	}
	return a
}

func checkEmail(v *eusaas.Violations, loc, s string) {
	if a, err := mail.ParseAddress(s); err != nil || a.Address != s || len(s) > maxPartyText {
		v.Add(loc, "must be an email address")
	}
}

// normalizeVATID checks a VAT id and that it belongs to country; it returns the id as printed.
func normalizeVATID(v *eusaas.Violations, loc, s, country string) string {
	id, reason, ok := vat.ParseID(s)
	if !ok {
		v.Add(loc, reason)
		return s
	}
	if country != "" && id.Country() != country {
		v.Add(loc, "the VAT id's prefix "+id.Prefix+" does not match the address country "+country)
	}
	return id.String()
}

// validate checks the seller and returns it normalised.
func (s Seller) validate() (Seller, error) {
	var v eusaas.Violations
	checkText(&v, "body.legal_name", s.LegalName, true)
	s.Address = s.Address.normalize(&v, "body.address")
	if !vat.InEU(s.Address.Country) && knownCountry(s.Address.Country) {
		v.Add("body.address.country", "the seller must be established in an EU member state")
	}
	s.VATID = normalizeVATID(&v, "body.vat_id", s.VATID, s.Address.Country)
	checkEmail(&v, "body.email", s.Email)
	s.IBAN = strings.ToUpper(strings.ReplaceAll(s.IBAN, " ", ""))
	if s.IBAN != "" && !validIBAN(s.IBAN) {
		v.Add("body.iban", "not a valid IBAN")
	}
	s.BIC = strings.ToUpper(strings.TrimSpace(s.BIC))
	if s.BIC != "" && !validBIC(s.BIC) {
		v.Add("body.bic", "not a valid BIC (8 or 11 characters)")
	}
	return s, v.Err()
}

// validate checks the profile and returns it normalised.
func (p BillingProfile) validate() (BillingProfile, error) {
	var v eusaas.Violations
	checkText(&v, "body.legal_name", p.LegalName, true)
	p.Address = p.Address.normalize(&v, "body.address")
	checkEmail(&v, "body.email", p.Email)
	switch p.CustomerType {
	case vat.Business, vat.Consumer:
	default:
		v.Add("body.customer_type", "must be BUSINESS or CONSUMER")
	}
	if p.VATID != "" {
		if !vat.InEU(p.Address.Country) {
			v.Add("body.vat_id", "EU VAT ids only; leave it empty for a buyer outside the EU")
		} else {
			p.VATID = normalizeVATID(&v, "body.vat_id", p.VATID, p.Address.Country)
		}
	}
	return p, v.Err()
}

func validIBAN(s string) bool {
	if len(s) < 15 || len(s) > 34 || !knownCountry(s[:2]) {
		return false
	}
	r := s[4:] + s[:4]
	m := 0
	for _, c := range r {
		switch {
		case c >= '0' && c <= '9':
			m = (m*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			m = (m*100 + int(c-'A'+10)) % 97
		default:
			return false
		}
	}
	return m == 1
}

func validBIC(s string) bool {
	if len(s) != 8 && len(s) != 11 {
		return false
	}
	for i, c := range s {
		letter, digit := c >= 'A' && c <= 'Z', c >= '0' && c <= '9'
		if (i < 6 && !letter) || (i >= 6 && !letter && !digit) {
			return false
		}
	}
	return knownCountry(s[4:6])
}
