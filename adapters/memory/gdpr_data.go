package memory

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

// GDPRSource is what a memory store implements to take part in GDPR exports and tenant
// erasure: it presents its tenant data as tables (names unique across sources, e.g.
// "users", "sessions", "usage_events"). Register it with GDPRData.Register.
//
// Optionally a source also implements GDPRSubjects (subject lookup for request validation)
// and gdpr.Retainer (retention enforcement of its records).
type GDPRSource interface {
	// GDPRTables lists the tenant's tables with their columns and subject column.
	GDPRTables(tenant eusaas.TenantID) []gdpr.Table
	// GDPRScan streams a table's rows as text (nil = NULL), filtered by subjects when given.
	GDPRScan(ctx context.Context, tenant eusaas.TenantID, table string, subjects []string, fn func([][]byte) error) error
	// GDPRDeleteTenant deletes all of the tenant's rows, returning counts per table.
	GDPRDeleteTenant(ctx context.Context, tenant eusaas.TenantID) (map[string]int, error)
}

// GDPRSubjects is implemented by sources that can tell whether a data subject exists.
type GDPRSubjects interface {
	GDPRHasSubject(tenant eusaas.TenantID, subject string) bool
}

// GDPRData implements gdpr.TenantData, subject lookup and gdpr.Retainer over the registered
// sources.
type GDPRData struct {
	mu      sync.Mutex
	sources []GDPRSource
}

var (
	_ gdpr.TenantData = (*GDPRData)(nil)
	_ gdpr.Retainer   = (*GDPRData)(nil)
)

// NewGDPRData returns a registry over sources.
func NewGDPRData(sources ...GDPRSource) *GDPRData { return &GDPRData{sources: sources} }

// Register adds a source.
func (d *GDPRData) Register(src GDPRSource) {
	d.mu.Lock()
	d.sources = append(d.sources, src)
	d.mu.Unlock()
}

func (d *GDPRData) list() []GDPRSource {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.sources)
}

// Tables implements gdpr.TenantData.
func (d *GDPRData) Tables(ctx context.Context, tenant eusaas.TenantID) ([]gdpr.Table, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []gdpr.Table
	for _, s := range d.list() {
		out = append(out, s.GDPRTables(tenant)...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Scan implements gdpr.TenantData.
func (d *GDPRData) Scan(ctx context.Context, tenant eusaas.TenantID, t gdpr.Table, subjects []string, fn func(eusaas.DataRow) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, s := range d.list() {
		for _, own := range s.GDPRTables(tenant) {
			if own.Name != t.Name {
				continue
			}
			// The caller may ask for some columns only (an export leaves secrets out).
			idx := make([]int, len(t.Columns))
			for i, c := range t.Columns {
				idx[i] = slices.Index(own.Columns, c)
			}
			out := make(eusaas.DataRow, len(idx))
			return s.GDPRScan(ctx, tenant, t.Name, subjects, func(v [][]byte) error {
				for i, j := range idx {
					out[i] = nil
					if j >= 0 && v[j] != nil {
						out[i] = string(v[j])
					}
				}
				return fn(out)
			})
		}
	}
	return nil
}

// DeleteAll implements gdpr.TenantData.
func (d *GDPRData) DeleteAll(ctx context.Context, tenant eusaas.TenantID) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, s := range d.list() {
		c, err := s.GDPRDeleteTenant(ctx, tenant)
		if err != nil {
			return nil, err
		}
		for k, v := range c {
			out[k] += v
		}
	}
	return out, nil
}

// HasSubject reports whether any source knows the subject.
func (d *GDPRData) HasSubject(ctx context.Context, tenant eusaas.TenantID, subject string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	for _, s := range d.list() {
		if ss, ok := s.(GDPRSubjects); ok && ss.GDPRHasSubject(tenant, subject) {
			return true, nil
		}
	}
	return false, nil
}

// EnforceRetention implements gdpr.Retainer over the sources that implement it.
func (d *GDPRData) EnforceRetention(ctx context.Context, tenant eusaas.TenantID, p gdpr.Policy, now time.Time, grace time.Duration) (map[string]int, error) {
	out := map[string]int{}
	for _, s := range d.list() {
		r, ok := s.(gdpr.Retainer)
		if !ok {
			continue
		}
		c, err := r.EnforceRetention(ctx, tenant, p, now, grace)
		if err != nil {
			return nil, err
		}
		for k, v := range c {
			out[k] += v
		}
	}
	return out, nil
}

// GDPRTables is a generic in-memory table set implementing GDPRSource, GDPRSubjects and
// gdpr.Retainer: tests use it as tenant data, and memory stores may keep personal data in it.
// Tables with "created_at" and "deleted_at" columns (RFC 3339 text) take part in retention:
// tables with a subject column use the policy's pii_retention_days, others
// default_retention_days.
type GDPRTables struct {
	mu     sync.Mutex
	tables map[string]gdpr.Table
	rows   map[eusaas.TenantID]map[string][][]*string
}

// NewGDPRTables returns an empty table set.
func NewGDPRTables() *GDPRTables {
	return &GDPRTables{tables: map[string]gdpr.Table{}, rows: map[eusaas.TenantID]map[string][][]*string{}}
}

// Define declares a table (for every tenant).
func (g *GDPRTables) Define(t gdpr.Table) {
	g.mu.Lock()
	g.tables[t.Name] = t
	g.mu.Unlock()
}

// Insert adds a row; columns missing from row are NULL.
func (g *GDPRTables) Insert(tenant eusaas.TenantID, table string, row map[string]string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t := g.tables[table]
	vals := make([]*string, len(t.Columns))
	for i, c := range t.Columns {
		if v, ok := row[c]; ok {
			vals[i] = &v
		}
	}
	if g.rows[tenant] == nil {
		g.rows[tenant] = map[string][][]*string{}
	}
	g.rows[tenant][table] = append(g.rows[tenant][table], vals)
}

// Count returns the number of rows of a tenant's table, soft-deleted ones included.
func (g *GDPRTables) Count(tenant eusaas.TenantID, table string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.rows[tenant][table])
}

// GDPRTables implements GDPRSource: every defined table is listed while the tenant has rows.
func (g *GDPRTables) GDPRTables(tenant eusaas.TenantID) []gdpr.Table {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.rows[tenant] == nil {
		return nil
	}
	var out []gdpr.Table
	for _, t := range g.tables {
		out = append(out, t)
	}
	return out
}

// GDPRScan implements GDPRSource.
func (g *GDPRTables) GDPRScan(ctx context.Context, tenant eusaas.TenantID, table string, subjects []string, fn func([][]byte) error) error {
	g.mu.Lock()
	t := g.tables[table]
	rows := slices.Clone(g.rows[tenant][table])
	g.mu.Unlock()
	col := slices.Index(t.Columns, t.SubjectColumn)
	vals := make([][]byte, len(t.Columns))
	for _, r := range rows {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(subjects) > 0 && (col < 0 || r[col] == nil || !slices.Contains(subjects, *r[col])) {
			continue
		}
		for i, v := range r {
			if v == nil {
				vals[i] = nil
			} else {
				vals[i] = []byte(*v)
			}
		}
		if err := fn(vals); err != nil {
			return err
		}
	}
	return nil
}

// GDPRDeleteTenant implements GDPRSource.
func (g *GDPRTables) GDPRDeleteTenant(ctx context.Context, tenant eusaas.TenantID) (map[string]int, error) {
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

// GDPRHasSubject implements GDPRSubjects.
func (g *GDPRTables) GDPRHasSubject(tenant eusaas.TenantID, subject string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for name, rows := range g.rows[tenant] {
		t := g.tables[name]
		col := slices.Index(t.Columns, t.SubjectColumn)
		if col < 0 {
			continue
		}
		for _, r := range rows {
			if r[col] != nil && *r[col] == subject {
				return true
			}
		}
	}
	return false
}

// EnforceRetention implements gdpr.Retainer.
func (g *GDPRTables) EnforceRetention(ctx context.Context, tenant eusaas.TenantID, p gdpr.Policy, now time.Time, grace time.Duration) (map[string]int, error) {
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
		stamp := now.UTC().Format(time.RFC3339Nano)
		for _, r := range rows {
			if r[di] != nil {
				if d, err := time.Parse(time.RFC3339Nano, *r[di]); err == nil && d.Before(now.Add(-grace)) {
					hard++
					continue
				}
			} else if r[ci] != nil {
				if c, err := time.Parse(time.RFC3339Nano, *r[ci]); err == nil && c.Before(cutoff) {
					s := stamp
					r[di] = &s
					soft++
				}
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
