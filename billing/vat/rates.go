package vat

import (
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// Rate is a member state's standard VAT rate (percent) from a date on.
type Rate struct {
	Country string          // ISO code (GR for Greece)
	Percent decimal.Decimal // 19 means 19 %
	From    time.Time       // first day (UTC) the rate applies
}

func day(s string) time.Time       { t, _ := time.Parse("2006-01-02", s); return t }
func pct(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// StandardRates is the data of the standard rates the platform knows, with the changes since
// 2020 that matter for invoices still being corrected. Electronically supplied services are
// taxed at the standard rate everywhere. Operators add or override entries (a new rate
// announced by a state) through the tax-rate overrides; this table is the default.
var StandardRates = []Rate{
	{"AT", pct("20"), day("2000-01-01")}, {"BE", pct("21"), day("2000-01-01")},
	{"BG", pct("20"), day("2000-01-01")}, {"CY", pct("19"), day("2000-01-01")},
	{"CZ", pct("21"), day("2000-01-01")}, {"DE", pct("19"), day("2000-01-01")},
	{"DE", pct("16"), day("2020-07-01")}, {"DE", pct("19"), day("2021-01-01")},
	{"DK", pct("25"), day("2000-01-01")}, {"EE", pct("20"), day("2000-01-01")},
	{"EE", pct("22"), day("2024-01-01")}, {"EE", pct("24"), day("2025-07-01")},
	{"ES", pct("21"), day("2000-01-01")}, {"FI", pct("24"), day("2013-01-01")},
	{"FI", pct("25.5"), day("2024-09-01")}, {"FR", pct("20"), day("2000-01-01")},
	{"GR", pct("24"), day("2000-01-01")}, {"HR", pct("25"), day("2000-01-01")},
	{"HU", pct("27"), day("2000-01-01")}, {"IE", pct("23"), day("2000-01-01")},
	{"IE", pct("21"), day("2020-09-01")}, {"IE", pct("23"), day("2021-03-01")},
	{"IT", pct("22"), day("2000-01-01")}, {"LT", pct("21"), day("2000-01-01")},
	{"LU", pct("17"), day("2015-01-01")}, {"LU", pct("16"), day("2023-01-01")},
	{"LU", pct("17"), day("2024-01-01")}, {"LV", pct("21"), day("2000-01-01")},
	{"MT", pct("18"), day("2000-01-01")}, {"NL", pct("21"), day("2000-01-01")},
	{"PL", pct("23"), day("2000-01-01")}, {"PT", pct("23"), day("2000-01-01")},
	{"RO", pct("19"), day("2017-01-01")}, {"RO", pct("21"), day("2025-08-01")},
	{"SE", pct("25"), day("2000-01-01")}, {"SI", pct("22"), day("2000-01-01")},
	{"SK", pct("20"), day("2000-01-01")}, {"SK", pct("23"), day("2025-01-01")},
}

// RateTable answers the standard rate of a state on a date from a list of dated rates.
type RateTable struct{ byCountry map[string][]Rate }

// NewRateTable builds a table from base overlaid by overrides: an override for the same
// country and start date replaces the base entry, others are added.
func NewRateTable(base []Rate, overrides ...Rate) RateTable {
	t := RateTable{byCountry: map[string][]Rate{}}
	add := func(r Rate) {
		r.Country = NormalizeCountry(r.Country)
		l := t.byCountry[r.Country]
		for i := range l {
			if l[i].From.Equal(r.From) {
				l[i] = r
				return
			}
		}
		t.byCountry[r.Country] = append(l, r)
	}
	for _, r := range base {
		add(r)
	}
	for _, r := range overrides {
		add(r)
	}
	for c := range t.byCountry {
		l := t.byCountry[c]
		sort.Slice(l, func(i, j int) bool { return l[i].From.Before(l[j].From) })
	}
	return t
}

// On returns the rate of country on date (ok=false when the table has none then).
func (t RateTable) On(country string, date time.Time) (Rate, bool) {
	var out Rate
	ok := false
	for _, r := range t.byCountry[NormalizeCountry(country)] {
		if r.From.After(date) {
			break
		}
		out, ok = r, true
	}
	return out, ok
}

// All returns every entry, by country then date.
func (t RateTable) All() []Rate {
	var out []Rate
	for _, c := range MemberStates {
		out = append(out, t.byCountry[c]...)
	}
	return out
}
