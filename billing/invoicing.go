package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing/vat"
)

func (s *Service) needProfiles() error {
	if s.profiles == nil {
		return eusaas.E(eusaas.FailedPrecondition, "billing identities are not configured on this server")
	}
	return nil
}

// Seller returns the seller identity; ErrSellerNotConfigured when never set.
func (s *Service) Seller(ctx context.Context) (Seller, error) {
	if err := s.needProfiles(); err != nil {
		return Seller{}, err
	}
	sl, ok, err := s.profiles.Seller(ctx)
	if err == nil && !ok {
		err = ErrSellerNotConfigured
	}
	return sl, err
}

// SetSeller validates and stores the seller identity. Invoices already issued keep the
// seller block they were issued with.
func (s *Service) SetSeller(ctx context.Context, sl Seller) (Seller, error) {
	if err := s.needProfiles(); err != nil {
		return Seller{}, err
	}
	sl, err := sl.validate()
	if err != nil {
		return Seller{}, err
	}
	return sl, s.profiles.SetSeller(ctx, sl)
}

// BillingProfile returns the tenant's billing profile; ErrNoBillingProfile when never set.
func (s *Service) BillingProfile(ctx context.Context, tenant eusaas.TenantID) (BillingProfile, error) {
	if err := s.needProfiles(); err != nil {
		return BillingProfile{}, err
	}
	p, ok, err := s.profiles.Profile(ctx, tenant)
	if err == nil && !ok {
		err = ErrNoBillingProfile
	}
	return p, err
}

// ErrVATIDNotValid is VIES saying the VAT id does not exist.
var ErrVATIDNotValid = eusaas.Sentinel(eusaas.InvalidArgument, "vat_id_not_valid", "VIES reports the VAT id as not valid")

// SetBillingProfile validates and stores the tenant's profile. A business VAT id is checked
// with VIES: valid → verified (evidence stored); VIES unreachable → unverified (a job
// re-checks); VIES says not valid → refused, nothing stored.
func (s *Service) SetBillingProfile(ctx context.Context, p BillingProfile) (BillingProfile, error) {
	if err := s.needProfiles(); err != nil {
		return BillingProfile{}, err
	}
	p, err := p.validate()
	if err != nil {
		return BillingProfile{}, err
	}
	p.Verification, p.Evidence = vat.NoID, nil
	if p.VATID != "" {
		if old, ok, err := s.profiles.Profile(ctx, p.TenantID); err != nil {
			return BillingProfile{}, err
		} else if ok && old.VATID == p.VATID && old.Verification == vat.Verified {
			p.Verification, p.Evidence = old.Verification, old.Evidence // same id: keep the evidence
		} else if err := s.verify(ctx, &p); err != nil {
			return BillingProfile{}, err
		}
	}
	p.UpdatedAt = s.o.Clock.Now().UTC()
	if err := s.profiles.SetProfile(ctx, p); err != nil {
		return BillingProfile{}, err
	}
	return p, nil
}

func (s *Service) verify(ctx context.Context, p *BillingProfile) error {
	p.Verification = vat.Unverified
	if s.vies == nil {
		return nil
	}
	id, _, _ := vat.ParseID(p.VATID)
	seller, _, err := s.profiles.Seller(ctx)
	if err != nil {
		return err
	}
	ev, err := s.vies.Check(ctx, id, seller.VATID)
	switch {
	case eusaas.KindOf(err) == eusaas.Unavailable:
		return nil
	case err != nil:
		return err
	case !ev.Valid:
		return ErrVATIDNotValid.Withf("VIES reports %s as not valid", p.VATID)
	}
	p.Verification, p.Evidence = vat.Verified, &ev
	return nil
}

// RecheckVATID asks VIES again about an unverified id of the tenant (the re-check job).
// It reports the resulting state; a now-invalid id becomes "invalid" (VAT is then charged).
func (s *Service) RecheckVATID(ctx context.Context, tenant eusaas.TenantID) (vat.Verification, error) {
	p, err := s.BillingProfile(ctx, tenant)
	if err != nil || p.Verification != vat.Unverified {
		return p.Verification, err
	}
	err = s.verify(ctx, &p)
	if err != nil && !errors.Is(err, ErrVATIDNotValid) {
		return p.Verification, err
	}
	if err != nil {
		p.Verification = vat.Invalid
	}
	if p.Verification == vat.Unverified {
		return p.Verification, nil
	}
	p.UpdatedAt = s.o.Clock.Now().UTC()
	return p.Verification, s.profiles.SetProfile(ctx, p)
}

// TaxRates returns the rate table in force: the standard rates overlaid with operator
// overrides.
func (s *Service) TaxRates(ctx context.Context) (vat.RateTable, error) {
	var over []vat.Rate
	if s.profiles != nil {
		var err error
		if over, err = s.profiles.RateOverrides(ctx); err != nil {
			return vat.RateTable{}, err
		}
	}
	return vat.NewRateTable(vat.StandardRates, over...), nil
}

// SetTaxRateOverride adds or replaces an operator rate (a state's new rate from a date).
func (s *Service) SetTaxRateOverride(ctx context.Context, r vat.Rate) error {
	if err := s.needProfiles(); err != nil {
		return err
	}
	var v eusaas.Violations
	r.Country = vat.NormalizeCountry(r.Country)
	if !vat.InEU(r.Country) {
		v.Add("body.country", "must be an EU member state")
	}
	if r.Percent.IsNegative() || r.Percent.GreaterThanOrEqual(decimal.NewFromInt(100)) || r.Percent.Exponent() < -2 {
		v.Add("body.percent", "must be in [0, 100) with at most 2 decimals")
	}
	if r.From.Year() < MinInvoiceYear || !r.From.Equal(Day(r.From)) {
		v.Add("body.from", fmt.Sprintf("must be a date of %d or later", MinInvoiceYear))
	}
	if err := v.Err(); err != nil {
		return err
	}
	return s.profiles.SetRateOverride(ctx, r)
}

// treatment decides the VAT of an invoice to buyer on date.
func (s *Service) treatment(ctx context.Context, seller Seller, buyer BillingProfile, date time.Time) (VATTreatment, error) {
	rates, err := s.TaxRates(ctx)
	if err != nil {
		return VATTreatment{}, err
	}
	d, err := vat.Decide(vat.Settings{SellerCountry: seller.Address.Country, UnverifiedPolicy: s.o.UnverifiedPolicy, BelowOSSThreshold: s.o.BelowOSSThreshold},
		vat.Buyer{Country: buyer.Address.Country, Type: buyer.CustomerType, VATID: buyer.VATID, Verification: buyer.Verification}, rates, date)
	if err != nil {
		return VATTreatment{}, eusaas.Errorf(eusaas.FailedPrecondition, "cannot determine VAT: %v", err)
	}
	t := VATTreatment{Rule: d.Rule, Category: d.Category, Country: d.Country, Percent: d.Percent, Reason: d.Reason,
		ExemptionText: d.ExemptionText, ExemptionCode: d.ExemptionCode}
	if buyer.Type() == vat.Business && buyer.VATID != "" && buyer.Verification == vat.Unverified {
		t.Policy = s.o.UnverifiedPolicy
	}
	return t, nil
}

// Type is the profile's customer type.
func (p BillingProfile) Type() vat.CustomerType { return p.CustomerType }

// completeAtIssue copies seller and buyer onto the invoice, applies the VAT treatment of
// the issue date, and renders the documents, once. Without a ProfileStore or a configured
// seller it does nothing (legacy flat tax rate).
func (s *Service) completeAtIssue(ctx context.Context, inv *Invoice) error {
	if s.profiles == nil {
		return nil
	}
	// Until an operator sets the seller identity the server issues the legacy invoices (flat
	// tax rate, no parties): setting it switches every later issue to full invoice content.
	seller, ok, err := s.profiles.Seller(ctx)
	if err != nil || !ok {
		return err
	}
	buyer, ok, err := s.profiles.Profile(ctx, inv.TenantID)
	if err != nil {
		return err
	}
	if !ok {
		return ErrIssueWithoutProfile
	}
	t, err := s.treatment(ctx, seller, buyer, *inv.IssuedAt)
	if err != nil {
		return err
	}
	inv.Seller = &Party{LegalName: seller.LegalName, Address: seller.Address, VATID: seller.VATID, Email: seller.Email, IBAN: seller.IBAN, BIC: seller.BIC}
	inv.Buyer = &Party{LegalName: buyer.LegalName, Address: buyer.Address, VATID: buyer.VATID, Email: buyer.Email,
		CustomerType: buyer.CustomerType, Verification: buyer.Verification}
	inv.Kind = KindInvoice
	inv.PaymentTerms = fmt.Sprintf("Payment within %d days of the issue date, by %s", int(s.o.PaymentTerms/(24*time.Hour)), inv.DueDate.Format("2006-01-02"))
	if seller.IBAN != "" {
		inv.PaymentTerms += ", by SEPA credit transfer to " + seller.IBAN
	}
	inv.applyTreatment(t)
	if len(inv.Lines) == 0 {
		// Nothing was used: EN 16931 documents need at least one line (BR-16), so an empty
		// month is issued (its number used, the series stays gap-free) without documents.
		return nil
	}
	return s.render(inv)
}

func (s *Service) render(inv *Invoice) error {
	inv.Documents = nil
	for _, r := range s.renderers {
		d, err := r.Render(*inv)
		if err != nil {
			return eusaas.Errorf(eusaas.Internal, "render %s: %w", r.Format(), err)
		}
		inv.Documents = append(inv.Documents, d)
	}
	return nil
}
