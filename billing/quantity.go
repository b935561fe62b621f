package billing

import (
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
)

// Bounds on quantities: big enough for any real measurement, small enough that exact
// arithmetic on them stays cheap and fits NUMERIC columns.
var maxQuantity = decimal.New(1, 15) // 10^15 units in one event

const (
	maxQuantityScale = 18 // digits after the decimal point
	maxQuantityText  = 64 // bytes of input text
)

// ErrInvalidQuantity is returned by ParseQuantity.
var ErrInvalidQuantity = eusaas.Sentinel(eusaas.InvalidArgument, "invalid_quantity", "quantity must be a non-negative decimal number")

// ParseQuantity parses a quantity exactly from its text: a JSON number token or the content
// of a JSON string, in the JSON number grammar (optional fraction and exponent), without
// ever passing through a binary float. It rejects negatives, NaN/Inf, hex, signs other than
// a leading minus (which is then rejected), leading zeros, more than 18 fractional digits and
// values of 10^15 or more.
func ParseQuantity(s string) (decimal.Decimal, error) {
	if len(s) == 0 || len(s) > maxQuantityText {
		return decimal.Zero, ErrInvalidQuantity.With("quantity must be a decimal number of at most 64 characters")
	}
	i := 0
	if s[0] == '-' {
		return decimal.Zero, ErrInvalidQuantity.With("quantity must not be negative")
	}
	// integer part: 0 | [1-9][0-9]*
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == start || (s[start] == '0' && i-start > 1) {
		return decimal.Zero, ErrInvalidQuantity
	}
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == fs {
			return decimal.Zero, ErrInvalidQuantity
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		es := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == es || i-es > 3 {
			return decimal.Zero, ErrInvalidQuantity.With("quantity exponent out of range")
		}
	}
	if i != len(s) {
		return decimal.Zero, ErrInvalidQuantity
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero, ErrInvalidQuantity
	}
	// Normalise away trailing zeros so the scale check looks at significant digits only
	// ("1.50000" and "15e-1" are the same quantity).
	d = trimZeros(d)
	if d.GreaterThanOrEqual(maxQuantity) {
		return decimal.Zero, ErrInvalidQuantity.With("quantity must be less than 10^15")
	}
	if -d.Exponent() > maxQuantityScale {
		return decimal.Zero, ErrInvalidQuantity.With("quantity has more than 18 fractional digits")
	}
	return d, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// trimZeros returns d with the smallest exponent-free representation (no trailing zeros in
// the coefficient), keeping the value.
func trimZeros(d decimal.Decimal) decimal.Decimal {
	if d.IsZero() {
		return decimal.Zero
	}
	r, err := decimal.NewFromString(d.String())
	if err != nil {
		return d
	}
	return r
}

// MustQuantity parses s with ParseQuantity and panics on error; for constants and tests.
func MustQuantity(s string) decimal.Decimal {
	d, err := ParseQuantity(s)
	if err != nil {
		panic(err)
	}
	return d
}
