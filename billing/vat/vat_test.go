package vat

import (
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// Published example ids of each state with a check-digit algorithm; changing the last digit
// must make each invalid.
var validIDs = []string{
	"ATU13585627", "BE0403019261", "DE136695976", "DK13585628", "EE100931558", "EL094259216",
	"FI20774740", "FR40303265045", "HR33392005961", "HU12892312", "IT00743110157", "LU15027442",
	"MT11679112", "NL004495445B01", "PL8567346215", "PT501964843", "RO18547290", "SE123456789701",
	"SI50223054", "SK2022749619",
}

func TestParseIDCheckDigits(t *testing.T) {
	for _, s := range validIDs {
		id, reason, ok := ParseID(s)
		if !ok {
			t.Errorf("%s: rejected: %s", s, reason)
			continue
		}
		if id.String() != s {
			t.Errorf("%s: normalised to %s", s, id)
		}
		// The check digit is the last one, except NL, whose B-suffix is a branch number.
		at := len(s) - 1
		if id.Prefix == "NL" {
			at = 10
		}
		bad := s[:at] + string('0'+(s[at]-'0'+1)%10) + s[at+1:]
		if _, _, ok := ParseID(bad); ok {
			t.Errorf("%s: accepted with a wrong check digit", bad)
		}
	}
}

func TestParseIDFormatAndNormalisation(t *testing.T) {
	id, _, ok := ParseID(" de 136.695-976 ")
	if !ok || id.Prefix != "DE" || id.Number != "136695976" || id.Country() != "DE" {
		t.Fatalf("normalisation: %+v %v", id, ok)
	}
	if id, _, ok := ParseID("EL094259216"); !ok || id.Country() != "GR" {
		t.Fatalf("EL: %+v %v", id, ok)
	}
	for _, s := range []string{"", "DE", "GR094259216", "US123456789", "DE12345678", "ATX13585627", "ES123456789A", "NL004495445X01", "BE2403019261"} {
		if _, reason, ok := ParseID(s); ok || reason == "" {
			t.Errorf("%q accepted", s)
		}
	}
	for _, s := range []string{"ESB58378431", "IE6433435F", "IE6433435OA", "CZ12345678", "CY10259033P", "LV40003521600", "LT119511515", "BG175074752"} {
		if _, reason, ok := ParseID(s); !ok {
			t.Errorf("%q rejected: %s", s, reason)
		}
	}
}

func TestRateTableEffectiveDates(t *testing.T) {
	tab := NewRateTable(StandardRates)
	for _, c := range []struct {
		country, date, want string
	}{
		{"FI", "2024-08-31", "24"}, {"FI", "2024-09-01", "25.5"}, {"DE", "2020-12-31", "16"},
		{"DE", "2026-01-01", "19"}, {"EL", "2026-01-01", "24"}, {"SK", "2025-01-01", "23"},
	} {
		r, ok := tab.On(c.country, day(c.date))
		if !ok || !r.Percent.Equal(pct(c.want)) {
			t.Errorf("%s on %s: %v %v, want %s", c.country, c.date, r.Percent, ok, c.want)
		}
	}
	for _, m := range MemberStates {
		if _, ok := tab.On(m, day("2026-12-01")); !ok {
			t.Errorf("%s has no rate", m)
		}
	}
	over := NewRateTable(StandardRates, Rate{Country: "DE", Percent: pct("21"), From: day("2026-07-01")}, Rate{Country: "FI", Percent: pct("26"), From: day("2024-09-01")})
	if r, _ := over.On("DE", day("2026-07-02")); !r.Percent.Equal(pct("21")) {
		t.Errorf("override not applied: %v", r.Percent)
	}
	if r, _ := over.On("DE", day("2026-06-30")); !r.Percent.Equal(pct("19")) {
		t.Errorf("override applied early: %v", r.Percent)
	}
	if r, _ := over.On("FI", day("2025-01-01")); !r.Percent.Equal(pct("26")) {
		t.Errorf("same-date override did not replace: %v", r.Percent)
	}
}

func TestDecide(t *testing.T) {
	tab := NewRateTable(StandardRates)
	on := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	de := Settings{SellerCountry: "DE", UnverifiedPolicy: PolicyCharge}
	cases := []struct {
		name     string
		s        Settings
		b        Buyer
		rule     Rule
		cat      Category
		country  string
		percent  string
		exemText string
	}{
		{"domestic business", de, Buyer{Country: "DE", Type: Business, VATID: "DE136695976", Verification: Verified}, RuleDomestic, Standard, "DE", "19", ""},
		{"reverse charge", de, Buyer{Country: "FR", Type: Business, VATID: "FR40303265045", Verification: Verified}, RuleReverseCharge, ReverseCharge, "", "0", "Reverse charge"},
		{"oss consumer", de, Buyer{Country: "FI", Type: Consumer}, RuleOSS, Standard, "FI", "25.5", ""},
		{"oss greek consumer by EL", de, Buyer{Country: "EL", Type: Consumer}, RuleOSS, Standard, "GR", "24", ""},
		{"business invalid id", de, Buyer{Country: "AT", Type: Business, VATID: "ATU13585627", Verification: Invalid}, RuleOSS, Standard, "AT", "20", ""},
		{"unverified charge", de, Buyer{Country: "AT", Type: Business, VATID: "ATU13585627", Verification: Unverified}, RuleOSS, Standard, "AT", "20", ""},
		{"unverified reverse", Settings{SellerCountry: "DE", UnverifiedPolicy: PolicyReverse}, Buyer{Country: "AT", Type: Business, VATID: "ATU13585627", Verification: Unverified}, RuleReverseCharge, ReverseCharge, "", "0", "Reverse charge"},
		{"below threshold", Settings{SellerCountry: "DE", BelowOSSThreshold: true}, Buyer{Country: "FI", Type: Consumer}, RuleSellerRate, Standard, "DE", "19", ""},
		{"outside EU", de, Buyer{Country: "US", Type: Business}, RuleOutsideEU, NotSubject, "", "0", "Not subject to VAT in the EU"},
	}
	for _, c := range cases {
		d, err := Decide(c.s, c.b, tab, on)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if d.Rule != c.rule || d.Category != c.cat || d.Country != c.country || !d.Percent.Equal(decimal.RequireFromString(c.percent)) || d.ExemptionText != c.exemText || d.Reason == "" {
			t.Errorf("%s: got %+v", c.name, d)
		}
	}
	if _, err := Decide(Settings{SellerCountry: "CH"}, Buyer{Country: "DE"}, tab, on); err == nil || !strings.Contains(err.Error(), "CH") {
		t.Errorf("non-EU seller accepted: %v", err)
	}
}
