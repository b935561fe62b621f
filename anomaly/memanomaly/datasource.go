package memanomaly

import (
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// Helpers of the store's eusaas.DataSource implementation (data.go). The store presents its
// data as the tables of the Postgres tenant schema (adapters/postgres/migrations/tenant),
// each value of the DataRow type the Postgres adapter maps that column's type to (uuid and
// text: string, bigint and integer: int64, numeric: Decimal, date: Date, timestamptz:
// time.Time, jsonb: json.RawMessage), so an export has the same files, columns and values in
// both modes.

func dataTimePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return eusaas.DataTime(*t)
}

// dataDate is a date value: the UTC calendar day of t.
func dataDate(t time.Time) any { return eusaas.DateOf(t) }

func dataUUIDPtr(id *uuid.UUID) any {
	if id == nil {
		return nil
	}
	return id.String()
}
