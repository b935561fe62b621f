package memgdpr

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

// TenantData implements gdpr.TenantData, the subject lookup and gdpr.Retainer over the
// stores that hold tenant data (any eusaas.DataSource: the memory stores of the other
// modules, a Tables, one of yours). Table names must be unique across the sources.
type TenantData struct {
	mu      sync.Mutex
	sources []eusaas.DataSource
}

var (
	_ gdpr.TenantData = (*TenantData)(nil)
	_ gdpr.Retainer   = (*TenantData)(nil)
)

// NewTenantData returns the tenant data port over sources.
func NewTenantData(sources ...eusaas.DataSource) *TenantData {
	return &TenantData{sources: slices.Clone(sources)}
}

// Register adds a source.
func (d *TenantData) Register(src eusaas.DataSource) {
	d.mu.Lock()
	d.sources = append(d.sources, src)
	d.mu.Unlock()
}

func (d *TenantData) list() []eusaas.DataSource {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.sources)
}

// Tables implements gdpr.TenantData: every source's tables, sorted by name.
func (d *TenantData) Tables(ctx context.Context, tenant eusaas.TenantID) ([]gdpr.Table, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []gdpr.Table
	for _, s := range d.list() {
		out = append(out, s.DataTables(tenant)...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Scan implements gdpr.TenantData. t may list some of the table's columns only (an export
// leaves secrets out): the values follow t's columns, NULL for a column the source lacks.
// Values outside the eusaas.DataRow set are normalised (eusaas.NormalizeDataValue) or fail
// the scan, so a source's slip cannot put an unknown type into an export.
func (d *TenantData) Scan(ctx context.Context, tenant eusaas.TenantID, t gdpr.Table, subjects []string, fn func(eusaas.DataRow) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, s := range d.list() {
		for _, own := range s.DataTables(tenant) {
			if own.Name != t.Name {
				continue
			}
			idx := make([]int, len(t.Columns))
			for i, c := range t.Columns {
				idx[i] = slices.Index(own.Columns, c)
			}
			out := make(eusaas.DataRow, len(idx))
			return s.ScanData(ctx, tenant, t.Name, subjects, func(row eusaas.DataRow) error {
				for i, j := range idx {
					out[i] = nil
					if j < 0 || j >= len(row) {
						continue
					}
					v, ok := eusaas.NormalizeDataValue(row[j])
					if !ok {
						return eusaas.E(eusaas.Internal, "memgdpr: "+t.Name+"."+t.Columns[i]+" holds a value outside the eusaas.DataRow set")
					}
					out[i] = v
				}
				return fn(out)
			})
		}
	}
	return nil
}

// DeleteAll implements gdpr.TenantData: every source deletes the tenant's rows.
func (d *TenantData) DeleteAll(ctx context.Context, tenant eusaas.TenantID) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, s := range d.list() {
		c, err := s.DeleteTenantData(ctx, tenant)
		if err != nil {
			return nil, err
		}
		for k, v := range c {
			out[k] += v
		}
	}
	return out, nil
}

// HasSubject reports whether any source that implements eusaas.DataSubjects knows the
// subject (gdpr.Deps.Subjects).
func (d *TenantData) HasSubject(ctx context.Context, tenant eusaas.TenantID, subject string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	for _, s := range d.list() {
		ss, ok := s.(eusaas.DataSubjects)
		if !ok {
			continue
		}
		found, err := ss.HasDataSubject(ctx, tenant, subject)
		if err != nil || found {
			return found, err
		}
	}
	return false, nil
}

// EnforceRetention implements gdpr.Retainer over the sources that implement it (a Tables
// does); other modules' stores give their retention to the wiring as gdpr.Retainers.
func (d *TenantData) EnforceRetention(ctx context.Context, tenant eusaas.TenantID, p gdpr.Policy, now time.Time, grace time.Duration) (map[string]int, error) {
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
