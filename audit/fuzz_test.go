package audit_test

import (
	"bytes"
	"testing"

	"github.com/eusaas/eusaas/audit"
)

// Checkpoint files and bodies are outside input: parsing never panics, and what parses
// survives a round trip unchanged.
func FuzzCheckpointJSON(f *testing.F) {
	f.Add([]byte(`{"chain":"0190f1c2-0000-7000-8000-000000000001","size":3,"head_hash":"` +
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" + `","signed_at":"2026-01-02T03:04:05Z","key_id":"ab","signature":"AQI="}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"head_hash":"zz"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var c audit.Checkpoint
		if c.UnmarshalJSON(b) != nil {
			return
		}
		out, err := c.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var back audit.Checkpoint
		if err := back.UnmarshalJSON(out); err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if back.Chain != c.Chain || back.Size != c.Size || back.Head != c.Head || !back.Time.Equal(c.Time) ||
			back.KeyID != c.KeyID || !bytes.Equal(back.Signature, c.Signature) {
			t.Fatalf("round trip changed the checkpoint: %+v != %+v", back, c)
		}
	})
}

// The canonical encoding is injective: two entries that differ in their string fields never
// encode alike, however the bytes are split between fields.
func FuzzEncodingInjective(f *testing.F) {
	f.Add("UPDATE", "invoice", "inv-1", "UPDATE", "invoic", "einv-1")
	f.Add("a", "", "b", "a", "b", "")
	f.Fuzz(func(t *testing.T, a1, r1, i1, a2, r2, i2 string) {
		e1, e2 := fixedEntry(), fixedEntry()
		e1.Action, e1.ResourceType, e1.ResourceID = a1, r1, i1
		e2.Action, e2.ResourceType, e2.ResourceID = a2, r2, i2
		same := a1 == a2 && r1 == r2 && i1 == i2
		if enc := bytes.Equal(audit.AppendEncoding(nil, &e1), audit.AppendEncoding(nil, &e2)); enc != same {
			t.Fatalf("encodings equal=%v for fields equal=%v", enc, same)
		}
	})
}
