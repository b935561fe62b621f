package auth_test

import (
	"context"
	"regexp"
	"strconv"
	"testing"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

// FuzzAuthenticate: no input makes token verification panic or accept a forgery; only the
// seeded genuine token may verify.
func FuzzAuthenticate(f *testing.F) {
	e := newEnv(f)
	e.user(f, "ada@example.com", auth.RoleMember)
	good := e.login(f, "ada@example.com").AccessToken
	f.Add(good)
	f.Add("")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, tok string) {
		_, err := e.svc.Authenticate(context.Background(), tok)
		if err == nil && tok != good && tok != "Bearer "+good {
			t.Fatalf("accepted a token that was never issued: %q", tok)
		}
		if err != nil && eusaas.KindOf(err) != eusaas.Unauthenticated {
			t.Fatalf("unexpected kind %v: %v", eusaas.KindOf(err), err)
		}
	})
}

// FuzzRefresh: arbitrary refresh tokens are rejected cleanly (never a panic, never another
// error kind); mutations of the genuine one never refresh.
func FuzzRefresh(f *testing.F) {
	e := newEnv(f)
	e.user(f, "ada@example.com", auth.RoleMember)
	good := e.login(f, "ada@example.com").RefreshToken
	f.Add(good[:len(good)-1] + "A")
	f.Add("")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, tok string) {
		if tok == good {
			return
		}
		_, err := e.svc.Refresh(context.Background(), tok)
		if err == nil {
			t.Fatalf("refreshed with a token that was never issued: %q", tok)
		}
		if eusaas.KindOf(err) != eusaas.Unauthenticated {
			t.Fatalf("unexpected kind %v: %v", eusaas.KindOf(err), err)
		}
	})
}

// FuzzVerifyPHC: stored-hash parsing never panics on corrupt input.
func FuzzVerifyPHC(f *testing.F) {
	h, err := auth.NewHasher(auth.OWASPParams, auth.HasherOptions{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA")
	f.Add("$argon2id$v=19$m=0,t=0,p=0$$")
	f.Add("$argon2id$v=19$m=99999999999,t=2,p=1$c2FsdA$aGFzaA")
	f.Fuzz(func(t *testing.T, phc string) {
		// Keep fuzzed parameter sets cheap; the parser's own caps (1 GiB, t=16) are far above.
		for _, m := range phcCost.FindAllStringSubmatch(phc, -1) {
			if n, err := strconv.Atoi(m[2]); err != nil || (m[1] == "m" && n > 65536) || (m[1] == "t" && n > 4) {
				return
			}
		}
		ok, _, err := h.Verify(context.Background(), phc, "Correct-Horse-9")
		if ok && err != nil {
			t.Fatal("ok with an error")
		}
	})
}

var phcCost = regexp.MustCompile(`([mt])=(\d+)`)
