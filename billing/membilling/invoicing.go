package membilling

import (
	"context"
	"sort"
	"sync"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/memtx"
)

// ProfileStore implements billing.ProfileStore in memory.
type ProfileStore struct {
	mu       sync.Mutex
	seller   *billing.Seller
	profiles map[eusaas.TenantID]billing.BillingProfile
	rates    []billing.VATRate
}

var _ billing.ProfileStore = (*ProfileStore)(nil)

// NewProfileStore returns an empty store.
func NewProfileStore() *ProfileStore {
	return &ProfileStore{profiles: map[eusaas.TenantID]billing.BillingProfile{}}
}

// Seller implements billing.ProfileStore.
func (s *ProfileStore) Seller(ctx context.Context) (billing.Seller, bool, error) {
	if err := ctx.Err(); err != nil {
		return billing.Seller{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seller == nil {
		return billing.Seller{}, false, nil
	}
	return *s.seller, true, nil
}

// SetSeller implements billing.ProfileStore.
func (s *ProfileStore) SetSeller(ctx context.Context, sl billing.Seller) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	old := s.seller
	s.seller = &sl
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() { s.mu.Lock(); s.seller = old; s.mu.Unlock() })
	return nil
}

// Profile implements billing.ProfileStore.
func (s *ProfileStore) Profile(ctx context.Context, tenant eusaas.TenantID) (billing.BillingProfile, bool, error) {
	if err := ctx.Err(); err != nil {
		return billing.BillingProfile{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.profiles[tenant]
	return p, ok, nil
}

// SetProfile implements billing.ProfileStore.
func (s *ProfileStore) SetProfile(ctx context.Context, p billing.BillingProfile) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	old, had := s.profiles[p.TenantID]
	s.profiles[p.TenantID] = p
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if had {
			s.profiles[p.TenantID] = old
		} else {
			delete(s.profiles, p.TenantID)
		}
	})
	return nil
}

// RateOverrides implements billing.ProfileStore.
func (s *ProfileStore) RateOverrides(ctx context.Context) ([]billing.VATRate, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]billing.VATRate(nil), s.rates...), nil
}

// SetRateOverride implements billing.ProfileStore.
func (s *ProfileStore) SetRateOverride(ctx context.Context, r billing.VATRate) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	old := append([]billing.VATRate(nil), s.rates...)
	replaced := false
	for i := range s.rates {
		if s.rates[i].Country == r.Country && s.rates[i].From.Equal(r.From) {
			s.rates[i], replaced = r, true
		}
	}
	if !replaced {
		s.rates = append(s.rates, r)
	}
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() { s.mu.Lock(); s.rates = old; s.mu.Unlock() })
	return nil
}

// CreditNoteStore implements billing.CreditNoteStore in memory.
type CreditNoteStore struct {
	mu       sync.Mutex
	notes    map[eusaas.TenantID]map[uuid.UUID]billing.Invoice
	counters map[int]int64
}

var _ billing.CreditNoteStore = (*CreditNoteStore)(nil)

// NewCreditNoteStore returns an empty store.
func NewCreditNoteStore() *CreditNoteStore {
	return &CreditNoteStore{notes: map[eusaas.TenantID]map[uuid.UUID]billing.Invoice{}, counters: map[int]int64{}}
}

func (s *CreditNoteStore) credited(tenant eusaas.TenantID, invoice uuid.UUID) map[int]decimal.Decimal {
	out := map[int]decimal.Decimal{}
	for _, cn := range s.notes[tenant] {
		if cn.CreditedInvoice == nil || cn.CreditedInvoice.ID != invoice {
			continue
		}
		for _, l := range cn.Lines {
			out[l.CreditedLine] = out[l.CreditedLine].Add(l.Amount)
			out[0] = out[0].Add(l.Amount)
		}
	}
	return out
}

// Create implements billing.CreditNoteStore.
func (s *CreditNoteStore) Create(ctx context.Context, cn billing.Invoice, limit decimal.Decimal) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if cn.CreditedInvoice == nil {
		return eusaas.E(eusaas.InvalidArgument, "a credit note references its invoice")
	}
	s.mu.Lock()
	if s.credited(cn.TenantID, cn.CreditedInvoice.ID)[0].Add(cn.Subtotal).GreaterThan(limit) {
		s.mu.Unlock()
		return billing.ErrOverCredit
	}
	m := s.notes[cn.TenantID]
	if m == nil {
		m = map[uuid.UUID]billing.Invoice{}
		s.notes[cn.TenantID] = m
	}
	m[cn.ID] = billingCopyInvoice(cn)
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() { s.mu.Lock(); delete(m, cn.ID); s.mu.Unlock() })
	return nil
}

// Get implements billing.CreditNoteStore.
func (s *CreditNoteStore) Get(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (billing.Invoice, error) {
	if err := ctx.Err(); err != nil {
		return billing.Invoice{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cn, ok := s.notes[tenant][id]
	if !ok {
		return billing.Invoice{}, billing.ErrCreditNoteNotFound
	}
	return billingCopyInvoice(cn), nil
}

// List implements billing.CreditNoteStore.
func (s *CreditNoteStore) List(ctx context.Context, tenant eusaas.TenantID, page eusaas.Page) (eusaas.List[billing.Invoice], error) {
	if err := ctx.Err(); err != nil {
		return eusaas.List[billing.Invoice]{}, err
	}
	page, err := page.Normalize()
	if err != nil {
		return eusaas.List[billing.Invoice]{}, err
	}
	s.mu.Lock()
	var all []billing.Invoice
	for _, cn := range s.notes[tenant] {
		all = append(all, billingCopyInvoice(cn))
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].Number > all[j].Number })
	out := eusaas.List[billing.Invoice]{Total: len(all)}
	lo := (page.Page - 1) * page.Size
	if lo < len(all) {
		out.Items = all[lo:min(lo+page.Size, len(all))]
	}
	return out, nil
}

// Credited implements billing.CreditNoteStore.
func (s *CreditNoteStore) Credited(ctx context.Context, tenant eusaas.TenantID, invoice uuid.UUID) (map[int]decimal.Decimal, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.credited(tenant, invoice), nil
}

// NextNumber implements billing.CreditNoteStore.
func (s *CreditNoteStore) NextNumber(ctx context.Context, year int) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	s.counters[year]++
	n := s.counters[year]
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() { s.mu.Lock(); s.counters[year]--; s.mu.Unlock() })
	return n, nil
}
