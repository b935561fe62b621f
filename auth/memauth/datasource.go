package memauth

import (
	"context"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/eusaas/eusaas"
)

// Helpers of the stores' eusaas.DataSource implementations (data.go). The stores present
// their data as the tables of the Postgres tenant schema (adapters/postgres/migrations/tenant),
// each value of the DataRow type the Postgres adapter maps that column's type to (uuid and
// text: string, bigint and integer: int64, numeric: Decimal, date: Date, timestamptz:
// time.Time, jsonb: json.RawMessage), so an export has the same files, columns and values in
// both modes.

// dataTime is a timestamptz value: UTC, truncated to microseconds as Postgres stores it;
// the zero time is NULL.
func dataTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Truncate(time.Microsecond)
}

// dataNullText is a text column the Postgres adapters leave NULL for an empty value.
func dataNullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// dataCompare orders two values of the same key column (strings, dates, int64).
func dataCompare(a, b any) int {
	switch x := a.(type) {
	case string:
		y, _ := b.(string)
		return strings.Compare(x, y)
	case eusaas.Date:
		y, _ := b.(eusaas.Date)
		return strings.Compare(string(x), string(y))
	case int64:
		y, _ := b.(int64)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
	}
	return 0
}

// dataSortRows orders rows by the given key columns, so exports are deterministic.
func dataSortRows(rows []eusaas.DataRow, key ...int) {
	sort.SliceStable(rows, func(i, j int) bool {
		for _, k := range key {
			if c := dataCompare(rows[i][k], rows[j][k]); c != 0 {
				return c < 0
			}
		}
		return false
	})
}

// dataEmit streams rows of table t to fn, keeping only rows whose subject column is one of
// subjects when subjects are given (none for a table without subject column, as in the
// Postgres adapter).
func dataEmit(ctx context.Context, t eusaas.DataTable, rows []eusaas.DataRow, subjects []string, fn func(eusaas.DataRow) error) error {
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
		if col >= 0 {
			if s, ok := r[col].(string); !ok || !slices.Contains(subjects, s) {
				continue
			}
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// dataTables returns the definitions of a source's tables: every table for every real
// tenant, empty ones included, as a provisioned tenant schema has them all in Postgres.
func dataTables(tenant eusaas.TenantID, defs []eusaas.DataTable) []eusaas.DataTable {
	if tenant.IsZero() {
		return nil
	}
	out := make([]eusaas.DataTable, len(defs))
	for i, d := range defs {
		out[i] = eusaas.DataTable{Name: d.Name, Columns: slices.Clone(d.Columns), SubjectColumn: d.SubjectColumn}
	}
	return out
}

// dataFind returns the definition of table name among defs.
func dataFind(defs []eusaas.DataTable, name string) (eusaas.DataTable, bool) {
	for _, d := range defs {
		if d.Name == name {
			return d, true
		}
	}
	return eusaas.DataTable{}, false
}

// dataZeroCounts returns a count of 0 for every table, the answer of a deletion that found
// nothing (the Postgres adapter counts every table of the schema, empty ones too).
func dataZeroCounts(defs []eusaas.DataTable) map[string]int {
	out := make(map[string]int, len(defs))
	for _, d := range defs {
		out[d.Name] = 0
	}
	return out
}
