package eusaas

import (
	"context"
	"encoding/json"
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
