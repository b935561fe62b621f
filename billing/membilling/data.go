package membilling

import (
	"context"
	"encoding/json"
	"time"

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/memtx"
)

// The billing stores take part in GDPR exports and tenant erasure as the billing_* tables of
// the Postgres tenant schema (0040_billing.sql). None of them has a subject column (as in
// Postgres, whose generic adapter finds none of data_subject_id, subject_id, user_id), so
// subject-filtered exports skip them; personal data in them (event attributes, invoice
// issuer) is pseudonymised by billing's own PseudonymizeSubject.
//
// None has a retention of its own here: the Postgres adapter's generic retention covers only tables
// with created_at and deleted_at, which no billing table has. The dedup rows' own retention
// is billing's PurgeDedup, run by its maintenance loop in both modes; invoices are kept for
// the legal retention period.
var (
	_ eusaas.DataSource = (*UsageStore)(nil)
	_ eusaas.DataSource = (*InvoiceStore)(nil)
	_ eusaas.DataSource = (*PriceStore)(nil)
)

var billingGDPRUsageTables = []eusaas.DataTable{
	{Name: "billing_usage_attribute_values", Columns: []string{"attr_key", "attr_value"}},
	{Name: "billing_usage_attributes", Columns: []string{"day", "attr_key", "attr_value", "quantities"}},
	{Name: "billing_usage_buckets", Columns: []string{"day", "resource_type", "quantity", "amount"}},
	{Name: "billing_usage_distinct", Columns: []string{"month", "resource_type", "value_sha256"}},
	{Name: "billing_usage_events", Columns: []string{"event_id", "resource_type", "quantity", "occurred_at", "attributes", "received_at"}},
	{Name: "billing_usage_latest", Columns: []string{"month", "resource_type", "occurred_at"}},
	{Name: "billing_usage_months", Columns: []string{"month", "resource_type", "quantity"}},
}

var billingGDPRInvoiceTables = []eusaas.DataTable{
	{Name: "billing_invoice_lines", Columns: []string{"invoice_id", "line_no", "resource_type", "description", "unit", "quantity", "amount", "usage_month", "adjustment"}},
	{Name: "billing_invoices", Columns: []string{"id", "number", "status", "period_start", "period_end", "currency", "subtotal", "tax_rate",
		"tax_amount", "total_amount", "rounding_rule", "created_at", "issued_at", "due_date", "paid_at", "voided_at", "issued_by", "content"}},
}

var billingGDPRPriceTables = []eusaas.DataTable{
	{Name: "billing_prices", Columns: []string{"resource_type", "kind", "unit_price", "tiers"}},
	{Name: "billing_settings", Columns: []string{"key", "value"}},
}

// billingGDPRDecimal is a numeric value: exact, in the decimal's own text (the Postgres
// stores write d.String(), and numeric keeps what it was given).
func billingGDPRDecimal(d decimal.Decimal) eusaas.Decimal { return eusaas.Decimal(d.String()) }

// billingGDPRJSON is a jsonb value: v as the Postgres stores marshal it before the cast.
func billingGDPRJSON(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	return json.RawMessage(b), err
}

// --- usage

// DataTables implements eusaas.DataSource.
func (s *UsageStore) DataTables(tenant eusaas.TenantID) []eusaas.DataTable {
	return eusaas.TenantDataTables(tenant, billingGDPRUsageTables)
}

// billingGDPRUsageRows returns a tenant's usage table as typed rows. Callers hold mu.
func (s *UsageStore) billingGDPRUsageRows(tenant eusaas.TenantID, table string) ([]eusaas.DataRow, error) {
	t := s.tenants[tenant]
	if t == nil {
		return nil, nil
	}
	var rows []eusaas.DataRow
	switch table {
	case "billing_usage_events":
		for _, r := range t.events {
			var attrs any
			if len(r.ev.Attributes) > 0 { // the Postgres store writes NULL for no attributes
				var err error
				if attrs, err = billingGDPRJSON(r.ev.Attributes); err != nil {
					return nil, err
				}
			}
			rows = append(rows, eusaas.DataRow{r.ev.ID, string(r.ev.ResourceType),
				billingGDPRDecimal(r.ev.Quantity), eusaas.DataTime(r.ev.Timestamp), attrs, eusaas.DataTime(r.received)})
		}
	case "billing_usage_buckets":
		for k, b := range t.buckets {
			rows = append(rows, eusaas.DataRow{dataDate(k.day), string(k.resource),
				billingGDPRDecimal(b.Quantity), billingGDPRDecimal(b.Amount)})
		}
	case "billing_usage_months":
		for k, q := range t.months {
			rows = append(rows, eusaas.DataRow{dataDate(k.day), string(k.resource), billingGDPRDecimal(q)})
		}
	case "billing_usage_latest":
		for k, at := range t.latest {
			rows = append(rows, eusaas.DataRow{dataDate(k.day), string(k.resource), eusaas.DataTime(at)})
		}
	case "billing_usage_attributes":
		// As the Postgres table (tenant migration 0162): one row per (day, key, value) with
		// the quantity of each resource in a JSON object.
		type dkv struct {
			day        time.Time
			key, value string
		}
		grouped := map[dkv]map[string]json.Number{}
		for k, q := range t.attrs {
			g := dkv{k.day, k.key, k.value}
			if grouped[g] == nil {
				grouped[g] = map[string]json.Number{}
			}
			grouped[g][string(k.resource)] = json.Number(q.String())
		}
		for g, qs := range grouped {
			doc, err := billingGDPRJSON(qs)
			if err != nil {
				return nil, err
			}
			rows = append(rows, eusaas.DataRow{dataDate(g.day), g.key, g.value, doc})
		}
		eusaas.SortDataRows(rows, 0, 1, 2)
		return rows, nil
	case "billing_usage_attribute_values":
		for key, vals := range t.values {
			for v := range vals {
				rows = append(rows, eusaas.DataRow{key, v})
			}
		}
	case "billing_usage_distinct":
		for k := range t.distinct {
			rows = append(rows, eusaas.DataRow{dataDate(k.month), string(k.resource), k.digest})
		}
		eusaas.SortDataRows(rows, 0, 1, 2)
		return rows, nil
	}
	eusaas.SortDataRows(rows, 0, 1)
	return rows, nil
}

// ScanData implements eusaas.DataSource; fn runs after the store's lock is released.
func (s *UsageStore) ScanData(ctx context.Context, tenant eusaas.TenantID, table string, subjects []string, fn func(eusaas.DataRow) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t, ok := eusaas.FindDataTable(billingGDPRUsageTables, table)
	if !ok || tenant.IsZero() {
		return nil
	}
	s.mu.Lock()
	rows, err := s.billingGDPRUsageRows(tenant, table)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return eusaas.EmitDataRows(ctx, t, rows, subjects, fn)
}

// DeleteTenantData implements eusaas.DataSource: it removes the tenant's dedup rows, daily buckets
// and monthly quantities. Idempotent; a memory transaction's rollback restores them.
func (s *UsageStore) DeleteTenantData(ctx context.Context, tenant eusaas.TenantID) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := eusaas.ZeroDataCounts(billingGDPRUsageTables)
	s.mu.Lock()
	old := s.tenants[tenant]
	if old != nil {
		out["billing_usage_events"], out["billing_usage_buckets"], out["billing_usage_months"] = len(old.events), len(old.buckets), len(old.months)
		out["billing_usage_latest"], out["billing_usage_distinct"] = len(old.latest), len(old.distinct)
		out["billing_usage_attributes"] = billingAttributeRows(old.attrs)
		for _, vals := range old.values {
			out["billing_usage_attribute_values"] += len(vals)
		}
		delete(s.tenants, tenant)
	}
	s.mu.Unlock()
	if old != nil {
		memtx.OnRollback(ctx, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			cur := s.tenants[tenant]
			if cur == nil {
				s.tenants[tenant] = old
				return
			}
			// Usage recorded since the deletion stays; the restored rows fill in around it.
			for id, r := range old.events {
				if _, ok := cur.events[id]; !ok {
					cur.events[id] = r
				}
			}
			for k, b := range old.buckets {
				if _, ok := cur.buckets[k]; !ok {
					cur.buckets[k] = b
				}
			}
			for k, q := range old.months {
				if _, ok := cur.months[k]; !ok {
					cur.months[k] = q
				}
			}
			for k, at := range old.latest {
				if _, ok := cur.latest[k]; !ok {
					cur.latest[k] = at
				}
			}
			for k := range old.distinct {
				cur.distinct[k] = true
			}
			if !old.first.IsZero() && (cur.first.IsZero() || old.first.Before(cur.first)) {
				cur.first = old.first
			}
		})
	}
	return out, nil
}

// --- invoices

// DataTables implements eusaas.DataSource.
func (s *InvoiceStore) DataTables(tenant eusaas.TenantID) []eusaas.DataTable {
	return eusaas.TenantDataTables(tenant, billingGDPRInvoiceTables)
}

// billingGDPRInvoiceRows returns a tenant's invoice table as typed rows. Callers hold mu.
func (s *InvoiceStore) billingGDPRInvoiceRows(tenant eusaas.TenantID, table string) []eusaas.DataRow {
	var rows []eusaas.DataRow
	switch table {
	case "billing_invoices":
		for _, inv := range s.invoices[tenant] {
			rows = append(rows, eusaas.DataRow{inv.ID.String(), eusaas.DataNullText(inv.Number), string(inv.Status),
				dataDate(inv.PeriodStart), dataDate(inv.PeriodEnd), inv.Currency,
				billingGDPRDecimal(inv.Subtotal), billingGDPRDecimal(inv.TaxRate), billingGDPRDecimal(inv.TaxAmount),
				billingGDPRDecimal(inv.Total), inv.RoundingRule, eusaas.DataTime(inv.CreatedAt),
				dataTimePtr(inv.IssuedAt), dataDatePtr(inv.DueDate), dataTimePtr(inv.PaidAt),
				dataTimePtr(inv.VoidedAt), inv.IssuedBy, billingGDPRContent(inv)})
		}
		eusaas.SortDataRows(rows, 0)
	case "billing_invoice_lines":
		for _, inv := range s.invoices[tenant] {
			for i, l := range inv.Lines {
				rows = append(rows, eusaas.DataRow{inv.ID.String(), int64(i + 1),
					string(l.Resource), l.Description, l.Unit,
					billingGDPRDecimal(l.Quantity), billingGDPRDecimal(l.Amount), dataDate(l.UsageMonth),
					l.Adjustment})
			}
		}
		eusaas.SortDataRows(rows, 0, 1)
	}
	return rows
}

// ScanData implements eusaas.DataSource; fn runs after the store's lock is released.
func (s *InvoiceStore) ScanData(ctx context.Context, tenant eusaas.TenantID, table string, subjects []string, fn func(eusaas.DataRow) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t, ok := eusaas.FindDataTable(billingGDPRInvoiceTables, table)
	if !ok || tenant.IsZero() {
		return nil
	}
	s.mu.Lock()
	rows := s.billingGDPRInvoiceRows(tenant, table)
	s.mu.Unlock()
	return eusaas.EmitDataRows(ctx, t, rows, subjects, fn)
}

// DeleteTenantData implements eusaas.DataSource: it removes the tenant's invoices and their lines
// (the yearly number counters are platform-wide and stay). Idempotent; a memory
// transaction's rollback restores them.
func (s *InvoiceStore) DeleteTenantData(ctx context.Context, tenant eusaas.TenantID) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := eusaas.ZeroDataCounts(billingGDPRInvoiceTables)
	s.mu.Lock()
	old := s.invoices[tenant]
	for _, inv := range old {
		out["billing_invoice_lines"] += len(inv.Lines)
	}
	out["billing_invoices"] = len(old)
	delete(s.invoices, tenant)
	s.mu.Unlock()
	if len(old) > 0 {
		memtx.OnRollback(ctx, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			cur := s.invoices[tenant]
			if cur == nil {
				s.invoices[tenant] = old
				return
			}
			for id, inv := range old {
				if _, ok := cur[id]; !ok {
					cur[id] = inv
				}
			}
		})
	}
	return out, nil
}

// --- prices and settings

// DataTables implements eusaas.DataSource.
func (s *PriceStore) DataTables(tenant eusaas.TenantID) []eusaas.DataTable {
	return eusaas.TenantDataTables(tenant, billingGDPRPriceTables)
}

// billingGDPRTier is the JSON shape of a tier in billing_prices.tiers (as the Postgres store
// writes it).
type billingGDPRTier struct {
	UpTo      *string `json:"up_to"`
	UnitPrice string  `json:"unit_price"`
}

// billingGDPRPriceRows returns a tenant's price table as typed rows. Callers hold mu.
func (s *PriceStore) billingGDPRPriceRows(tenant eusaas.TenantID, table string) ([]eusaas.DataRow, error) {
	var rows []eusaas.DataRow
	switch table {
	case "billing_prices":
		for r, p := range s.prices[tenant] {
			ts := make([]billingGDPRTier, 0, len(p.Tiers))
			for _, t := range p.Tiers {
				j := billingGDPRTier{UnitPrice: t.UnitPrice.String()}
				if t.UpTo != nil {
					u := t.UpTo.String()
					j.UpTo = &u
				}
				ts = append(ts, j)
			}
			tiers, err := billingGDPRJSON(ts)
			if err != nil {
				return nil, err
			}
			rows = append(rows, eusaas.DataRow{string(r), string(p.Kind), billingGDPRDecimal(p.UnitPrice), tiers})
		}
	case "billing_settings":
		if rate, ok := s.tax[tenant]; ok {
			rows = append(rows, eusaas.DataRow{"tax_rate", rate.String()}) // a text column
		}
	}
	eusaas.SortDataRows(rows, 0)
	return rows, nil
}

// ScanData implements eusaas.DataSource; fn runs after the store's lock is released.
func (s *PriceStore) ScanData(ctx context.Context, tenant eusaas.TenantID, table string, subjects []string, fn func(eusaas.DataRow) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t, ok := eusaas.FindDataTable(billingGDPRPriceTables, table)
	if !ok || tenant.IsZero() {
		return nil
	}
	s.mu.Lock()
	rows, err := s.billingGDPRPriceRows(tenant, table)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return eusaas.EmitDataRows(ctx, t, rows, subjects, fn)
}

// DeleteTenantData implements eusaas.DataSource: it removes the tenant's price overrides and tax
// rate. Idempotent; a memory transaction's rollback restores them.
func (s *PriceStore) DeleteTenantData(ctx context.Context, tenant eusaas.TenantID) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := eusaas.ZeroDataCounts(billingGDPRPriceTables)
	s.mu.Lock()
	oldPrices := s.prices[tenant]
	oldTax, hadTax := s.tax[tenant]
	out["billing_prices"] = len(oldPrices)
	if hadTax {
		out["billing_settings"] = 1
	}
	delete(s.prices, tenant)
	delete(s.tax, tenant)
	s.mu.Unlock()
	if len(oldPrices) > 0 || hadTax {
		memtx.OnRollback(ctx, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if len(oldPrices) > 0 {
				cur := s.prices[tenant]
				if cur == nil {
					s.prices[tenant] = oldPrices
				} else {
					for r, p := range oldPrices {
						if _, ok := cur[r]; !ok {
							cur[r] = p
						}
					}
				}
			}
			if _, ok := s.tax[tenant]; hadTax && !ok {
				s.tax[tenant] = oldTax
			}
		})
	}
	return out, nil
}

// billingAttributeRows is the number of rows the attribute aggregates are in the Postgres
// table: one per (day, key, value), whatever the resources.
func billingAttributeRows(attrs map[billingAttrKey]decimal.Decimal) int {
	type dkv struct {
		day        time.Time
		key, value string
	}
	seen := map[dkv]bool{}
	for k := range attrs {
		seen[dkv{k.day, k.key, k.value}] = true
	}
	return len(seen)
}
