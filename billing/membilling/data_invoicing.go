package membilling

import (
	"context"
	"encoding/json"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/memtx"
)

// The invoicing stores as the tables of tenant migration 0120_billing_invoicing.sql: the
// buyer profile, the issue content of invoices (billing_invoices.content) and credit notes.
var (
	_ eusaas.DataSource = (*ProfileStore)(nil)
	_ eusaas.DataSource = (*CreditNoteStore)(nil)
)

var billingGDPRProfileTables = []eusaas.DataTable{
	{Name: "billing_profile", Columns: []string{"singleton", "profile", "updated_at"}},
}

var billingGDPRCreditTables = []eusaas.DataTable{
	{Name: "billing_credit_note_lines", Columns: []string{"credit_note_id", "invoice_id", "credited_line", "amount"}},
	{Name: "billing_credit_notes", Columns: []string{"id", "number", "invoice_id", "created_at", "doc"}},
}

// billingGDPRContentJSON has the shape the Postgres store writes into billing_invoices.content.
type billingGDPRContentJSON struct {
	Kind         billing.DocumentKind  `json:"kind"`
	Seller       *billing.Party        `json:"seller"`
	Buyer        *billing.Party        `json:"buyer"`
	VAT          *billing.VATTreatment `json:"vat"`
	Breakdown    []billing.VATSubtotal `json:"breakdown"`
	PaymentTerms string                `json:"payment_terms"`
	Lines        []map[string]any      `json:"lines"`
	Documents    []billing.Document    `json:"documents"`
}

// billingGDPRContent is the content column of inv: NULL for legacy invoices.
func billingGDPRContent(inv billing.Invoice) any {
	if inv.VAT == nil {
		return nil
	}
	c := billingGDPRContentJSON{Kind: inv.Kind, Seller: inv.Seller, Buyer: inv.Buyer, VAT: inv.VAT, Breakdown: inv.Breakdown,
		PaymentTerms: inv.PaymentTerms, Documents: inv.Documents}
	for _, l := range inv.Lines {
		c.Lines = append(c.Lines, map[string]any{"id": l.ID, "category": l.VATCategory, "percent": l.VATPercent})
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil
	}
	return json.RawMessage(b)
}

// DataTables implements eusaas.DataSource.
func (s *ProfileStore) DataTables(tenant eusaas.TenantID) []eusaas.DataTable {
	return eusaas.TenantDataTables(tenant, billingGDPRProfileTables)
}

// ScanData implements eusaas.DataSource.
func (s *ProfileStore) ScanData(ctx context.Context, tenant eusaas.TenantID, table string, subjects []string, fn func(eusaas.DataRow) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t, ok := eusaas.FindDataTable(billingGDPRProfileTables, table)
	if !ok || tenant.IsZero() {
		return nil
	}
	s.mu.Lock()
	p, has := s.profiles[tenant]
	s.mu.Unlock()
	var rows []eusaas.DataRow
	if has {
		raw, err := billingGDPRJSON(p)
		if err != nil {
			return err
		}
		rows = append(rows, eusaas.DataRow{true, raw, eusaas.DataTime(p.UpdatedAt)})
	}
	return eusaas.EmitDataRows(ctx, t, rows, subjects, fn)
}

// DeleteTenantData implements eusaas.DataSource.
func (s *ProfileStore) DeleteTenantData(ctx context.Context, tenant eusaas.TenantID) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := eusaas.ZeroDataCounts(billingGDPRProfileTables)
	s.mu.Lock()
	p, had := s.profiles[tenant]
	delete(s.profiles, tenant)
	s.mu.Unlock()
	if had {
		out["billing_profile"] = 1
		memtx.OnRollback(ctx, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if _, ok := s.profiles[tenant]; !ok {
				s.profiles[tenant] = p
			}
		})
	}
	return out, nil
}

// DataTables implements eusaas.DataSource.
func (s *CreditNoteStore) DataTables(tenant eusaas.TenantID) []eusaas.DataTable {
	return eusaas.TenantDataTables(tenant, billingGDPRCreditTables)
}

// ScanData implements eusaas.DataSource.
func (s *CreditNoteStore) ScanData(ctx context.Context, tenant eusaas.TenantID, table string, subjects []string, fn func(eusaas.DataRow) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t, ok := eusaas.FindDataTable(billingGDPRCreditTables, table)
	if !ok || tenant.IsZero() {
		return nil
	}
	s.mu.Lock()
	var rows []eusaas.DataRow
	var err error
	for _, cn := range s.notes[tenant] {
		switch table {
		case "billing_credit_notes":
			var raw json.RawMessage
			if raw, err = billingGDPRJSON(cn); err != nil {
				break
			}
			rows = append(rows, eusaas.DataRow{cn.ID.String(), cn.Number, cn.CreditedInvoice.ID.String(), eusaas.DataTime(cn.CreatedAt), raw})
		case "billing_credit_note_lines":
			for _, l := range cn.Lines {
				rows = append(rows, eusaas.DataRow{cn.ID.String(), cn.CreditedInvoice.ID.String(), int64(l.CreditedLine), billingGDPRDecimal(l.Amount)})
			}
		}
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	eusaas.SortDataRows(rows, 0, 1)
	return eusaas.EmitDataRows(ctx, t, rows, subjects, fn)
}

// DeleteTenantData implements eusaas.DataSource (the yearly counters are platform-wide).
func (s *CreditNoteStore) DeleteTenantData(ctx context.Context, tenant eusaas.TenantID) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := eusaas.ZeroDataCounts(billingGDPRCreditTables)
	s.mu.Lock()
	old := s.notes[tenant]
	for _, cn := range old {
		out["billing_credit_note_lines"] += len(cn.Lines)
	}
	out["billing_credit_notes"] = len(old)
	delete(s.notes, tenant)
	s.mu.Unlock()
	if len(old) > 0 {
		memtx.OnRollback(ctx, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if _, ok := s.notes[tenant]; !ok {
				s.notes[tenant] = old
			}
		})
	}
	return out, nil
}
