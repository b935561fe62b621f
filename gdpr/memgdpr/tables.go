package memgdpr

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

// Tables is a generic in-memory table set: an eusaas.DataSource, eusaas.DataSubjects and
// gdpr.Retainer. Tests use it as tenant data, and a small embedder may keep personal data
// in it. Tables with "created_at" and "deleted_at" columns (time.Time values) take part in
// retention: tables with a subject column use the policy's pii_retention_days, others
// default_retention_days; rows soft-deleted longer than the grace period are removed.
type Tables struct {
	mu     sync.Mutex
	tables map[string]eusaas.DataTable
	rows   map[eusaas.TenantID]map[string][]eusaas.DataRow
}

var (
	_ eusaas.DataSource   = (*Tables)(nil)
	_ eusaas.DataSubjects = (*Tables)(nil)
	_ gdpr.Retainer       = (*Tables)(nil)
)

// NewTables returns an empty table set.
func NewTables() *Tables {
	return &Tables{tables: map[string]eusaas.DataTable{}, rows: map[eusaas.TenantID]map[string][]eusaas.DataRow{}}
}

// Define declares a table (for every tenant).
func (g *Tables) Define(t eusaas.DataTable) {
	t.Columns = slices.Clone(t.Columns)
	g.mu.Lock()
	g.tables[t.Name] = t
	g.mu.Unlock()
}

// Insert adds a row; columns missing from row are NULL. Values are normalised to the
// eusaas.DataRow set (eusaas.NormalizeDataValue); an undefined table, an unknown column or
// a value of another type is an InvalidArgument error and inserts nothing.
func (g *Tables) Insert(tenant eusaas.TenantID, table string, row map[string]any) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.tables[table]
	if !ok {
		return eusaas.E(eusaas.InvalidArgument, "memgdpr: table "+table+" is not defined")
	}
	for c := range row {
		if !slices.Contains(t.Columns, c) {
			return eusaas.E(eusaas.InvalidArgument, "memgdpr: table "+table+" has no column "+c)
		}
	}
	vals := make(eusaas.DataRow, len(t.Columns))
	for i, c := range t.Columns {
		v, ok := eusaas.NormalizeDataValue(row[c])
		if !ok {
			return eusaas.E(eusaas.InvalidArgument, fmt.Sprintf("memgdpr: %s.%s: %T is not a DataRow value", table, c, row[c]))
		}
		vals[i] = v
	}
	if g.rows[tenant] == nil {
		g.rows[tenant] = map[string][]eusaas.DataRow{}
	}
	g.rows[tenant][table] = append(g.rows[tenant][table], vals)
	return nil
}

// Count returns the number of rows of a tenant's table, soft-deleted ones included.
func (g *Tables) Count(tenant eusaas.TenantID, table string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.rows[tenant][table])
}

// DataTables implements eusaas.DataSource: every defined table while the tenant has rows.
func (g *Tables) DataTables(tenant eusaas.TenantID) []eusaas.DataTable {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.rows[tenant] == nil {
		return nil
	}
	out := make([]eusaas.DataTable, 0, len(g.tables))
	for _, t := range g.tables {
		t.Columns = slices.Clone(t.Columns)
		out = append(out, t)
	}
	return out
}

// ScanData implements eusaas.DataSource; fn runs outside the lock, on a copy of each row.
func (g *Tables) ScanData(ctx context.Context, tenant eusaas.TenantID, table string, subjects []string, fn func(eusaas.DataRow) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g.mu.Lock()
	t := g.tables[table]
	var rows []eusaas.DataRow
	for _, r := range g.rows[tenant][table] {
		rows = append(rows, slices.Clone(r))
	}
	g.mu.Unlock()
	col := slices.Index(t.Columns, t.SubjectColumn)
	for _, r := range rows {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(subjects) > 0 {
			s, ok := rowSubject(r, col)
			if !ok || !slices.Contains(subjects, s) {
				continue
			}
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// rowSubject is the row's subject column as text (a subject id is a string).
func rowSubject(r eusaas.DataRow, col int) (string, bool) {
	if col < 0 {
		return "", false
	}
	s, ok := r[col].(string)
	return s, ok
}

// DeleteTenantData implements eusaas.DataSource.
func (g *Tables) DeleteTenantData(ctx context.Context, tenant eusaas.TenantID) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]int{}
	for name, rows := range g.rows[tenant] {
		out[name] = len(rows)
	}
	delete(g.rows, tenant)
	return out, nil
}

// HasDataSubject implements eusaas.DataSubjects.
func (g *Tables) HasDataSubject(ctx context.Context, tenant eusaas.TenantID, subject string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for name, rows := range g.rows[tenant] {
		t := g.tables[name]
		col := slices.Index(t.Columns, t.SubjectColumn)
		for _, r := range rows {
			if s, ok := rowSubject(r, col); ok && s == subject {
				return true, nil
			}
		}
	}
	return false, nil
}

// EnforceRetention implements gdpr.Retainer.
func (g *Tables) EnforceRetention(ctx context.Context, tenant eusaas.TenantID, p gdpr.Policy, now time.Time, grace time.Duration) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]int{}
	for name, rows := range g.rows[tenant] {
		t := g.tables[name]
		ci, di := slices.Index(t.Columns, "created_at"), slices.Index(t.Columns, "deleted_at")
		if ci < 0 || di < 0 {
			continue
		}
		days := p.DefaultRetentionDays
		if t.SubjectColumn != "" {
			days = p.PIIRetentionDays
		}
		cutoff := now.AddDate(0, 0, -days)
		kept := rows[:0]
		soft, hard := 0, 0
		si := slices.Index(t.Columns, t.SubjectColumn)
		for _, r := range rows {
			if si >= 0 && slices.Contains(p.Restricted, fmt.Sprint(r[si])) {
				kept = append(kept, r) // restricted (Art. 18): kept as it is
				continue
			}
			if d, ok := r[di].(time.Time); ok {
				if d.Before(now.Add(-grace)) {
					hard++
					continue
				}
			} else if c, ok := r[ci].(time.Time); ok && r[di] == nil && c.Before(cutoff) {
				r[di] = now.UTC()
				soft++
			}
			kept = append(kept, r)
		}
		g.rows[tenant][name] = kept
		if soft > 0 {
			out[name+".soft_deleted"] = soft
		}
		if hard > 0 {
			out[name+".hard_deleted"] = hard
		}
	}
	return out, nil
}
