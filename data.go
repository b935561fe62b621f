package eusaas

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"
)

// The neutral view of a tenant's stored data. Every module's store that holds tenant data
// presents it as tables of typed rows, so the GDPR module can export and erase it without
// knowing the store or the module, and an export has the same files, columns and values
// whatever adapter holds the data (memory, Postgres, one of yours).

// DataTable describes one table of a tenant's data.
type DataTable struct {
	Name    string
	Columns []string
	// SubjectColumn names the column holding the data subject's id ("" when the table holds
	// no subject-linked rows; such tables are skipped by subject-filtered exports).
	SubjectColumn string
}

// DataRow is one row of a DataTable, values in column order. A value is nil (NULL) or one
// of: string, bool, int64, float64, time.Time (an instant), Date, Decimal, or
// json.RawMessage (a JSON document). Nothing else: renderers may refuse other types.
type DataRow []any

// Date is a calendar day, "YYYY-MM-DD".
type Date string

// DateOf is the UTC calendar day of t.
func DateOf(t time.Time) Date { return Date(t.UTC().Format(time.DateOnly)) }

// Decimal is an exact decimal number in its canonical string form ("12.50"); money and
// quantities travel as Decimal, never as float64.
type Decimal string

// NormalizeDataValue maps a value to the DataRow value set: *T pointers to T (nil to nil),
// int kinds to int64, float32 to float64, times to UTC, a zero time to nil. It returns
// ok=false for a type outside the set.
func NormalizeDataValue(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, true
	case string, bool, int64, float64, Date, Decimal:
		return x, true
	case json.RawMessage:
		if x == nil {
			return nil, true
		}
		return x, true
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case int16:
		return int64(x), true
	case float32:
		return float64(x), true
	case time.Time:
		if x.IsZero() {
			return nil, true
		}
		return x.UTC(), true
	case *time.Time:
		if x == nil {
			return nil, true
		}
		return NormalizeDataValue(*x)
	case *string:
		if x == nil {
			return nil, true
		}
		return *x, true
	}
	return nil, false
}

// DataSource is implemented by a store holding tenant data, so that exports and erasure
// reach it. Table names are unique across the sources of one deployment.
type DataSource interface {
	// DataTables lists the tables the source holds for tenant.
	DataTables(tenant TenantID) []DataTable
	// ScanData streams table's rows for tenant; with subjects, only rows whose
	// SubjectColumn is one of them. fn's error stops the scan and is returned.
	ScanData(ctx context.Context, tenant TenantID, table string, subjects []string, fn func(DataRow) error) error
	// DeleteTenantData deletes every row the source holds for tenant and returns counts per
	// table; idempotent (a second call returns zero counts).
	DeleteTenantData(ctx context.Context, tenant TenantID) (map[string]int, error)
}

// DataSubjects is implemented by a DataSource that can tell whether a data subject has data.
type DataSubjects interface {
	HasDataSubject(ctx context.Context, tenant TenantID, subject string) (bool, error)
}

// Helpers for stores that implement DataSource in process (the per-module memory adapters,
// or yours): they present rows the way the Postgres adapter reads the same columns, so an
// export has the same values in both.

// DataTime is a timestamptz value: UTC, truncated to microseconds as Postgres stores it; the
// zero time is NULL (nil).
func DataTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Truncate(time.Microsecond)
}

// DataNullText is a text column left NULL for an empty value.
func DataNullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// SortDataRows orders rows by the given key columns (string, Date or int64 values), so
// exports are deterministic.
func SortDataRows(rows []DataRow, key ...int) {
	sort.SliceStable(rows, func(i, j int) bool {
		for _, k := range key {
			if c := compareDataValues(rows[i][k], rows[j][k]); c != 0 {
				return c < 0
			}
		}
		return false
	})
}

func compareDataValues(a, b any) int {
	switch x := a.(type) {
	case string:
		y, _ := b.(string)
		return strings.Compare(x, y)
	case Date:
		y, _ := b.(Date)
		return strings.Compare(string(x), string(y))
	case int64:
		y, _ := b.(int64)
		return cmp.Compare(x, y)
	}
	return 0
}

// EmitDataRows streams rows of table t to fn, keeping only rows whose subject column is one
// of subjects when subjects are given (none for a table without a subject column, as the
// Postgres adapter does).
func EmitDataRows(ctx context.Context, t DataTable, rows []DataRow, subjects []string, fn func(DataRow) error) error {
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

// TenantDataTables is a source's table definitions for tenant: every table for every real
// tenant, empty ones included (a provisioned Postgres schema has them all), none for the
// zero tenant.
func TenantDataTables(tenant TenantID, defs []DataTable) []DataTable {
	if tenant.IsZero() {
		return nil
	}
	out := make([]DataTable, len(defs))
	for i, d := range defs {
		out[i] = DataTable{Name: d.Name, Columns: slices.Clone(d.Columns), SubjectColumn: d.SubjectColumn}
	}
	return out
}

// FindDataTable returns the definition of table name among defs.
func FindDataTable(defs []DataTable, name string) (DataTable, bool) {
	i := slices.IndexFunc(defs, func(d DataTable) bool { return d.Name == name })
	if i < 0 {
		return DataTable{}, false
	}
	return defs[i], true
}

// ZeroDataCounts is a count of 0 for every table: the answer of a deletion that found
// nothing (the Postgres adapter counts every table of the schema, empty ones too).
func ZeroDataCounts(defs []DataTable) map[string]int {
	out := make(map[string]int, len(defs))
	for _, d := range defs {
		out[d.Name] = 0
	}
	return out
}
