package gdpr

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/csv"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/eusaas/eusaas"
)

// FuzzVerifyToken: download tokens come from URLs; no input may panic, and only a token the
// key signed, unexpired, is accepted.
func FuzzVerifyToken(f *testing.F) {
	pub, key, _ := ed25519.GenerateKey(nil)
	now := time.Unix(1_800_000_000, 0)
	good := signToken(key, tokenPayload{RequestID: "r", TenantID: "t", Expires: now.Unix() + 60})
	f.Add(good)
	f.Add("")
	f.Add(".")
	f.Add("eyJ9.AAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := verifyToken(pub, tok, now)
		if err == nil && (tok != good || p.RequestID != "r") {
			t.Fatalf("accepted a token the key did not sign: %q", tok)
		}
	})
}

// FuzzVerifyArchive: archives come from outside for offline verification; no input may
// panic, and a mutated archive never verifies.
func FuzzVerifyArchive(f *testing.F) {
	pub, key, _ := ed25519.GenerateKey(nil)
	var buf bytes.Buffer
	aw := newArchiveWriter(&buf, Manifest{TenantID: "t", Format: FormatJSON}, key)
	m, _ := aw.create("data/x.json")
	_, _ = m.bw.WriteString(`[{"a":"b"}]`)
	_ = aw.finish(m, "data/x.json", "x", 1)
	_ = aw.close()
	good := buf.Bytes()
	f.Add(good)
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := VerifyArchive(bytes.NewReader(b), int64(len(b)), pub)
		if err != nil {
			return
		}
		// Whatever bytes verified (zip metadata may differ), they must carry the signed
		// manifest and the original member contents.
		if res.Manifest.TenantID != "t" || len(res.Manifest.Files) != 1 {
			t.Fatalf("verified a different manifest: %+v", res.Manifest)
		}
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		for _, zf := range zr.File {
			if zf.Name != "data/x.json" {
				continue
			}
			rc, err := zf.Open()
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || string(body) != `[{"a":"b"}]` {
				t.Fatalf("verified altered content %q (%v)", body, err)
			}
		}
	})
}

// FuzzCSVField: our CSV quoting must read back with encoding/csv to the same values.
func FuzzCSVField(f *testing.F) {
	for _, s := range []string{"", "plain", "a,b", `say "hi"`, "multi\nline", " lead", "\r", "ü,ß"} {
		f.Add(s, "x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if !utf8.ValidString(a) || !utf8.ValidString(b) || strings.ContainsRune(a+b, '\r') {
			return // encoding/csv rewrites \r\n inside quoted fields to \n
		}
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		e := &csvEncoder{w: w}
		if err := e.row(eusaas.DataRow{a, b}); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		rec, err := csv.NewReader(&buf).Read()
		if err != nil {
			t.Fatalf("%q: %v", buf.String(), err)
		}
		if len(rec) != 2 || rec[0] != a || rec[1] != b {
			t.Fatalf("round trip %q %q -> %q", a, b, rec)
		}
	})
}
