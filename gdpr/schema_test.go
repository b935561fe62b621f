package gdpr_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

// TestExportSchemaValidatesFiles: a JSON export with a value of every kind carries a
// schema.json (JSON Schema 2020-12) listed in the signed manifest, and every data file
// validates against its $defs entry; the column types are the ones the values had.
func TestExportSchemaValidatesFiles(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.tables.Define(gdpr.Table{Name: "typed", Columns: []string{"s", "b", "i", "f", "ts", "d", "dec", "doc", "mixed", "never"}})
	for i, row := range []map[string]any{
		{"s": "x", "b": true, "i": int64(-3), "f": 1.25, "ts": time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), "d": eusaas.Date("2026-01-02"),
			"dec": eusaas.Decimal("12.50"), "doc": json.RawMessage(`{"k": [1, "two"]}`), "mixed": "text"},
		{"s": nil, "b": false, "i": int64(7), "f": 2.0, "doc": json.RawMessage(`[]`), "mixed": int64(1)},
	} {
		require.NoError(t, e.tables.Insert(e.tenant, "typed", row), "row %d", i)
	}
	r, err := e.svc.RequestExport(ctx, e.tenant, gdpr.ExportRequest{Format: gdpr.FormatJSON, IncludeAuditLogs: true})
	require.NoError(t, err)
	e.runner.WorkAvailable(ctx)
	r, err = e.svc.Request(ctx, e.tenant, gdpr.KindExport, r.ID)
	require.NoError(t, err)
	require.Equal(t, gdpr.StatusCompleted, r.Status, r.ErrorMessage)
	archive := e.download(t, r)
	res, err := gdpr.VerifyArchive(bytes.NewReader(archive), int64(len(archive)), e.svc.PublicKey())
	require.NoError(t, err)
	require.Equal(t, gdpr.SchemaName, res.Manifest.Schema)

	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	require.NoError(t, err)
	files := map[string][]byte{}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		require.NoError(t, err)
		files[zf.Name], err = io.ReadAll(rc)
		require.NoError(t, err)
		rc.Close()
	}
	var schema map[string]any
	require.NoError(t, json.Unmarshal(files[gdpr.SchemaName], &schema))
	require.Equal(t, "https://json-schema.org/draft/2020-12/schema", schema["$schema"])
	defs := schema["$defs"].(map[string]any)
	var described []string
	for _, mf := range res.Manifest.Files {
		if mf.Name == gdpr.SchemaName {
			continue
		}
		described = append(described, mf.Name)
		def, ok := defs[mf.Name]
		require.True(t, ok, "%s has no schema", mf.Name)
		var doc any
		require.NoError(t, json.Unmarshal(files[mf.Name], &doc), mf.Name)
		if err := validate(def, doc, mf.Name); err != nil {
			t.Errorf("%s does not validate against its schema: %v", mf.Name, err)
		}
	}
	require.Len(t, defs, len(described), "one schema per file, no more")

	cols := defs["data/typed.json"].(map[string]any)["items"].(map[string]any)["properties"].(map[string]any)
	typ := func(c string) any { return cols[c].(map[string]any)["type"] }
	require.Equal(t, []any{"string", "null"}, typ("s"))
	require.Equal(t, "boolean", typ("b"))
	require.Equal(t, "integer", typ("i"))
	require.Equal(t, "number", typ("f"))
	require.Equal(t, "date-time", cols["ts"].(map[string]any)["format"])
	require.Equal(t, "date", cols["d"].(map[string]any)["format"])
	require.Contains(t, cols["dec"].(map[string]any), "pattern")
	require.Len(t, cols["mixed"].(map[string]any)["anyOf"], 2)
	require.Equal(t, "null", typ("never"))

	// A wrong value is caught: the validator is not a rubber stamp.
	var rows []any
	require.NoError(t, json.Unmarshal(files["data/typed.json"], &rows))
	rows[0].(map[string]any)["i"] = "7"
	require.Error(t, validate(defs["data/typed.json"], rows, "tampered"))
	rows[0].(map[string]any)["i"] = float64(7)
	rows[0].(map[string]any)["dec"] = "twelve"
	require.Error(t, validate(defs["data/typed.json"], rows, "tampered"))
}

// validate checks v against the subset of JSON Schema 2020-12 that schema.json uses: type,
// enum, anyOf, format date-time and date, pattern, properties, required,
// additionalProperties false and items.
func validate(schema, v any, at string) error {
	s, ok := schema.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: schema is not an object", at)
	}
	if t, ok := s["type"]; ok {
		var types []string
		switch x := t.(type) {
		case string:
			types = []string{x}
		case []any:
			for _, e := range x {
				types = append(types, e.(string))
			}
		}
		if !slices.ContainsFunc(types, func(ty string) bool { return jsonType(v, ty) }) {
			return fmt.Errorf("%s: %v is not of type %v", at, v, types)
		}
	}
	if en, ok := s["enum"].([]any); ok && !slices.Contains(en, v) {
		return fmt.Errorf("%s: %v not in %v", at, v, en)
	}
	if alts, ok := s["anyOf"].([]any); ok {
		var errs []string
		for _, a := range alts {
			err := validate(a, v, at)
			if err == nil {
				errs = nil
				break
			}
			errs = append(errs, err.Error())
		}
		if errs != nil {
			return fmt.Errorf("%s: no alternative matches: %s", at, strings.Join(errs, "; "))
		}
	}
	if str, ok := v.(string); ok {
		switch s["format"] {
		case "date-time":
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				return fmt.Errorf("%s: %q is no date-time", at, str)
			}
		case "date":
			if _, err := time.Parse(time.DateOnly, str); err != nil {
				return fmt.Errorf("%s: %q is no date", at, str)
			}
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			return fmt.Errorf("%s: %q does not match %s", at, str, p)
		}
	}
	if obj, ok := v.(map[string]any); ok {
		props, _ := s["properties"].(map[string]any)
		for _, r := range asSlice(s["required"]) {
			if _, ok := obj[r.(string)]; !ok {
				return fmt.Errorf("%s: %s missing", at, r)
			}
		}
		for k, x := range obj {
			ps, ok := props[k]
			if !ok {
				if s["additionalProperties"] == false {
					return fmt.Errorf("%s: unexpected %s", at, k)
				}
				continue
			}
			if err := validate(ps, x, at+"."+k); err != nil {
				return err
			}
		}
	}
	if arr, ok := v.([]any); ok && s["items"] != nil {
		for i, x := range arr {
			if err := validate(s["items"], x, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func jsonType(v any, t string) bool {
	switch t {
	case "null":
		return v == nil
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	}
	return false
}
