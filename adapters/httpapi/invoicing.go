package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/vat"
)

type billingAddress struct {
	Line1      string `json:"line1" maxLength:"200"`
	Line2      string `json:"line2,omitempty" maxLength:"200"`
	PostalCode string `json:"postal_code,omitempty" maxLength:"200"`
	City       string `json:"city" maxLength:"200"`
	Country    string `json:"country" maxLength:"2" doc:"ISO 3166-1 alpha-2 (EL accepted for Greece)"`
}

func (a billingAddress) domain() billing.Address {
	return billing.Address{Line1: a.Line1, Line2: a.Line2, PostalCode: a.PostalCode, City: a.City, Country: a.Country}
}

func billingAddressBody(a billing.Address) billingAddress {
	return billingAddress{Line1: a.Line1, Line2: a.Line2, PostalCode: a.PostalCode, City: a.City, Country: a.Country}
}

type billingSeller struct {
	LegalName string         `json:"legal_name" maxLength:"200"`
	Address   billingAddress `json:"address"`
	VATID     string         `json:"vat_id" maxLength:"20"`
	Email     string         `json:"email" maxLength:"200"`
	IBAN      string         `json:"iban,omitempty" maxLength:"40"`
	BIC       string         `json:"bic,omitempty" maxLength:"11"`
}

type billingSellerOutput struct{ Body billingSeller }
type billingSellerInput struct{ Body billingSeller }

type billingVIESEvidence struct {
	Valid             bool      `json:"valid"`
	Name              string    `json:"name"`
	Address           string    `json:"address"`
	RequestDate       time.Time `json:"request_date"`
	RequestIdentifier string    `json:"request_identifier"`
	CheckedAt         time.Time `json:"checked_at"`
}

type billingProfileBody struct {
	LegalName    string         `json:"legal_name" maxLength:"200"`
	Address      billingAddress `json:"address"`
	Email        string         `json:"email" maxLength:"200"`
	CustomerType string         `json:"customer_type" enum:"BUSINESS,CONSUMER"`
	VATID        string         `json:"vat_id,omitempty" maxLength:"20"`
}

// billingProfile spells out billingProfileBody's fields instead of embedding it: huma leaves
// an embedded unexported struct out of the schema, and generated clients then refuse the
// fields they were never told about.
type billingProfile struct {
	LegalName       string               `json:"legal_name"`
	Address         billingAddress       `json:"address"`
	Email           string               `json:"email"`
	CustomerType    string               `json:"customer_type" enum:"BUSINESS,CONSUMER"`
	VATID           string               `json:"vat_id,omitempty"`
	VATVerification string               `json:"vat_verification" enum:"verified,invalid,unverified,none"`
	VIESEvidence    *billingVIESEvidence `json:"vies_evidence,omitempty" doc:"the VIES answer kept as evidence; absent until VIES was asked"`
}

type billingProfileInput struct {
	ID   string `path:"id"`
	Body billingProfileBody
}
type billingProfileGetInput struct {
	ID string `path:"id"`
}
type billingProfileOutput struct{ Body billingProfile }

type billingTaxRate struct {
	Country string `json:"country"`
	Percent string `json:"percent"`
	From    string `json:"from" doc:"first day the rate applies, YYYY-MM-DD"`
}
type billingTaxRatesOutput struct {
	Body struct {
		Rates []billingTaxRate `json:"rates"`
	}
}
type billingTaxRateInput struct {
	Body struct {
		Country string `json:"country" maxLength:"2"`
		Percent string `json:"percent" maxLength:"6"`
		From    string `json:"from" maxLength:"10"`
	}
}

type billingCreditLineIn struct {
	LineID   int     `json:"line_id"`
	Quantity *string `json:"quantity,omitempty" maxLength:"40"`
	Amount   *string `json:"amount,omitempty" maxLength:"40"`
}
type billingCreditInput struct {
	ID        string `path:"id"`
	InvoiceID string `path:"inv_id"`
	Body      struct {
		Reason string                `json:"reason" maxLength:"200"`
		Lines  []billingCreditLineIn `json:"lines,omitempty" maxItems:"1000"`
	}
}
type billingCreditNotesInput struct {
	ID string `path:"id"`
	PageQuery
}
type billingCreditNotesOutput struct{ Body Paginated[billingInvoice] }
type billingCreditNoteInput struct {
	ID           string `path:"id"`
	CreditNoteID string `path:"cn_id"`
}

type billingDocumentOutput struct {
	ContentType string `header:"Content-Type"`
	Digest      string `header:"Repr-Digest" doc:"sha-256 of the stored bytes"`
	Body        []byte
}

// RegisterInvoicing adds the invoicing identity routes (seller, billing profiles, tax
// rates), credit notes and the stored documents of invoices and credit notes.
func RegisterInvoicing(s *Server, svc *billing.Service) {
	tags := []string{"Billing"}
	Register(s, huma.Operation{
		OperationID: "get-seller", Method: http.MethodGet, Path: "/api/v1/billing/seller", Tags: tags,
		Security: BearerAuth, Summary: "The seller identity printed on invoices (operators)",
	}, func(ctx context.Context, _ *struct{}) (*billingSellerOutput, error) {
		if _, err := s.Operator(ctx); err != nil {
			return nil, err
		}
		sl, err := svc.Seller(ctx)
		if err != nil {
			return nil, err
		}
		return &billingSellerOutput{Body: billingSellerBody(sl)}, nil
	})
	Register(s, huma.Operation{
		OperationID: "put-seller", Method: http.MethodPut, Path: "/api/v1/billing/seller", Tags: tags,
		Security: BearerAuth, Summary: "Set the seller identity (operators)",
		Description: "Applies to invoices issued from now on; issued invoices keep the seller block they were issued with.",
	}, func(ctx context.Context, in *billingSellerInput) (*billingSellerOutput, error) {
		if _, err := s.Operator(ctx); err != nil {
			return nil, err
		}
		b := in.Body
		sl, err := svc.SetSeller(ctx, billing.Seller{LegalName: b.LegalName, Address: b.Address.domain(), VATID: b.VATID, Email: b.Email, IBAN: b.IBAN, BIC: b.BIC})
		if err != nil {
			return nil, err
		}
		return &billingSellerOutput{Body: billingSellerBody(sl)}, nil
	})
	Register(s, huma.Operation{
		OperationID: "get-billing-profile", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/billing-profile", Tags: tags,
		Security: BearerAuth, Summary: "The tenant's buyer identity and VAT id verification",
	}, func(ctx context.Context, in *billingProfileGetInput) (*billingProfileOutput, error) {
		tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermBillingRead)
		if err != nil {
			return nil, err
		}
		p, err := svc.BillingProfile(ctx, tenant)
		if err != nil {
			return nil, err
		}
		return &billingProfileOutput{Body: billingProfileOut(p)}, nil
	})
	Register(s, huma.Operation{
		OperationID: "put-billing-profile", Method: http.MethodPut, Path: "/api/v1/tenants/{id}/billing-profile", Tags: tags,
		Security: BearerAuth, Summary: "Set the tenant's buyer identity (OWNER, ADMIN, operators)",
		Description: "The VAT id is checked for its country's format and check digits; a business VAT id is verified with VIES " +
			"(evidence stored). When VIES cannot be reached the id stays unverified and APP_VAT_UNVERIFIED_POLICY decides at issue.",
	}, func(ctx context.Context, in *billingProfileInput) (*billingProfileOutput, error) {
		tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermBillingWrite)
		if err != nil {
			return nil, err
		}
		b := in.Body
		p, err := svc.SetBillingProfile(ctx, billing.BillingProfile{TenantID: tenant, LegalName: b.LegalName, Address: b.Address.domain(),
			Email: b.Email, CustomerType: vat.CustomerType(b.CustomerType), VATID: b.VATID})
		if err != nil {
			return nil, err
		}
		return &billingProfileOutput{Body: billingProfileOut(p)}, nil
	})
	Register(s, huma.Operation{
		OperationID: "list-tax-rates", Method: http.MethodGet, Path: "/api/v1/billing/tax-rates", Tags: tags,
		Security: BearerAuth, Summary: "Standard VAT rates of the member states with their effective dates, operator overrides applied (operators)",
	}, func(ctx context.Context, _ *struct{}) (*billingTaxRatesOutput, error) {
		if _, err := s.Operator(ctx); err != nil {
			return nil, err
		}
		t, err := svc.TaxRates(ctx)
		if err != nil {
			return nil, err
		}
		out := &billingTaxRatesOutput{}
		out.Body.Rates = []billingTaxRate{}
		for _, r := range t.All() {
			out.Body.Rates = append(out.Body.Rates, billingTaxRate{Country: r.Country, Percent: r.Percent.String(), From: r.From.Format(billingDay)})
		}
		return out, nil
	})
	Register(s, huma.Operation{
		OperationID: "put-tax-rate", Method: http.MethodPost, Path: "/api/v1/billing/tax-rates", Tags: tags,
		Security: BearerAuth, Summary: "Add or replace a member state's standard rate from a date (operators)",
		DefaultStatus: http.StatusCreated,
	}, func(ctx context.Context, in *billingTaxRateInput) (*billingTaxRatesOutput, error) {
		if _, err := s.Operator(ctx); err != nil {
			return nil, err
		}
		var v eusaas.Violations
		pct, err := decimal.NewFromString(in.Body.Percent)
		if err != nil {
			v.Add("body.percent", "must be a decimal string")
		}
		from, err := time.Parse(billingDay, in.Body.From)
		if err != nil {
			v.Add("body.from", "must be a date YYYY-MM-DD")
		}
		if err := v.Err(); err != nil {
			return nil, err
		}
		if err := svc.SetTaxRateOverride(ctx, vat.Rate{Country: in.Body.Country, Percent: pct, From: from}); err != nil {
			return nil, err
		}
		out := &billingTaxRatesOutput{}
		out.Body.Rates = []billingTaxRate{{Country: vat.NormalizeCountry(in.Body.Country), Percent: pct.String(), From: from.Format(billingDay)}}
		return out, nil
	})

	Register(s, huma.Operation{
		OperationID: "create-credit-note", Method: http.MethodPost, Path: "/api/v1/tenants/{id}/invoices/{inv_id}/credit-notes", Tags: tags,
		Security: BearerAuth, Summary: "Credit an issued invoice (operators)", DefaultStatus: http.StatusCreated,
		Description: "No lines: credit whatever remains of every line. Credit notes have their own gap-free series CN-YYYY-NNNNNN " +
			"and the invoice's VAT treatment. Crediting beyond the invoice is 409; a fully credited invoice becomes CREDITED.",
	}, func(ctx context.Context, in *billingCreditInput) (*billingInvoiceOutput, error) {
		tenant, err := billingOperatorTenant(ctx, s, in.ID)
		if err != nil {
			return nil, err
		}
		id, err := billingParseInvoiceID(in.InvoiceID)
		if err != nil {
			return nil, err
		}
		var v eusaas.Violations
		lines := make([]billing.CreditLine, len(in.Body.Lines))
		for i, l := range in.Body.Lines {
			lines[i].LineID = l.LineID
			parse := func(name string, s *string) *decimal.Decimal {
				if s == nil {
					return nil
				}
				d, err := decimal.NewFromString(*s)
				if err != nil {
					v.Add(fmt.Sprintf("body.lines[%d].%s", i, name), "must be a decimal string")
					return nil
				}
				return &d
			}
			lines[i].Quantity, lines[i].Amount = parse("quantity", l.Quantity), parse("amount", l.Amount)
		}
		if err := v.Err(); err != nil {
			return nil, err
		}
		cn, err := svc.CreditInvoice(ctx, tenant, id, in.Body.Reason, lines)
		if err != nil {
			return nil, err
		}
		return &billingInvoiceOutput{Body: billingInvoiceBody(cn)}, nil
	})
	Register(s, huma.Operation{
		OperationID: "list-credit-notes", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/credit-notes", Tags: tags,
		Security: BearerAuth, Summary: "List credit notes",
	}, func(ctx context.Context, in *billingCreditNotesInput) (*billingCreditNotesOutput, error) {
		tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermBillingRead)
		if err != nil {
			return nil, err
		}
		page := in.ToPage()
		l, err := svc.CreditNotes(ctx, tenant, page)
		if err != nil {
			return nil, err
		}
		items := make([]billingInvoice, len(l.Items))
		for i, cn := range l.Items {
			items[i] = billingInvoiceBody(cn)
		}
		return &billingCreditNotesOutput{Body: NewPaginated(items, l.Total, page)}, nil
	})
	Register(s, huma.Operation{
		OperationID: "get-credit-note", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/credit-notes/{cn_id}", Tags: tags,
		Security: BearerAuth, Summary: "Get a credit note",
	}, func(ctx context.Context, in *billingCreditNoteInput) (*billingInvoiceOutput, error) {
		cn, err := creditNote(ctx, s, svc, in)
		if err != nil {
			return nil, err
		}
		return &billingInvoiceOutput{Body: billingInvoiceBody(cn)}, nil
	})
	for _, f := range []struct{ format, summary, mediaType string }{
		{billing.FormatPDF, "PDF", "application/pdf"},
		{billing.FormatUBL, "UBL 2.1 (EN 16931)", "application/xml"}, {billing.FormatCII, "UN/CEFACT CII D16B (EN 16931)", "application/xml"},
	} {
		Register(s, huma.Operation{
			OperationID: "get-invoice-" + f.format, Method: http.MethodGet, Path: "/api/v1/tenants/{id}/invoices/{inv_id}/" + f.format, Tags: tags,
			Security: BearerAuth, Summary: "The invoice as " + f.summary + ", rendered once at issue and stored unchanged",
			Responses: documentResponse(f.mediaType),
		}, func(ctx context.Context, in *billingInvoiceInput) (*billingDocumentOutput, error) {
			tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermBillingRead)
			if err != nil {
				return nil, err
			}
			id, err := billingParseInvoiceID(in.InvoiceID)
			if err != nil {
				return nil, err
			}
			inv, err := svc.Invoice(ctx, tenant, id)
			if err != nil {
				return nil, err
			}
			return documentOut(inv, f.format)
		})
		Register(s, huma.Operation{
			OperationID: "get-credit-note-" + f.format, Method: http.MethodGet, Path: "/api/v1/tenants/{id}/credit-notes/{cn_id}/" + f.format, Tags: tags,
			Security: BearerAuth, Summary: "The credit note as " + f.summary + ", rendered once at issue and stored unchanged",
			Responses: documentResponse(f.mediaType),
		}, func(ctx context.Context, in *billingCreditNoteInput) (*billingDocumentOutput, error) {
			cn, err := creditNote(ctx, s, svc, in)
			if err != nil {
				return nil, err
			}
			return documentOut(cn, f.format)
		})
	}
}

// documentResponse declares what the document routes send: the stored bytes (XML or PDF),
// not the base64 JSON string huma would infer from a []byte body (generated clients then
// refuse the real answer). Huma adds the output struct's headers to it.
func documentResponse(mediaType string) map[string]*huma.Response {
	return map[string]*huma.Response{"200": {Description: "The stored document, as rendered at issue",
		Content: map[string]*huma.MediaType{mediaType: {Schema: &huma.Schema{Type: huma.TypeString, Format: "binary"}}}}}
}

var errNoDocument = eusaas.Sentinel(eusaas.NotFound, "document_not_found", "no such document: documents exist for invoices issued with full invoice content")

func documentOut(inv billing.Invoice, format string) (*billingDocumentOutput, error) {
	d, ok := inv.Document(format)
	if !ok {
		return nil, errNoDocument
	}
	return &billingDocumentOutput{ContentType: d.MediaType, Digest: "sha-256=:" + d.SHA256 + ":", Body: d.Content}, nil
}

func creditNote(ctx context.Context, s *Server, svc *billing.Service, in *billingCreditNoteInput) (billing.Invoice, error) {
	tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermBillingRead)
	if err != nil {
		return billing.Invoice{}, err
	}
	id, err := billingParseInvoiceID(in.CreditNoteID)
	if err != nil {
		return billing.Invoice{}, eusaas.Invalid("invalid credit note id", eusaas.FieldViolation{Location: "path.cn_id", Message: "must be a UUID"})
	}
	return svc.CreditNote(ctx, tenant, id)
}

func billingSellerBody(s billing.Seller) billingSeller {
	return billingSeller{LegalName: s.LegalName, Address: billingAddressBody(s.Address), VATID: s.VATID, Email: s.Email, IBAN: s.IBAN, BIC: s.BIC}
}

func billingProfileOut(p billing.BillingProfile) billingProfile {
	out := billingProfile{LegalName: p.LegalName, Address: billingAddressBody(p.Address), Email: p.Email,
		CustomerType: string(p.CustomerType), VATID: p.VATID, VATVerification: string(p.Verification)}
	if e := p.Evidence; e != nil {
		out.VIESEvidence = &billingVIESEvidence{Valid: e.Valid, Name: e.Name, Address: e.Address, RequestDate: e.RequestDate,
			RequestIdentifier: e.RequestIdentifier, CheckedAt: e.CheckedAt}
	}
	return out
}
