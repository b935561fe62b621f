package memgdpr_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/gdpr/memgdpr"
)

// rawSource is an eusaas.DataSource handing its rows as they are, so the aggregator's
// normalisation and projection can be seen.
type rawSource struct {
	table eusaas.DataTable
	rows  []eusaas.DataRow
}

func (s rawSource) DataTables(eusaas.TenantID) []eusaas.DataTable { return []eusaas.DataTable{s.table} }

func (s rawSource) ScanData(ctx context.Context, _ eusaas.TenantID, table string, _ []string, fn func(eusaas.DataRow) error) error {
	if table != s.table.Name {
		return nil
	}
	for _, r := range s.rows {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (s rawSource) DeleteTenantData(context.Context, eusaas.TenantID) (map[string]int, error) {
	return map[string]int{s.table.Name: len(s.rows)}, nil
}

func scanAll(t *testing.T, d *memgdpr.TenantData, tenant eusaas.TenantID, tb gdpr.Table, subjects ...string) ([]eusaas.DataRow, error) {
	t.Helper()
	var out []eusaas.DataRow
	err := d.Scan(context.Background(), tenant, tb, subjects, func(r eusaas.DataRow) error {
		out = append(out, slices.Clone(r))
		return nil
	})
	return out, err
}

// TestTenantDataScan: values are normalised to the DataRow set (int to int64, local times
// to UTC, *string to string), a column subset follows the asked columns (NULL for one the
// source lacks), and a value outside the set fails the scan instead of reaching an export.
func TestTenantDataScan(t *testing.T) {
	tenant := eusaas.NewTenantID()
	cet := time.FixedZone("CET", 3600)
	s := "x"
	src := rawSource{table: eusaas.DataTable{Name: "t", Columns: []string{"a", "b", "c", "d"}},
		rows: []eusaas.DataRow{{7, time.Date(2026, 1, 1, 1, 0, 0, 0, cet), &s, json.RawMessage(`{"k":1}`)}}}
	d := memgdpr.NewTenantData(src)
	rows, err := scanAll(t, d, tenant, src.table)
	if err != nil {
		t.Fatal(err)
	}
	want := eusaas.DataRow{int64(7), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "x", json.RawMessage(`{"k":1}`)}
	if len(rows) != 1 || !slices.EqualFunc(rows[0], want, func(a, b any) bool {
		if ta, ok := a.(time.Time); ok {
			tb, _ := b.(time.Time)
			return ta.Equal(tb) && ta.Location() == time.UTC
		}
		if ra, ok := a.(json.RawMessage); ok {
			return string(ra) == string(b.(json.RawMessage))
		}
		return a == b
	}) {
		t.Fatalf("rows %#v, want %#v", rows, want)
	}
	rows, err = scanAll(t, d, tenant, gdpr.Table{Name: "t", Columns: []string{"c", "missing", "a"}})
	if err != nil || len(rows) != 1 || rows[0][0] != "x" || rows[0][1] != nil || rows[0][2] != int64(7) {
		t.Fatalf("projection: %#v, %v", rows, err)
	}

	bad := memgdpr.NewTenantData(rawSource{table: eusaas.DataTable{Name: "bad", Columns: []string{"v"}}, rows: []eusaas.DataRow{{[]byte("raw")}}})
	if _, err := scanAll(t, bad, tenant, gdpr.Table{Name: "bad", Columns: []string{"v"}}); eusaas.KindOf(err) != eusaas.Internal {
		t.Fatalf("a []byte value: %v, want an Internal error", err)
	}
	if n, err := d.DeleteAll(context.Background(), tenant); err != nil || n["t"] != 1 {
		t.Fatalf("DeleteAll = %v, %v", n, err)
	}
	// rawSource implements neither DataSubjects nor gdpr.Retainer: no subject, no retention.
	if ok, err := d.HasSubject(context.Background(), tenant, "x"); err != nil || ok {
		t.Fatalf("HasSubject = %v, %v", ok, err)
	}
	if c, err := d.EnforceRetention(context.Background(), tenant, gdpr.DefaultPolicy(tenant), time.Now(), 0); err != nil || len(c) != 0 {
		t.Fatalf("EnforceRetention = %v, %v", c, err)
	}
}

// TestTablesTyped: Insert refuses undefined tables, unknown columns and values outside the
// DataRow set; subjects match the subject column; retention works on time.Time created_at
// and deleted_at (soft, then hard after the grace period), idempotently.
func TestTablesTyped(t *testing.T) {
	ctx := context.Background()
	tenant, other := eusaas.NewTenantID(), eusaas.NewTenantID()
	tables := memgdpr.NewTables()
	tables.Define(gdpr.Table{Name: "users", Columns: []string{"id", "n", "created_at", "deleted_at"}, SubjectColumn: "id"})
	for _, c := range []struct {
		table string
		row   map[string]any
	}{
		{"nope", map[string]any{"id": "u"}},
		{"users", map[string]any{"id": "u", "unknown": 1}},
		{"users", map[string]any{"id": "u", "n": uint(1)}},
		{"users", map[string]any{"id": "u", "n": []string{"x"}}},
	} {
		if err := tables.Insert(tenant, c.table, c.row); eusaas.KindOf(err) != eusaas.InvalidArgument {
			t.Errorf("Insert(%s, %v) = %v, want InvalidArgument", c.table, c.row, err)
		}
	}
	if n := tables.Count(tenant, "users"); n != 0 {
		t.Fatalf("refused inserts left %d rows", n)
	}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for i, age := range []int{400, 10} {
		if err := tables.Insert(tenant, "users", map[string]any{"id": []string{"u1", "u2"}[i], "n": i, "created_at": now.AddDate(0, 0, -age)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tables.Insert(other, "users", map[string]any{"id": "u1", "created_at": now.AddDate(-5, 0, 0)}); err != nil {
		t.Fatal(err)
	}
	d := memgdpr.NewTenantData(tables)
	rows, err := scanAll(t, d, tenant, gdpr.Table{Name: "users", Columns: []string{"id", "n"}, SubjectColumn: "id"}, "u2")
	if err != nil || len(rows) != 1 || rows[0][0] != "u2" || rows[0][1] != int64(1) {
		t.Fatalf("subject u2: %#v, %v", rows, err)
	}
	for subject, want := range map[string]bool{"u1": true, "u2": true, "u3": false} {
		if ok, err := d.HasSubject(ctx, tenant, subject); err != nil || ok != want {
			t.Errorf("HasSubject(%s) = %v, %v", subject, ok, err)
		}
	}
	p := gdpr.DefaultPolicy(tenant)
	p.PIIRetentionDays = 365
	grace := 30 * 24 * time.Hour
	c, err := d.EnforceRetention(ctx, tenant, p, now, grace)
	if err != nil || len(c) != 1 || c["users.soft_deleted"] != 1 {
		t.Fatalf("first run %v, %v", c, err)
	}
	if c, err := d.EnforceRetention(ctx, tenant, p, now, grace); err != nil || len(c) != 0 {
		t.Fatalf("second run %v, %v (idempotent)", c, err)
	}
	c, err = d.EnforceRetention(ctx, tenant, p, now.Add(grace+time.Hour), grace)
	if err != nil || c["users.hard_deleted"] != 1 || tables.Count(tenant, "users") != 1 {
		t.Fatalf("after the grace period %v, %v, %d rows", c, err, tables.Count(tenant, "users"))
	}
	if tables.Count(other, "users") != 1 {
		t.Fatal("retention of one tenant touched another")
	}
}
