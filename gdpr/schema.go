package gdpr

import (
	"encoding/json"
	"math"
	"time"

	"github.com/eusaas/eusaas"
)

// SchemaName is the archive member describing every other file (JSON Schema 2020-12).
const SchemaName = "schema.json"

// schemaDialect is the JSON Schema version of schema.json.
const schemaDialect = "https://json-schema.org/draft/2020-12/schema"

// Value kinds seen in a column (a bit set).
const (
	kindNull uint16 = 1 << iota
	kindString
	kindBool
	kindInt
	kindNumber
	kindNonFinite
	kindTime
	kindDate
	kindDecimal
	kindJSON
)

// tableSchema collects, while a table is written, the kinds of value each column held.
// schema.json describes the values the export carries: the adapters' tables declare
// column names, not types, so a column's type is what its values were, and a column that
// held only NULLs (or a table without rows) is described as null (or unconstrained).
type tableSchema struct {
	file, table string
	cols        []string
	kinds       []uint16
	fixed       map[string]any // a file of its own shape (the audit files)
}

func (ts *tableSchema) observe(row eusaas.DataRow) {
	for i, v := range row {
		if i >= len(ts.kinds) {
			return
		}
		var k uint16
		switch x := v.(type) {
		case nil:
			k = kindNull
		case string:
			k = kindString
		case bool:
			k = kindBool
		case int64:
			k = kindInt
		case float64:
			k = kindNumber
			if math.IsNaN(x) || math.IsInf(x, 0) {
				k = kindNonFinite
			}
		case time.Time:
			k = kindTime
		case eusaas.Date:
			k = kindDate
		case eusaas.Decimal:
			k = kindDecimal
		case json.RawMessage:
			k = kindJSON
			if x == nil {
				k = kindNull
			}
		}
		ts.kinds[i] |= k
	}
}

// decimalPattern matches eusaas.Decimal's text: an exact decimal (Postgres numeric may
// also hold NaN and infinities).
const decimalPattern = `^(-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|NaN|-?Infinity)$`

// columnSchema is the JSON Schema of a column's values in the JSON rendering (CSV and XML
// carry the same values as text, see archive.go).
func columnSchema(k uint16) map[string]any {
	var alts []map[string]any
	add := func(bit uint16, s map[string]any) {
		if k&bit != 0 {
			alts = append(alts, s)
		}
	}
	add(kindString, map[string]any{"type": "string"})
	add(kindBool, map[string]any{"type": "boolean"})
	add(kindInt, map[string]any{"type": "integer"})
	add(kindNumber, map[string]any{"type": "number"})
	add(kindNonFinite, map[string]any{"enum": []string{"NaN", "Infinity", "-Infinity"}, "description": "a non-finite float"})
	add(kindTime, map[string]any{"type": "string", "format": "date-time", "description": "an instant, RFC 3339 in UTC"})
	add(kindDate, map[string]any{"type": "string", "format": "date"})
	add(kindDecimal, map[string]any{"type": "string", "pattern": decimalPattern, "description": "an exact decimal number (money, quantities)"})
	add(kindJSON, map[string]any{"description": "a JSON document"})
	null := k&kindNull != 0
	if null && len(alts) == 1 && k&kindJSON != 0 {
		return alts[0] // a JSON document may be null itself
	}
	switch {
	case len(alts) == 0 && null:
		return map[string]any{"type": "null"}
	case len(alts) == 0:
		return map[string]any{} // a table without rows: nothing is known
	case len(alts) == 1 && !null:
		return alts[0]
	case len(alts) == 1:
		if t, ok := alts[0]["type"].(string); ok {
			alts[0]["type"] = []string{t, "null"}
			return alts[0]
		}
	}
	if null {
		alts = append(alts, map[string]any{"type": "null"})
	}
	return map[string]any{"anyOf": alts}
}

// fileSchema is the JSON Schema of one data file, for the JSON rendering: an array of
// objects with every column present.
func (ts *tableSchema) fileSchema(f Format) map[string]any {
	if ts.fixed != nil {
		return ts.fixed
	}
	props := make(map[string]any, len(ts.cols))
	for i, c := range ts.cols {
		props[c] = columnSchema(ts.kinds[i])
	}
	s := map[string]any{
		"title":       "table " + ts.table,
		"type":        "array",
		"x-columns":   ts.cols,
		"items":       map[string]any{"type": "object", "properties": props, "required": ts.cols, "additionalProperties": false},
		"description": "The rows of table " + ts.table + ".",
	}
	switch f {
	case FormatCSV:
		s["description"] = "The rows of table " + ts.table + ", for CSV: a header row with x-columns, then one record per row " +
			"with each value's text form (strings as is, numbers and booleans as in JSON, the strings of date-time, date, " +
			"decimal and JSON documents); NULL is an empty field. The schema gives each value's type as the JSON rendering has it."
	case FormatXML:
		s["description"] = "The rows of table " + ts.table + ", for XML: <table name><row><column name>text</column>...</row></table> " +
			"with each value's text form as in CSV; NULL is <column name=\"..\" null=\"true\"/>. The schema gives each value's type " +
			"as the JSON rendering has it."
	}
	return s
}

// schemaDocument is schema.json: one $defs entry per archive file, keyed by its name.
func (a *archiveWriter) schemaDocument() map[string]any {
	defs := make(map[string]any, len(a.schemas))
	for _, ts := range a.schemas {
		defs[ts.file] = ts.fileSchema(a.manifest.Format)
	}
	return map[string]any{
		"$schema": schemaDialect,
		"$id":     "urn:eusaas:gdpr-export:" + a.manifest.RequestID + ":schema",
		"title":   "GDPR export of tenant " + a.manifest.TenantID,
		"description": "Each entry of $defs describes the archive file of the same name (validate a file against " +
			"{\"$ref\": \"#/$defs/<name>\"} with the name's slashes escaped as JSON Pointer has them: data~1users.json). " +
			"Column types are those of the values this export holds.",
		"$defs": defs,
	}
}

// auditSchemas describe the audit files, whose shape is the audit API's.
var (
	auditEntriesSchema = map[string]any{
		"title": "audit entries", "type": "array", "items": map[string]any{"type": "object"},
		"description": "The tenant's audit entries, oldest first, as GET /api/v1/tenants/{id}/audit-logs shows them.",
	}
	auditCheckpointSchema = map[string]any{
		"title": "audit checkpoint", "type": []string{"object", "null"},
		"description": "The latest signed checkpoint of the tenant's audit chain (null when none yet).",
	}
)
