package memory

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

// Helpers shared by the memory stores' GDPRSource implementations (auth_gdpr.go,
// billing_gdpr.go, anomaly_gdpr.go). The stores present their data as the tables of the
// Postgres tenant schema (adapters/postgres/migrations/tenant), with every value rendered as
// the Postgres adapter's generic `column::text` scan renders it (session time zone UTC), so
// an export has the same files, columns and value formats in both modes.

// memgdprRow is one rendered row: text values in column order, nil for NULL.
type memgdprRow = [][]byte

func memgdprText(s string) []byte { return []byte(s) }

// memgdprNullText renders "" as NULL (columns the Postgres adapters write with NULLIF or
// leave NULL for an empty value).
func memgdprNullText(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

func memgdprUUID(id uuid.UUID) []byte { return []byte(id.String()) }

func memgdprUUIDPtr(id *uuid.UUID) []byte {
	if id == nil {
		return nil
	}
	return memgdprUUID(*id)
}

// memgdprTime renders a timestamptz as Postgres does in a UTC session
// ("2026-11-26 23:08:57.378339+00"): microsecond precision (pgx truncates), trailing zeros
// of the fraction dropped. The zero time is NULL.
func memgdprTime(t time.Time) []byte {
	if t.IsZero() {
		return nil
	}
	return []byte(t.UTC().Truncate(time.Microsecond).Format("2006-01-02 15:04:05.999999-07"))
}

func memgdprTimePtr(t *time.Time) []byte {
	if t == nil {
		return nil
	}
	return memgdprTime(*t)
}

// memgdprDate renders a date column (the UTC calendar day of t).
func memgdprDate(t time.Time) []byte { return []byte(t.UTC().Format(time.DateOnly)) }

func memgdprDatePtr(t *time.Time) []byte {
	if t == nil {
		return nil
	}
	return memgdprDate(*t)
}

// memgdprBool renders boolean::text ("true"/"false").
func memgdprBool(b bool) []byte { return []byte(strconv.FormatBool(b)) }

// memgdprFloat renders double precision::text: the shortest exact representation, in
// exponent notation below 1e-4 and from 1e15 on, as Postgres 12+ prints it.
func memgdprFloat(f float64) []byte {
	switch {
	case math.IsNaN(f):
		return []byte("NaN")
	case math.IsInf(f, 1):
		return []byte("Infinity")
	case math.IsInf(f, -1):
		return []byte("-Infinity")
	}
	if a := math.Abs(f); a == 0 || (a >= 1e-4 && a < 1e15) {
		return []byte(strconv.FormatFloat(f, 'f', -1, 64))
	}
	return []byte(strconv.FormatFloat(f, 'e', -1, 64))
}

// memgdprJSONB renders v (marshalled with encoding/json, as the Postgres adapters do before
// the ::jsonb cast) the way Postgres prints a jsonb value: object keys ordered by length,
// then bytewise; ", " and ": " separators.
func memgdprJSONB(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = memgdprWriteJSONB(&b, tree)
	return b.Bytes(), err
}

func memgdprWriteJSONB(b *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if len(keys[i]) != len(keys[j]) {
				return len(keys[i]) < len(keys[j])
			}
			return keys[i] < keys[j]
		})
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := memgdprWriteJSONB(b, k); err != nil {
				return err
			}
			b.WriteString(": ")
			if err := memgdprWriteJSONB(b, x[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := memgdprWriteJSONB(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	default:
		enc := json.NewEncoder(b)
		enc.SetEscapeHTML(false) // Postgres escapes only quotes, backslashes and controls
		if err := enc.Encode(x); err != nil {
			return err
		}
		b.Truncate(b.Len() - 1) // Encode's newline
	}
	return nil
}

// memgdprSortRows orders rows by the given key columns, so exports are deterministic.
func memgdprSortRows(rows []memgdprRow, key ...int) {
	sort.SliceStable(rows, func(i, j int) bool {
		for _, k := range key {
			if c := bytes.Compare(rows[i][k], rows[j][k]); c != 0 {
				return c < 0
			}
		}
		return false
	})
}

// memgdprEmit streams rendered rows of table t to fn, keeping only rows whose subject column
// is one of subjects when subjects are given (none for a table without subject column, as in
// the Postgres adapter).
func memgdprEmit(ctx context.Context, t gdpr.Table, rows []memgdprRow, subjects []string, fn func([][]byte) error) error {
	col := -1
	if len(subjects) > 0 {
		if col = slices.Index(t.Columns, t.SubjectColumn); col < 0 {
			return nil
		}
	}
	for _, r := range rows {
		if err := ctx.Err(); err != nil {
			return err
		}
		if col >= 0 && (r[col] == nil || !slices.Contains(subjects, string(r[col]))) {
			continue
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// memgdprTables returns the definitions of a source's tables: every table for every real
// tenant, empty ones included, as a provisioned tenant schema has them all in Postgres.
func memgdprTables(tenant eusaas.TenantID, defs []gdpr.Table) []gdpr.Table {
	if tenant.IsZero() {
		return nil
	}
	out := make([]gdpr.Table, len(defs))
	for i, d := range defs {
		out[i] = gdpr.Table{Name: d.Name, Columns: slices.Clone(d.Columns), SubjectColumn: d.SubjectColumn}
	}
	return out
}

// memgdprFind returns the definition of table name among defs.
func memgdprFind(defs []gdpr.Table, name string) (gdpr.Table, bool) {
	for _, d := range defs {
		if d.Name == name {
			return d, true
		}
	}
	return gdpr.Table{}, false
}

// memgdprZeroCounts returns a count of 0 for every table, the answer of a DeleteTenant that
// found nothing (the Postgres adapter counts every table of the schema, empty ones too).
func memgdprZeroCounts(defs []gdpr.Table) map[string]int {
	out := make(map[string]int, len(defs))
	for _, d := range defs {
		out[d.Name] = 0
	}
	return out
}
