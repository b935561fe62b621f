package postgres

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/vat"
)

// billingContentJSON is the Art. 226 content frozen at issue, stored as billing_invoices.content.
type billingContentJSON struct {
	Kind         billing.DocumentKind  `json:"kind"`
	Seller       *billing.Party        `json:"seller"`
	Buyer        *billing.Party        `json:"buyer"`
	VAT          *billing.VATTreatment `json:"vat"`
	Breakdown    []billing.VATSubtotal `json:"breakdown"`
	PaymentTerms string                `json:"payment_terms"`
	Lines        []billingLineVATJSON  `json:"lines"`
	Documents    []billing.Document    `json:"documents"`
}

type billingLineVATJSON struct {
	ID       int             `json:"id"`
	Category vat.Category    `json:"category"`
	Percent  decimal.Decimal `json:"percent"`
}

// billingContent returns the content column of inv (nil for legacy invoices).
func billingContent(inv billing.Invoice) ([]byte, error) {
	if inv.VAT == nil {
		return nil, nil
	}
	c := billingContentJSON{Kind: inv.Kind, Seller: inv.Seller, Buyer: inv.Buyer, VAT: inv.VAT, Breakdown: inv.Breakdown,
		PaymentTerms: inv.PaymentTerms, Documents: inv.Documents}
	for _, l := range inv.Lines {
		c.Lines = append(c.Lines, billingLineVATJSON{ID: l.ID, Category: l.VATCategory, Percent: l.VATPercent})
	}
	return json.Marshal(c)
}

// billingApplyContent sets the frozen invoice-level content on inv; the lines' VAT comes
// with the lines (billingLoadLineVAT).
func billingApplyContent(inv *billing.Invoice, raw []byte) error {
	if raw == nil {
		return nil
	}
	var c billingContentJSON
	if err := json.Unmarshal(raw, &c); err != nil {
		return err
	}
	inv.Kind, inv.Seller, inv.Buyer, inv.VAT, inv.Breakdown, inv.PaymentTerms, inv.Documents =
		c.Kind, c.Seller, c.Buyer, c.VAT, c.Breakdown, c.PaymentTerms, c.Documents
	return nil
}

// billingLoadLineVAT sets each loaded line's number, VAT category and rate from the frozen
// content (lines are stored in order, so content line i is line i).
func billingLoadLineVAT(ctx context.Context, tx pgx.Tx, invs []billing.Invoice, idx map[uuid.UUID]int, ids []uuid.UUID) error {
	rows, err := tx.Query(ctx, `SELECT id, content->'lines' FROM billing_invoices WHERE id = ANY($1) AND content IS NOT NULL`, ids)
	if err != nil {
		return err
	}
	var id uuid.UUID
	var raw []byte
	_, err = pgx.ForEachRow(rows, []any{&id, &raw}, func() error {
		var lines []billingLineVATJSON
		if err := json.Unmarshal(raw, &lines); err != nil {
			return err
		}
		inv := &invs[idx[id]]
		for i := range inv.Lines {
			if i < len(lines) {
				inv.Lines[i].ID, inv.Lines[i].VATCategory, inv.Lines[i].VATPercent = lines[i].ID, lines[i].Category, lines[i].Percent
			}
		}
		return nil
	})
	return err
}

// BillingProfileStore implements billing.ProfileStore: the seller and the rate overrides in
// the platform schema, each tenant's profile in its own schema.
type BillingProfileStore struct{ db *DB }

var _ billing.ProfileStore = (*BillingProfileStore)(nil)

// NewBillingProfileStore returns the store.
func NewBillingProfileStore(db *DB) *BillingProfileStore { return &BillingProfileStore{db: db} }

// Seller implements billing.ProfileStore.
func (s *BillingProfileStore) Seller(ctx context.Context) (billing.Seller, bool, error) {
	var raw []byte
	err := s.db.InTx(ctx, func(ctx context.Context) error {
		return s.db.q(ctx).QueryRow(ctx, `SELECT seller FROM eusaas.billing_seller`).Scan(&raw)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return billing.Seller{}, false, nil
	}
	if err != nil {
		return billing.Seller{}, false, translate(err)
	}
	var sl billing.Seller
	return sl, true, json.Unmarshal(raw, &sl)
}

// SetSeller implements billing.ProfileStore.
func (s *BillingProfileStore) SetSeller(ctx context.Context, sl billing.Seller) error {
	raw, err := json.Marshal(sl)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(ctx context.Context) error {
		_, err := s.db.q(ctx).Exec(ctx, `INSERT INTO eusaas.billing_seller (singleton, seller, updated_at) VALUES (true, $1, now())
			ON CONFLICT (singleton) DO UPDATE SET seller = excluded.seller, updated_at = excluded.updated_at`, raw)
		return translate(err)
	})
}

// Profile implements billing.ProfileStore.
func (s *BillingProfileStore) Profile(ctx context.Context, tenant eusaas.TenantID) (billing.BillingProfile, bool, error) {
	var raw []byte
	err := s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT profile FROM billing_profile`).Scan(&raw)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return billing.BillingProfile{}, false, nil
	}
	if err != nil {
		return billing.BillingProfile{}, false, translate(err)
	}
	var p billing.BillingProfile
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, false, err
	}
	p.TenantID = tenant
	return p, true, nil
}

// SetProfile implements billing.ProfileStore.
func (s *BillingProfileStore) SetProfile(ctx context.Context, p billing.BillingProfile) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return s.db.InTenantTx(ctx, p.TenantID, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO billing_profile (singleton, profile, updated_at) VALUES (true, $1, $2)
			ON CONFLICT (singleton) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at`, raw, p.UpdatedAt)
		return translate(err)
	})
}

// RateOverrides implements billing.ProfileStore.
func (s *BillingProfileStore) RateOverrides(ctx context.Context) ([]billing.VATRate, error) {
	var out []billing.VATRate
	err := s.db.InTx(ctx, func(ctx context.Context) error {
		rows, err := s.db.q(ctx).Query(ctx, `SELECT country, valid_from, percent::text FROM eusaas.billing_tax_rate_overrides ORDER BY country, valid_from`)
		if err != nil {
			return err
		}
		var r billing.VATRate
		var pct string
		_, err = pgx.ForEachRow(rows, []any{&r.Country, &r.From, &pct}, func() error {
			p, err := decimal.NewFromString(pct)
			if err != nil {
				return err
			}
			out = append(out, billing.VATRate{Country: r.Country, From: r.From.UTC(), Percent: p})
			return nil
		})
		return err
	})
	return out, translate(err)
}

// SetRateOverride implements billing.ProfileStore.
func (s *BillingProfileStore) SetRateOverride(ctx context.Context, r billing.VATRate) error {
	return s.db.InTx(ctx, func(ctx context.Context) error {
		_, err := s.db.q(ctx).Exec(ctx, `INSERT INTO eusaas.billing_tax_rate_overrides (country, valid_from, percent) VALUES ($1, $2, $3::numeric)
			ON CONFLICT (country, valid_from) DO UPDATE SET percent = excluded.percent`, r.Country, r.From, r.Percent.String())
		return translate(err)
	})
}

// BillingCreditNoteStore implements billing.CreditNoteStore in the tenant's schema.
type BillingCreditNoteStore struct{ db *DB }

var _ billing.CreditNoteStore = (*BillingCreditNoteStore)(nil)

// NewBillingCreditNoteStore returns the store.
func NewBillingCreditNoteStore(db *DB) *BillingCreditNoteStore {
	return &BillingCreditNoteStore{db: db}
}

// Create implements billing.CreditNoteStore. A transaction-scoped advisory lock on the
// credited invoice serialises concurrent credit notes of it, so the limit check and the
// insert see every committed credit.
func (s *BillingCreditNoteStore) Create(ctx context.Context, cn billing.Invoice, limit decimal.Decimal) error {
	if cn.CreditedInvoice == nil {
		return eusaas.E(eusaas.InvalidArgument, "a credit note references its invoice")
	}
	raw, err := json.Marshal(cn)
	if err != nil {
		return err
	}
	inv := cn.CreditedInvoice.ID
	return s.db.InTenantTx(ctx, cn.TenantID, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('billing_credit:' || $1::text))`, inv); err != nil {
			return translate(err)
		}
		var done string
		if err := tx.QueryRow(ctx, `SELECT coalesce(sum(amount), 0)::text FROM billing_credit_note_lines WHERE invoice_id = $1`, inv).Scan(&done); err != nil {
			return translate(err)
		}
		d, err := decimal.NewFromString(done)
		if err != nil {
			return err
		}
		if d.Add(cn.Subtotal).GreaterThan(limit) {
			return billing.ErrOverCredit
		}
		if _, err := tx.Exec(ctx, `INSERT INTO billing_credit_notes (id, number, invoice_id, created_at, doc) VALUES ($1, $2, $3, $4, $5)`,
			cn.ID, cn.Number, inv, cn.CreatedAt, raw); err != nil {
			if billingIsUniqueViolation(err) {
				return eusaas.E(eusaas.AlreadyExists, "credit note number or id already used").Wrap(err)
			}
			return translate(err)
		}
		for _, l := range cn.Lines {
			if _, err := tx.Exec(ctx, `INSERT INTO billing_credit_note_lines (credit_note_id, invoice_id, credited_line, amount) VALUES ($1, $2, $3, $4::numeric)`,
				cn.ID, inv, l.CreditedLine, l.Amount.String()); err != nil {
				return translate(err)
			}
		}
		return nil
	})
}

func billingScanCreditNote(raw []byte, tenant eusaas.TenantID) (billing.Invoice, error) {
	var cn billing.Invoice
	if err := json.Unmarshal(raw, &cn); err != nil {
		return cn, err
	}
	cn.TenantID = tenant
	return cn, nil
}

// Get implements billing.CreditNoteStore.
func (s *BillingCreditNoteStore) Get(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (billing.Invoice, error) {
	var raw []byte
	err := s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT doc FROM billing_credit_notes WHERE id = $1`, id).Scan(&raw)
	})
	if errors.Is(err, pgx.ErrNoRows) || (err != nil && eusaas.KindOf(translate(err)) == eusaas.NotFound) {
		return billing.Invoice{}, billing.ErrCreditNoteNotFound
	}
	if err != nil {
		return billing.Invoice{}, translate(err)
	}
	return billingScanCreditNote(raw, tenant)
}

// List implements billing.CreditNoteStore.
func (s *BillingCreditNoteStore) List(ctx context.Context, tenant eusaas.TenantID, page eusaas.Page) (eusaas.List[billing.Invoice], error) {
	page, err := page.Normalize()
	if err != nil {
		return eusaas.List[billing.Invoice]{}, err
	}
	var out eusaas.List[billing.Invoice]
	err = s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM billing_credit_notes`).Scan(&out.Total); err != nil {
			return translate(err)
		}
		rows, err := tx.Query(ctx, `SELECT doc FROM billing_credit_notes ORDER BY number DESC LIMIT $1 OFFSET $2`, page.Size, page.Offset())
		if err != nil {
			return translate(err)
		}
		out.Items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.Invoice, error) {
			var raw []byte
			if err := r.Scan(&raw); err != nil {
				return billing.Invoice{}, err
			}
			return billingScanCreditNote(raw, tenant)
		})
		return translate(err)
	})
	return out, err
}

// Credited implements billing.CreditNoteStore.
func (s *BillingCreditNoteStore) Credited(ctx context.Context, tenant eusaas.TenantID, invoice uuid.UUID) (map[int]decimal.Decimal, error) {
	out := map[int]decimal.Decimal{}
	err := s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT credited_line, sum(amount)::text FROM billing_credit_note_lines WHERE invoice_id = $1 GROUP BY credited_line`, invoice)
		if err != nil {
			return translate(err)
		}
		var line int
		var amt string
		_, err = pgx.ForEachRow(rows, []any{&line, &amt}, func() error {
			a, err := decimal.NewFromString(amt)
			if err != nil {
				return err
			}
			out[line] = a
			out[0] = out[0].Add(a)
			return nil
		})
		return translate(err)
	})
	return out, err
}

// NextNumber implements billing.CreditNoteStore (row-locked until the transaction ends).
func (s *BillingCreditNoteStore) NextNumber(ctx context.Context, year int) (int64, error) {
	var n int64
	err := s.db.InTx(ctx, func(ctx context.Context) error {
		return translate(s.db.q(ctx).QueryRow(ctx, `INSERT INTO eusaas.billing_credit_note_counters AS c (year, last_number) VALUES ($1, 1)
			ON CONFLICT (year) DO UPDATE SET last_number = c.last_number + 1 RETURNING last_number`, year).Scan(&n))
	})
	return n, err
}
