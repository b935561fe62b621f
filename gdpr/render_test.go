package gdpr

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/eusaas/eusaas"
)

// renderCase is one value of the eusaas.DataRow set with its JSON and text renderings.
type renderCase struct {
	name       string
	v          any
	json, text string
}

var renderCases = []renderCase{
	{"null", nil, `null`, ``},
	{"string", `a "quoted" <b> ü`, `"a \"quoted\" <b> ü"`, `a "quoted" <b> ü`},
	{"empty string", "", `""`, ``},
	{"true", true, `true`, `true`},
	{"false", false, `false`, `false`},
	{"int64", int64(-9007199254740993), `-9007199254740993`, `-9007199254740993`},
	{"float", 4.25, `4.25`, `4.25`},
	{"float integral", 2.0, `2`, `2`},
	{"float tiny", 1.5e-7, `1.5e-7`, `1.5e-7`},
	{"float huge", 1e21, `1e+21`, `1e+21`},
	{"NaN", math.NaN(), `"NaN"`, `NaN`},
	{"+Inf", math.Inf(1), `"Infinity"`, `Infinity`},
	{"-Inf", math.Inf(-1), `"-Infinity"`, `-Infinity`},
	{"time UTC", time.Date(2026, 10, 5, 9, 30, 15, 123456000, time.UTC), `"2026-10-05T09:30:15.123456Z"`, `2026-10-05T09:30:15.123456Z`},
	{"time zone to UTC", time.Date(2026, 10, 5, 11, 30, 15, 0, time.FixedZone("CEST", 7200)), `"2026-10-05T09:30:15Z"`, `2026-10-05T09:30:15Z`},
	{"date", eusaas.Date("2026-10-04"), `"2026-10-04"`, `2026-10-04`},
	{"decimal", eusaas.Decimal("12.50"), `"12.50"`, `12.50`},
	{"json object canonical", json.RawMessage(`{"user": "u<1>", "region": "eu", "n": 1.50}`), `{"n":1.50,"region":"eu","user":"u<1>"}`, `{"n":1.50,"region":"eu","user":"u<1>"}`},
	{"json array", json.RawMessage(`[ {"up_to": null, "unit_price": "0.02"} ]`), `[{"unit_price":"0.02","up_to":null}]`, `[{"unit_price":"0.02","up_to":null}]`},
	{"json nil", json.RawMessage(nil), `null`, ``},
}

func TestRenderJSONValues(t *testing.T) {
	for _, c := range renderCases {
		got, err := appendJSONValue(nil, c.v)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if string(got) != c.json {
			t.Errorf("%s: JSON %s, want %s", c.name, got, c.json)
		}
		if !json.Valid(got) {
			t.Errorf("%s: %s is not valid JSON", c.name, got)
		}
	}
}

// TestRenderFormatsAgree: one row of every value through the three encoders; JSON reads
// back with typed values, CSV and XML with the same text, and NULL as their convention
// (CSV empty field, XML null="true").
func TestRenderFormatsAgree(t *testing.T) {
	cols := make([]string, len(renderCases))
	row := make(eusaas.DataRow, len(renderCases))
	for i, c := range renderCases {
		cols[i], row[i] = c.name, c.v
	}
	encode := func(f Format) []byte {
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		e := newEncoder(f, w, "t")
		if err := e.begin(cols); err != nil {
			t.Fatal(err)
		}
		if err := e.row(row); err != nil {
			t.Fatal(err)
		}
		if err := e.end(); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		return buf.Bytes()
	}

	var objs []map[string]json.RawMessage
	if err := json.Unmarshal(encode(FormatJSON), &objs); err != nil || len(objs) != 1 {
		t.Fatalf("JSON: %v (%d rows)", err, len(objs))
	}
	for _, c := range renderCases {
		if got := string(objs[0][c.name]); got != c.json {
			t.Errorf("JSON %s = %s, want %s", c.name, got, c.json)
		}
	}

	recs, err := csv.NewReader(bytes.NewReader(encode(FormatCSV))).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("CSV: %v (%d records)", err, len(recs))
	}
	for i, c := range renderCases {
		if recs[0][i] != c.name || recs[1][i] != c.text {
			t.Errorf("CSV %s = %q, want %q", recs[0][i], recs[1][i], c.text)
		}
	}

	var doc struct {
		Rows []struct {
			Columns []struct {
				Name  string `xml:"name,attr"`
				Null  bool   `xml:"null,attr"`
				Value string `xml:",chardata"`
			} `xml:"column"`
		} `xml:"row"`
	}
	if err := xml.Unmarshal(encode(FormatXML), &doc); err != nil || len(doc.Rows) != 1 {
		t.Fatalf("XML: %v", err)
	}
	for i, c := range renderCases {
		col := doc.Rows[0].Columns[i]
		null := c.v == nil || (c.name == "json nil")
		if col.Name != c.name || col.Null != null || col.Value != c.text {
			t.Errorf("XML %s = %+v, want null=%v %q", c.name, col, null, c.text)
		}
	}
}

// TestRenderRefusesOtherTypes: a value outside the DataRow set fails the export instead of
// being rendered by guesswork.
func TestRenderRefusesOtherTypes(t *testing.T) {
	for _, v := range []any{int(1), []byte("x"), struct{}{}, map[string]any{}} {
		for _, f := range []Format{FormatJSON, FormatCSV, FormatXML} {
			var buf bytes.Buffer
			e := newEncoder(f, bufio.NewWriter(&buf), "t")
			if err := e.begin([]string{"c"}); err != nil {
				t.Fatal(err)
			}
			err := e.row(eusaas.DataRow{v})
			if err == nil || !strings.Contains(err.Error(), "DataRow value set") {
				t.Errorf("%s %T: %v, want refusal", f, v, err)
			}
		}
	}
	if _, err := appendJSONValue(nil, json.RawMessage(`{bad`)); err == nil {
		t.Error("invalid JSON document rendered")
	}
}
