package httpapi

import (
	"strconv"
	"testing"
)

func FuzzTenancyIfMatch(f *testing.F) {
	for _, s := range []string{"", "*", `"1"`, `"42"`, `W/"3"`, `"0"`, `"-1"`, `"1", "2"`, `"`, `""`, "garbage", ` "7" `} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		v := tenancyIfMatch(h)
		switch {
		case v == 0 || v == -1:
		case v > 0:
			// A version is only ever read from exactly its own strong tag.
			if got := tenancyIfMatch(`"` + strconv.FormatInt(v, 10) + `"`); got != v {
				t.Fatalf("%q -> %d, but its tag reads %d", h, v, got)
			}
		default:
			t.Fatalf("%q -> %d", h, v)
		}
	})
}

func TestTenancyIfMatch(t *testing.T) {
	for h, want := range map[string]int64{"": 0, "*": 0, `"3"`: 3, ` "3" `: 3, `W/"3"`: -1, `"a"`: -1, `"0"`: -1, `"1", "2"`: -1, `"`: -1} {
		if got := tenancyIfMatch(h); got != want {
			t.Errorf("%q: got %d, want %d", h, got, want)
		}
	}
}
