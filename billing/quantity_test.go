package billing_test

import (
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
)

func TestParseQuantity(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0", "0"}, {"1", "1"}, {"12.5", "12.5"}, {"1.50000", "1.5"}, {"15e-1", "1.5"}, {"1E3", "1000"},
		{"1e+2", "100"}, {"0.123456789012345678", "0.123456789012345678"}, {"999999999999999.999", "999999999999999.999"},
		{"0.000", "0"}, {"100e-20", "0.000000000000000001"},
	} {
		got, err := billing.ParseQuantity(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got.String(), tc.in)
	}
	for _, in := range []string{
		"", "-1", "-0", "+1", "abc", "NaN", "Inf", "Infinity", "0x10", "01", "1.", ".5", "1e", "1e1000", "1e-1000",
		"1,5", " 1", "1 ", "1_000", "1e15", "1000000000000000", "0.0000000000000000001", strings.Repeat("1", 65), "1.5.5", "١",
	} {
		_, err := billing.ParseQuantity(in)
		require.Error(t, err, "%q", in)
		require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err), in)
	}
}

// FuzzParseQuantity checks that an accepted quantity is exactly the rational number its text
// denotes (compared with math/big, never floats), non-negative, below 10^15, with at most 18
// fractional digits; and that the parser never panics.
func FuzzParseQuantity(f *testing.F) {
	for _, s := range []string{"0", "1.5", "12e-3", "1E+2", "-1", "0.1000000000000000055511151231257827", "abc", "1e999", "00", "9.99e14"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := billing.ParseQuantity(s)
		if err != nil {
			return
		}
		want, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("accepted %q which big.Rat rejects", s)
		}
		got, ok := new(big.Rat).SetString(d.String())
		if !ok || got.Cmp(want) != 0 {
			t.Fatalf("%q parsed as %s", s, d.String())
		}
		if d.IsNegative() || d.GreaterThanOrEqual(billing.MustQuantity("999999999999999.999999999999999999").Add(billing.MustQuantity("0.000000000000000001"))) {
			t.Fatalf("%q out of range: %s", s, d)
		}
		if -d.Exponent() > 18 {
			t.Fatalf("%q has scale %d", s, -d.Exponent())
		}
	})
}
