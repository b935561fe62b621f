// Package vat holds the EU VAT knowledge the invoicing needs and nothing else: member states,
// VAT identification numbers (format and check digits per state), standard rates with their
// effective dates, and the decision which VAT treatment an electronically supplied service
// gets. It is pure: no I/O, so every rule is testable on its own.
package vat

import (
	"strconv"
	"strings"
)

// MemberStates are the 27 EU member states by ISO 3166-1 alpha-2 code (GR for Greece; its
// VAT ids use the prefix EL).
var MemberStates = []string{"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
	"IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}

// InEU reports whether the ISO country code is a member state. EL is accepted for Greece.
func InEU(country string) bool {
	c := NormalizeCountry(country)
	for _, m := range MemberStates {
		if m == c {
			return true
		}
	}
	return false
}

// NormalizeCountry upper-cases a country code and maps the VAT prefix EL to ISO GR, so the
// same state is never seen as two.
func NormalizeCountry(c string) string {
	c = strings.ToUpper(strings.TrimSpace(c))
	if c == "EL" {
		return "GR"
	}
	return c
}

// VATPrefix is the prefix of the state's VAT ids (EL for Greece, else the ISO code).
func VATPrefix(country string) string {
	c := NormalizeCountry(country)
	if c == "GR" {
		return "EL"
	}
	return c
}

// ID is a VAT identification number split into its prefix (EL for Greece) and number.
type ID struct {
	Prefix string // two letters, as printed on invoices
	Number string // without prefix, spaces, dots or dashes; upper case
}

// String is the id as printed: prefix and number without separators.
func (id ID) String() string { return id.Prefix + id.Number }

// Country is the id's ISO country (GR for EL).
func (id ID) Country() string { return NormalizeCountry(id.Prefix) }

// ParseID normalises s (drops spaces, dots, dashes; upper case) and checks it against its
// state's format and, where the state publishes one, its check-digit algorithm. The reason
// is for the caller to show; ok=false means the id can never be valid.
func ParseID(s string) (id ID, reason string, ok bool) {
	s = strings.ToUpper(strings.NewReplacer(" ", "", ".", "", "-", "", "\t", "").Replace(s))
	if len(s) < 4 {
		return ID{}, "a VAT id is a two-letter country prefix followed by the number", false
	}
	id = ID{Prefix: s[:2], Number: s[2:]}
	if id.Prefix == "GR" {
		return ID{}, "Greek VAT ids use the prefix EL", false
	}
	check, known := rules[id.Prefix]
	if !known {
		return ID{}, "not the VAT id prefix of an EU member state", false
	}
	if !check(id.Number) {
		return ID{}, "not a valid " + id.Prefix + " VAT number (format or check digits)", false
	}
	return id, "", true
}

func digits(s string, n ...int) bool {
	if len(n) > 0 {
		ok := false
		for _, l := range n {
			ok = ok || len(s) == l
		}
		if !ok {
			return false
		}
	}
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func d(s string, i int) int { return int(s[i] - '0') }

// weighted returns sum(digit_i * w_i) over the first len(w) digits.
func weighted(s string, w ...int) int {
	t := 0
	for i, x := range w {
		t += d(s, i) * x
	}
	return t
}

// luhn reports whether the digit string passes the Luhn check.
func luhn(s string) bool {
	sum := 0
	for i := 0; i < len(s); i++ {
		x := d(s, len(s)-1-i)
		if i%2 == 1 {
			x *= 2
			if x > 9 {
				x -= 9
			}
		}
		sum += x
	}
	return sum%10 == 0
}

// mod1110 is ISO 7064 MOD 11,10 over the whole string (last digit is the check digit).
func mod1110(s string) bool {
	p := 10
	for i := 0; i < len(s)-1; i++ {
		t := (d(s, i) + p) % 10
		if t == 0 {
			t = 10
		}
		p = (2 * t) % 11
	}
	c := 11 - p
	if c == 10 {
		c = 0
	}
	return c == d(s, len(s)-1)
}

// mod97 returns the big number s (digits and letters A=10..Z=35) modulo 97.
func mod97(s string) int {
	r := 0
	for _, ch := range s {
		switch {
		case ch >= '0' && ch <= '9':
			r = (r*10 + int(ch-'0')) % 97
		case ch >= 'A' && ch <= 'Z':
			r = (r*100 + int(ch-'A'+10)) % 97
		}
	}
	return r
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// rules are the per-state checks. States whose algorithm is not public or not settled
// (BG, CY, CZ, ES, IE, LT, LV) are checked for their format only; VIES decides the rest.
var rules = map[string]func(string) bool{
	"AT": func(n string) bool {
		if len(n) != 9 || n[0] != 'U' || !digits(n[1:]) {
			return false
		}
		s := n[1:]
		sum := 0
		for i := 0; i < 7; i++ {
			x := d(s, i)
			if i%2 == 1 {
				x *= 2
				x = x/10 + x%10
			}
			sum += x
		}
		return (10-(sum+4)%10)%10 == d(s, 7)
	},
	"BE": func(n string) bool {
		if len(n) == 9 {
			n = "0" + n
		}
		if !digits(n, 10) || (n[0] != '0' && n[0] != '1') {
			return false
		}
		return 97-atoi(n[:8])%97 == atoi(n[8:])
	},
	"BG": func(n string) bool { return digits(n, 9, 10) },
	"CY": func(n string) bool {
		return len(n) == 9 && digits(n[:8]) && n[8] >= 'A' && n[8] <= 'Z' && !strings.HasPrefix(n, "12")
	},
	"CZ": func(n string) bool { return digits(n, 8, 9, 10) },
	"DE": func(n string) bool { return digits(n, 9) && n[0] != '0' && mod1110(n) },
	"DK": func(n string) bool {
		return digits(n, 8) && n[0] != '0' && weighted(n, 2, 7, 6, 5, 4, 3, 2, 1)%11 == 0
	},
	"EE": func(n string) bool {
		return digits(n, 9) && (10-weighted(n, 3, 7, 1, 3, 7, 1, 3, 7)%10)%10 == d(n, 8)
	},
	"EL": func(n string) bool {
		if len(n) == 8 {
			n = "0" + n
		}
		return digits(n, 9) && weighted(n, 256, 128, 64, 32, 16, 8, 4, 2)%11%10 == d(n, 8)
	},
	"ES": func(n string) bool {
		if len(n) != 9 {
			return false
		}
		alnum := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' }
		return alnum(n[0]) && digits(n[1:8]) && alnum(n[8]) && !(digits(n[:1]) && digits(n[8:]))
	},
	"FI": func(n string) bool {
		if !digits(n, 8) {
			return false
		}
		r := weighted(n, 7, 9, 10, 5, 8, 4, 2) % 11
		if r == 1 {
			return false
		}
		c := 0
		if r != 0 {
			c = 11 - r
		}
		return c == d(n, 7)
	},
	"FR": func(n string) bool {
		if len(n) != 11 || !digits(n[2:]) {
			return false
		}
		key := n[:2]
		if digits(key) {
			return atoi(key) == (12+3*(atoi(n[2:])%97))%97
		}
		// Alphanumeric keys (new-style) have no published numeric check.
		for i := 0; i < 2; i++ {
			c := key[i]
			if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') || c == 'I' || c == 'O' {
				return false
			}
		}
		return true
	},
	"HR": func(n string) bool { return digits(n, 11) && mod1110(n) },
	"HU": func(n string) bool {
		return digits(n, 8) && (10-weighted(n, 9, 7, 3, 1, 9, 7, 3)%10)%10 == d(n, 7)
	},
	"IE": func(n string) bool {
		if len(n) != 8 && len(n) != 9 {
			return false
		}
		letter := func(c byte) bool { return c >= 'A' && c <= 'Z' }
		if digits(n[:7]) && letter(n[7]) {
			return len(n) == 8 || letter(n[8])
		}
		// Old format: digit, letter or + or *, five digits, letter.
		return len(n) == 8 && digits(n[:1]) && (letter(n[1]) || n[1] == '+' || n[1] == '*') && digits(n[2:7]) && letter(n[7])
	},
	"IT": func(n string) bool { return digits(n, 11) && atoi(n[7:10]) >= 1 && luhn(n) },
	"LT": func(n string) bool { return digits(n, 9, 12) },
	"LU": func(n string) bool { return digits(n, 8) && atoi(n[:6])%89 == atoi(n[6:]) },
	"LV": func(n string) bool { return digits(n, 11) },
	"MT": func(n string) bool {
		return digits(n, 8) && n[0] != '0' && (weighted(n, 3, 4, 6, 7, 8, 9)+atoi(n[6:]))%37 == 0
	},
	"NL": func(n string) bool {
		if len(n) != 12 || !digits(n[:9]) || n[9] != 'B' || !digits(n[10:]) {
			return false
		}
		if w := weighted(n, 9, 8, 7, 6, 5, 4, 3, 2) % 11; w != 10 && w == d(n, 8) {
			return true
		}
		// Since 2020 sole proprietors get ids checked by ISO 7064 MOD 97-10 over "NL"+number.
		return mod97("NL"+n) == 1
	},
	"PL": func(n string) bool {
		if !digits(n, 10) {
			return false
		}
		c := weighted(n, 6, 5, 7, 2, 3, 4, 5, 6, 7) % 11
		return c != 10 && c == d(n, 9)
	},
	"PT": func(n string) bool {
		if !digits(n, 9) || n[0] == '0' {
			return false
		}
		c := 11 - weighted(n, 9, 8, 7, 6, 5, 4, 3, 2)%11
		if c >= 10 {
			c = 0
		}
		return c == d(n, 8)
	},
	"RO": func(n string) bool {
		if !digits(n) || len(n) < 2 || len(n) > 10 || n[0] == '0' {
			return false
		}
		p := strings.Repeat("0", 10-len(n)) + n
		c := weighted(p, 7, 5, 3, 2, 1, 7, 5, 3, 2) * 10 % 11 % 10
		return c == d(p, 9)
	},
	"SE": func(n string) bool { return digits(n, 12) && n[10:] == "01" && luhn(n[:10]) },
	"SI": func(n string) bool {
		if !digits(n, 8) || n[0] == '0' {
			return false
		}
		c := 11 - weighted(n, 8, 7, 6, 5, 4, 3, 2)%11
		if c == 11 {
			return false
		}
		if c == 10 {
			c = 0
		}
		return c == d(n, 7)
	},
	"SK": func(n string) bool { return digits(n, 10) && n[0] != '0' && atoi(n)%11 == 0 },
}
