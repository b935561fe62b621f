package vat

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// Category is the UNCL 5305 VAT category code EN 16931 uses.
type Category string

// The categories the platform's services can fall in.
const (
	Standard      Category = "S"  // VAT charged at a rate
	ReverseCharge Category = "AE" // VAT due by the buyer (Art. 196)
	NotSubject    Category = "O"  // outside the scope of EU VAT
)

// Rule names the decision taken, stored on the invoice with its reason.
type Rule string

// The rules of Decide.
const (
	RuleDomestic      Rule = "DOMESTIC"
	RuleReverseCharge Rule = "REVERSE_CHARGE"
	RuleOSS           Rule = "OSS"
	RuleSellerRate    Rule = "SELLER_RATE_BELOW_THRESHOLD"
	RuleOutsideEU     Rule = "OUTSIDE_EU"
)

// CustomerType says whether the buyer is a taxable person or a consumer.
type CustomerType string

// Customer types.
const (
	Business CustomerType = "BUSINESS"
	Consumer CustomerType = "CONSUMER"
)

// Verification is the VIES state of a buyer's VAT id.
type Verification string

// Verification states.
const (
	Verified   Verification = "verified"
	Invalid    Verification = "invalid"    // VIES said the id is not valid
	Unverified Verification = "unverified" // VIES could not be asked (yet)
	NoID       Verification = "none"
)

// UnverifiedPolicy is what to do with a business buyer whose id VIES could not confirm.
type UnverifiedPolicy string

// Policies (APP_VAT_UNVERIFIED_POLICY).
const (
	PolicyCharge  UnverifiedPolicy = "charge"  // charge VAT as if there were no id (safe default)
	PolicyReverse UnverifiedPolicy = "reverse" // trust the well-formed id and reverse charge
)

// Valid reports whether p is a known policy.
func (p UnverifiedPolicy) Valid() bool { return p == PolicyCharge || p == PolicyReverse }

// Buyer is what the decision needs to know about the customer.
type Buyer struct {
	Country      string
	Type         CustomerType
	VATID        string
	Verification Verification
}

// Settings are the seller-side inputs.
type Settings struct {
	SellerCountry    string
	UnverifiedPolicy UnverifiedPolicy
	// BelowOSSThreshold: the seller's cross-border B2C supplies stay under EUR 10,000 a year
	// (Art. 59c) and it charges its own rate instead of the customer's.
	BelowOSSThreshold bool
}

// Decision is the VAT treatment of one invoice.
type Decision struct {
	Rule     Rule
	Category Category
	Country  string          // whose rate applies (empty for AE and O)
	Percent  decimal.Decimal // 0 for AE and O
	Reason   string          // why, in words, stored on the invoice
	// ExemptionText is printed for AE and O (EN 16931 BT-120).
	ExemptionText string
	ExemptionCode string // VATEX code (BT-121)
}

// Decide determines the VAT treatment of electronically supplied services (place of supply:
// the customer, Art. 58; B2B: Art. 44 with reverse charge Art. 196) on date.
func Decide(s Settings, b Buyer, rates RateTable, date time.Time) (Decision, error) {
	seller, buyer := NormalizeCountry(s.SellerCountry), NormalizeCountry(b.Country)
	if !InEU(seller) {
		return Decision{}, fmt.Errorf("seller country %q is not an EU member state", s.SellerCountry)
	}
	rate := func(rule Rule, country, why string) (Decision, error) {
		r, ok := rates.On(country, date)
		if !ok {
			return Decision{}, fmt.Errorf("no VAT rate known for %s on %s", country, date.Format("2006-01-02"))
		}
		return Decision{Rule: rule, Category: Standard, Country: country, Percent: r.Percent, Reason: why}, nil
	}
	if !InEU(buyer) {
		return Decision{Rule: RuleOutsideEU, Category: NotSubject,
			Reason:        fmt.Sprintf("buyer in %s, outside the EU: the service is supplied where the customer is (Art. 44/59), not subject to EU VAT", buyer),
			ExemptionText: "Not subject to VAT in the EU", ExemptionCode: "VATEX-EU-O"}, nil
	}
	if buyer == seller {
		return rate(RuleDomestic, seller, fmt.Sprintf("buyer in the seller's member state %s: domestic standard rate", seller))
	}
	if b.Type == Business && b.VATID != "" {
		switch {
		case b.Verification == Verified:
			return Decision{Rule: RuleReverseCharge, Category: ReverseCharge,
				Reason:        fmt.Sprintf("business buyer in %s with VIES-verified VAT id %s: reverse charge (Art. 44, 196)", buyer, b.VATID),
				ExemptionText: "Reverse charge", ExemptionCode: "VATEX-EU-AE"}, nil
		case b.Verification == Unverified && s.UnverifiedPolicy == PolicyReverse:
			return Decision{Rule: RuleReverseCharge, Category: ReverseCharge,
				Reason:        fmt.Sprintf("business buyer in %s, VAT id %s not verifiable with VIES; policy 'reverse': reverse charge (Art. 44, 196)", buyer, b.VATID),
				ExemptionText: "Reverse charge", ExemptionCode: "VATEX-EU-AE"}, nil
		}
	}
	why := "consumer"
	if b.Type == Business {
		why = fmt.Sprintf("business buyer without a usable VAT id (%s)", b.Verification)
		if b.Verification == Unverified {
			why = fmt.Sprintf("business buyer whose VAT id %s VIES could not verify; policy 'charge'", b.VATID)
		}
	}
	if s.BelowOSSThreshold {
		return rate(RuleSellerRate, seller, fmt.Sprintf("%s in %s; seller below the EUR 10,000 threshold (Art. 59c): seller's rate", why, buyer))
	}
	return rate(RuleOSS, buyer, fmt.Sprintf("%s in %s: customer's standard rate, declared through OSS (Art. 58, 369a)", why, buyer))
}
