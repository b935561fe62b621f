package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/billing"
)

// BillingQuantity is a usage quantity as sent on the wire: a JSON string holding a decimal,
// or a bare JSON number. It keeps the token's text exactly as written, so the value is
// parsed by billing.ParseQuantity and never passes through a float64.
type BillingQuantity struct {
	Text  string
	valid bool // a string or a number token (not null, bool, object)
}

// UnmarshalJSON keeps the raw token. It never fails on content, so the handler can report a
// bad quantity against its exact field location.
func (q *BillingQuantity) UnmarshalJSON(b []byte) error {
	q.Text, q.valid = "", false
	if len(b) == 0 {
		return nil
	}
	switch c := b[0]; {
	case c == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return nil
		}
		q.Text, q.valid = s, true
	case c == '-' || (c >= '0' && c <= '9'):
		q.Text, q.valid = string(b), true
	}
	return nil
}

// MarshalJSON writes the quantity as a JSON string.
func (q BillingQuantity) MarshalJSON() ([]byte, error) { return json.Marshal(q.Text) }

// Schema documents the two accepted forms.
func (BillingQuantity) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{
		Description: "Non-negative decimal quantity in the resource's unit: a decimal string (preferred, e.g. \"12.5\") or a JSON number, parsed exactly (never through binary floating point). At most 18 fractional digits, less than 10^15.",
		OneOf:       []*huma.Schema{{Type: huma.TypeString, Examples: []any{"12.5"}}, {Type: huma.TypeNumber}},
		// Requests are validated against both forms; the document promises the string
		// only, so generated clients never carry a quantity as a binary float.
		Extensions: map[string]any{docWire: "decimal-string"},
	}
}

type billingUsageEvent struct {
	ID           string            `json:"id" minLength:"1" maxLength:"128" doc:"Idempotency key, unique per tenant for at least 35 days"`
	ResourceType string            `json:"resource_type" pattern:"^[A-Z][A-Z0-9_]{1,63}$" doc:"A metric code: CPU, MEMORY, STORAGE, NETWORK, API_CALLS or a custom metric (GET /billing/metrics)"`
	Quantity     BillingQuantity   `json:"quantity"`
	Timestamp    time.Time         `json:"timestamp" doc:"When the usage happened (RFC 3339); at most 5 minutes in the future, at most 35 days old"`
	Attributes   map[string]string `json:"attributes,omitempty" doc:"At most 32 string attributes"`
}

type billingUsageInput struct {
	ID   string `path:"id" doc:"Tenant id"`
	Body struct {
		Events []billingUsageEvent `json:"events" maxItems:"1000" doc:"At most 1000 events"`
	}
}

type billingEventResult struct {
	ID     string `json:"id"`
	Status string `json:"status" enum:"accepted,duplicate,rejected"`
	Reason string `json:"reason,omitempty"`
	// Warning reports storage usage accepted over the tenant's storage limit (its plan
	// reports rather than refuses: hard_limits off).
	Warning string `json:"warning,omitempty"`
}

type billingUsageOutput struct {
	Body struct {
		Accepted   int                  `json:"accepted"`
		Duplicates int                  `json:"duplicates"`
		Rejected   int                  `json:"rejected"`
		Results    []billingEventResult `json:"results"`
	}
}

type billingLineItem struct {
	Service  string `json:"service" doc:"Resource type"`
	Date     string `json:"date,omitempty" doc:"Day, YYYY-MM-DD (group_by=day: one line per day and service)"`
	Amount   string `json:"amount" doc:"Exact amount (not rounded)"`
	Currency string `json:"currency"`
	Unit     string `json:"unit"`
	Quantity string `json:"quantity" doc:"Decimal string, in unit"`
}

type billingBreakdown struct {
	TenantID    string            `json:"tenant_id"`
	PeriodStart string            `json:"period_start"`
	PeriodEnd   string            `json:"period_end"`
	GroupBy     string            `json:"group_by"`
	TotalAmount string            `json:"total_amount"`
	Currency    string            `json:"currency"`
	LineItems   []billingLineItem `json:"line_items"`
}

type billingBreakdownOutput struct{ Body billingBreakdown }

type billingCostsInput struct {
	ID        string `path:"id"`
	StartDate string `query:"start_date" required:"true" doc:"First day, YYYY-MM-DD"`
	EndDate   string `query:"end_date" required:"true" doc:"Last day (inclusive), YYYY-MM-DD; the range spans at most 366 days"`
	GroupBy   string `query:"group_by" enum:"resource,day" default:"resource"`
}

type billingTenantInput struct {
	ID string `path:"id"`
}

type billingBudget struct {
	Threshold        string `json:"cost_alert_threshold"`
	ProjectedExceeds bool   `json:"projected_exceeds" doc:"projected_total is above the threshold"`
	MayExceed        bool   `json:"may_exceed" doc:"the interval's upper end is above the threshold"`
}

type billingProjectionOutput struct {
	Body struct {
		TenantID               string         `json:"tenant_id"`
		BillingPeriodStart     string         `json:"billing_period_start"`
		BillingPeriodEnd       string         `json:"billing_period_end"`
		ActualToDate           string         `json:"actual_to_date"`
		ProjectedTotal         string         `json:"projected_total"`
		ConfidenceIntervalLow  string         `json:"confidence_interval_low"`
		ConfidenceIntervalHigh string         `json:"confidence_interval_high"`
		ConfidenceLevel        string         `json:"confidence_level"`
		Method                 string         `json:"method" enum:"weekday_profile,linear"`
		HistoryDays            int            `json:"history_days"`
		Currency               string         `json:"currency"`
		Budget                 *billingBudget `json:"budget,omitempty" doc:"Present when the tenant has a cost_alert_threshold"`
	}
}

type billingInvoiceLine struct {
	Service      string `json:"service"`
	Description  string `json:"description"`
	Unit         string `json:"unit"`
	Quantity     string `json:"quantity"`
	Amount       string `json:"amount"`
	Currency     string `json:"currency"`
	UsagePeriod  string `json:"usage_period" doc:"Month the usage belongs to, YYYY-MM"`
	Adjustment   bool   `json:"adjustment" doc:"Late usage for an already invoiced month"`
	LineID       int    `json:"line_id,omitempty" doc:"Line number on the issued invoice (credit notes refer to it)"`
	UnitPrice    string `json:"unit_price,omitempty" doc:"Net unit price (line amount / quantity), set at issue"`
	VATCategory  string `json:"vat_category,omitempty" doc:"UNCL 5305: S standard, AE reverse charge, O not subject"`
	VATRate      string `json:"vat_rate,omitempty" doc:"VAT rate in percent"`
	CreditedLine int    `json:"credited_line,omitempty" doc:"On a credit note: the invoice line it credits"`
}

type billingParty struct {
	LegalName       string         `json:"legal_name"`
	Address         billingAddress `json:"address"`
	VATID           string         `json:"vat_id,omitempty"`
	Email           string         `json:"email,omitempty"`
	CustomerType    string         `json:"customer_type,omitempty"`
	VATVerification string         `json:"vat_verification,omitempty"`
	IBAN            string         `json:"iban,omitempty"`
	BIC             string         `json:"bic,omitempty"`
}

type billingVAT struct {
	Rule          string `json:"rule" enum:"DOMESTIC,REVERSE_CHARGE,OSS,SELLER_RATE_BELOW_THRESHOLD,OUTSIDE_EU"`
	Category      string `json:"category" enum:"S,AE,O"`
	Country       string `json:"country,omitempty" doc:"Member state whose rate applies"`
	Rate          string `json:"rate" doc:"Percent"`
	Reason        string `json:"reason"`
	ExemptionText string `json:"exemption_text,omitempty"`
	ExemptionCode string `json:"exemption_code,omitempty"`
	Policy        string `json:"unverified_vat_id_policy,omitempty" doc:"APP_VAT_UNVERIFIED_POLICY, when the buyer's VAT id was unverified at issue"`
}

type billingVATSubtotal struct {
	Category      string `json:"category"`
	Rate          string `json:"rate"`
	TaxableAmount string `json:"taxable_amount"`
	TaxAmount     string `json:"tax_amount"`
	ExemptionText string `json:"exemption_text,omitempty"`
}

type billingDocumentRef struct {
	Format string `json:"format" enum:"pdf,ubl,cii"`
	SHA256 string `json:"sha256"`
}

type billingCreditRef struct {
	ID       string    `json:"id"`
	Number   string    `json:"invoice_number"`
	IssuedAt time.Time `json:"issued_at"`
}

type billingInvoice struct {
	ID            string               `json:"id"`
	TenantID      string               `json:"tenant_id"`
	InvoiceNumber *string              `json:"invoice_number" doc:"INV-YYYY-NNNNNN, gap-free, assigned at issue; null while DRAFT"`
	Status        string               `json:"status" enum:"DRAFT,ISSUED,PAID,OVERDUE,VOID,CREDITED"`
	Kind          string               `json:"kind,omitempty" enum:"INVOICE,CREDIT_NOTE" doc:"Set on invoices issued with full invoice content"`
	PeriodStart   string               `json:"period_start"`
	PeriodEnd     string               `json:"period_end"`
	Subtotal      string               `json:"subtotal"`
	TaxRate       string               `json:"tax_rate"`
	TaxAmount     string               `json:"tax_amount"`
	TotalAmount   string               `json:"total_amount"`
	Currency      string               `json:"currency"`
	RoundingRule  string               `json:"rounding_rule"`
	IssuedAt      *time.Time           `json:"issued_at"`
	DueDate       *string              `json:"due_date"`
	PaidAt        *time.Time           `json:"paid_at"`
	LineItems     []billingInvoiceLine `json:"line_items"`
	Seller        *billingParty        `json:"seller,omitempty" doc:"Copied at issue"`
	Buyer         *billingParty        `json:"buyer,omitempty" doc:"Copied at issue"`
	VAT           *billingVAT          `json:"vat,omitempty" doc:"The VAT treatment applied and why"`
	VATBreakdown  []billingVATSubtotal `json:"vat_breakdown,omitempty"`
	AmountDue     string               `json:"amount_due,omitempty"`
	PaymentTerms  string               `json:"payment_terms,omitempty"`
	Documents     []billingDocumentRef `json:"documents,omitempty" doc:"Rendered once at issue; SHA-256 of the stored bytes"`
	Invoice       *billingCreditRef    `json:"invoice,omitempty" doc:"On a credit note: the invoice it credits"`
	Reason        string               `json:"reason,omitempty" doc:"On a credit note: why"`
}

type billingInvoiceOutput struct{ Body billingInvoice }

type billingInvoicesInput struct {
	ID string `path:"id"`
	PageQuery
	Status string `query:"status" enum:"DRAFT,ISSUED,PAID,OVERDUE,VOID,CREDITED"`
}

type billingInvoicesOutput struct{ Body Paginated[billingInvoice] }

type billingInvoiceInput struct {
	ID        string `path:"id"`
	InvoiceID string `path:"inv_id"`
}

type billingDraftInput struct {
	ID   string `path:"id"`
	Body struct {
		Period string `json:"period" doc:"The closed month to invoice, YYYY-MM"`
	}
}

type billingPriceTier struct {
	UpTo      *string `json:"up_to" doc:"Inclusive upper bound of the month's cumulative quantity; null for the last tier"`
	UnitPrice string  `json:"unit_price"`
}

type billingPriceInput struct {
	ID       string `path:"id"`
	Resource string `path:"resource" pattern:"^[A-Z][A-Z0-9_]{1,63}$" doc:"A built-in or custom metric code"`
	Body     struct {
		Model     string             `json:"model" enum:"per_unit,graduated,volume"`
		UnitPrice string             `json:"unit_price,omitempty" doc:"EUR per unit (per_unit)"`
		Tiers     []billingPriceTier `json:"tiers,omitempty" maxItems:"32"`
	}
}

type billingPriceOutput struct {
	Body struct {
		Resource  string             `json:"resource_type"`
		Model     string             `json:"model"`
		UnitPrice string             `json:"unit_price,omitempty"`
		Tiers     []billingPriceTier `json:"tiers,omitempty"`
		Currency  string             `json:"currency"`
	}
}

const billingDay = "2006-01-02"

// RegisterBilling adds the billing routes: usage ingestion (operators and service
// principals), the cost reads (tenant users with billing:read), and invoice administration
// and prices (platform operators). The anomaly routes belong to the anomaly module.
func RegisterBilling(s *Server, svc *billing.Service) {
	RegisterInvoicing(s, svc)
	registerBillingMetrics(s, svc)
	registerBillingPlans(s, svc)
	tags := []string{"Billing"}
	Register(s, huma.Operation{
		OperationID: "ingest-usage", Method: http.MethodPost, Path: "/api/v1/tenants/{id}/usage", Tags: tags,
		Security: BearerAuth, Summary: "Ingest usage events",
		Description: "Records up to 1000 usage events exactly once each (the event id is the idempotency key, unique per tenant " +
			"for at least 35 days). Each event gets its own result: accepted, duplicate (id seen before, in this batch or an " +
			"earlier one) or rejected with a reason (more than 5 minutes in the future, older than the 35-day late-arrival " +
			"horizon). A rejected event never affects the others. Malformed input (missing fields, unknown resource_type, " +
			"negative or non-numeric quantity, more than 1000 events) is a 422 problem naming each bad field, and nothing " +
			"of that request is recorded. Operators, service principals and the tenant's API keys with scope usage:write.",
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *billingUsageInput) (*billingUsageOutput, error) {
		tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermUsageWrite)
		if err != nil {
			return nil, err
		}
		events, err := billingParseEvents(in.Body.Events)
		if err != nil {
			return nil, err
		}
		// An unknown metric is malformed input like an unknown field: the request is refused
		// whole (the service alone would reject just that event).
		var v eusaas.Violations
		for i, e := range events {
			ok, err := svc.KnownMetric(ctx, e.ResourceType)
			if err != nil {
				return nil, err
			}
			if !ok {
				v.Add(fmt.Sprintf("body.events[%d].resource_type", i), "unknown resource_type: not a built-in or custom metric (GET /billing/metrics)")
			}
		}
		if err := v.Err(); err != nil {
			return nil, err
		}
		res, err := svc.Ingest(ctx, tenant, events)
		if err != nil {
			return nil, err
		}
		out := &billingUsageOutput{}
		out.Body.Accepted, out.Body.Duplicates, out.Body.Rejected = res.Accepted, res.Duplicates, res.Rejected
		out.Body.Results = make([]billingEventResult, len(res.Results))
		for i, r := range res.Results {
			out.Body.Results[i] = billingEventResult{ID: r.ID, Status: string(r.Status), Reason: r.Reason, Warning: r.Warning}
		}
		return out, nil
	})

	Register(s, huma.Operation{
		OperationID: "get-costs", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/costs", Tags: tags,
		Security: BearerAuth, Summary: "Cost breakdown for a date range",
		Description: "Exact (unrounded) cost of [start_date, end_date], both inclusive UTC days, grouped by resource (one line per " +
			"service) or by day (one line per day and service, with its date). " +
			"Invoices round; breakdowns do not, so small API_CALLS costs stay visible.",
	}, func(ctx context.Context, in *billingCostsInput) (*billingBreakdownOutput, error) {
		tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermCostsRead)
		if err != nil {
			return nil, err
		}
		var v eusaas.Violations
		start, err1 := time.Parse(billingDay, in.StartDate)
		if err1 != nil {
			v.Add("query.start_date", "must be a date YYYY-MM-DD")
		}
		end, err2 := time.Parse(billingDay, in.EndDate)
		if err2 != nil {
			v.Add("query.end_date", "must be a date YYYY-MM-DD")
		}
		if err := v.Err(); err != nil {
			return nil, err
		}
		b, err := svc.Costs(ctx, tenant, start, end, billing.GroupBy(in.GroupBy))
		if err != nil {
			return nil, err
		}
		return &billingBreakdownOutput{Body: billingBreakdownBody(b)}, nil
	})

	Register(s, huma.Operation{
		OperationID: "get-current-costs", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/costs/current", Tags: tags,
		Security: BearerAuth, Summary: "Month-to-date costs by resource",
	}, func(ctx context.Context, in *billingTenantInput) (*billingBreakdownOutput, error) {
		tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermCostsRead)
		if err != nil {
			return nil, err
		}
		b, err := svc.Current(ctx, tenant)
		if err != nil {
			return nil, err
		}
		return &billingBreakdownOutput{Body: billingBreakdownBody(b)}, nil
	})

	Register(s, huma.Operation{
		OperationID: "get-cost-projection", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/costs/projection", Tags: tags,
		Security: BearerAuth, Summary: "Month-end cost projection with a 95% prediction interval",
		Description: "With 7 or more complete days of history (up to 28) the daily run rate follows a weekday profile; with " +
			"fewer it is extrapolated linearly. The interval is a 95% normal prediction interval for the remaining days. " +
			"budget compares the projection with the tenant's cost_alert_threshold.",
	}, func(ctx context.Context, in *billingTenantInput) (*billingProjectionOutput, error) {
		tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermCostsRead)
		if err != nil {
			return nil, err
		}
		p, err := svc.ProjectionNow(ctx, tenant)
		if err != nil {
			return nil, err
		}
		out := &billingProjectionOutput{}
		b := &out.Body
		b.TenantID, b.BillingPeriodStart, b.BillingPeriodEnd = tenant.String(), p.PeriodStart.Format(billingDay), p.PeriodEnd.Format(billingDay)
		b.ActualToDate, b.ProjectedTotal = p.ActualToDate.String(), p.ProjectedTotal.StringFixed(2)
		b.ConfidenceIntervalLow, b.ConfidenceIntervalHigh = p.IntervalLow.StringFixed(2), p.IntervalHigh.StringFixed(2)
		b.ConfidenceLevel, b.Method, b.HistoryDays, b.Currency = p.Confidence.String(), p.Method, p.HistoryDays, p.Currency
		if p.BudgetThreshold != nil {
			b.Budget = &billingBudget{Threshold: p.BudgetThreshold.String(), ProjectedExceeds: p.BudgetExceeded, MayExceed: p.BudgetLikelyBreach}
		}
		return out, nil
	})

	Register(s, huma.Operation{
		OperationID: "list-invoices", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/invoices", Tags: tags,
		Security: BearerAuth, Summary: "List invoices", Description: "Newest period first; filter by status.",
	}, func(ctx context.Context, in *billingInvoicesInput) (*billingInvoicesOutput, error) {
		tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermBillingRead)
		if err != nil {
			return nil, err
		}
		page := in.ToPage()
		l, err := svc.Invoices(ctx, tenant, billing.InvoiceFilter{Status: billing.InvoiceStatus(in.Status)}, page)
		if err != nil {
			return nil, err
		}
		items := make([]billingInvoice, len(l.Items))
		for i, inv := range l.Items {
			items[i] = billingInvoiceBody(inv)
		}
		return &billingInvoicesOutput{Body: NewPaginated(items, l.Total, page)}, nil
	})

	Register(s, huma.Operation{
		OperationID: "get-invoice", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/invoices/{inv_id}", Tags: tags,
		Security: BearerAuth, Summary: "Get an invoice with its line items",
	}, func(ctx context.Context, in *billingInvoiceInput) (*billingInvoiceOutput, error) {
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
		return &billingInvoiceOutput{Body: billingInvoiceBody(inv)}, nil
	})

	// Operator administration: drafting and moving invoices, and price overrides.
	Register(s, huma.Operation{
		OperationID: "draft-invoice", Method: http.MethodPost, Path: "/api/v1/tenants/{id}/invoices", Tags: tags,
		Security: BearerAuth, Summary: "Draft (or recompute a draft of) the invoice of a closed month (operators)",
		DefaultStatus: http.StatusCreated,
	}, func(ctx context.Context, in *billingDraftInput) (*billingInvoiceOutput, error) {
		tenant, err := billingOperatorTenant(ctx, s, in.ID)
		if err != nil {
			return nil, err
		}
		month, err := time.Parse("2006-01", in.Body.Period)
		if err != nil {
			return nil, eusaas.Invalid("invalid period", eusaas.FieldViolation{Location: "body.period", Message: "must be a month YYYY-MM"})
		}
		inv, err := svc.DraftInvoice(ctx, tenant, month)
		if err != nil {
			return nil, err
		}
		return &billingInvoiceOutput{Body: billingInvoiceBody(inv)}, nil
	})
	for _, act := range []struct {
		name, summary string
		fn            func(context.Context, eusaas.TenantID, uuid.UUID) (billing.Invoice, error)
	}{
		{"issue", "Issue a DRAFT invoice: assigns the next gap-free number; the invoice is immutable from then on (operators)", svc.Issue},
		{"pay", "Record payment of an ISSUED or OVERDUE invoice (operators)", svc.MarkPaid},
		{"void", "Void an invoice; an issued number stays used (operators)", svc.Void},
	} {
		Register(s, huma.Operation{
			OperationID: act.name + "-invoice", Method: http.MethodPost, Path: "/api/v1/tenants/{id}/invoices/{inv_id}/" + act.name,
			Tags: tags, Security: BearerAuth, Summary: act.summary,
		}, func(ctx context.Context, in *billingInvoiceInput) (*billingInvoiceOutput, error) {
			tenant, err := billingOperatorTenant(ctx, s, in.ID)
			if err != nil {
				return nil, err
			}
			id, err := billingParseInvoiceID(in.InvoiceID)
			if err != nil {
				return nil, err
			}
			inv, err := act.fn(ctx, tenant, id)
			if err != nil {
				return nil, err
			}
			return &billingInvoiceOutput{Body: billingInvoiceBody(inv)}, nil
		})
	}
	Register(s, huma.Operation{
		OperationID: "set-price", Method: http.MethodPut, Path: "/api/v1/tenants/{id}/prices/{resource}", Tags: tags,
		Security: BearerAuth, Summary: "Set the tenant's price for a resource (operators)",
		Description: "per_unit takes unit_price; graduated prices each tier's slice of the month's quantity at the tier's price; " +
			"volume prices the whole month at the price of the tier the total falls in. Applies to usage rated from now on.",
	}, func(ctx context.Context, in *billingPriceInput) (*billingPriceOutput, error) {
		tenant, err := billingOperatorTenant(ctx, s, in.ID)
		if err != nil {
			return nil, err
		}
		p, err := billingParsePrice(in.Body.Model, in.Body.UnitPrice, in.Body.Tiers)
		if err != nil {
			return nil, err
		}
		if err := svc.SetPrice(ctx, tenant, billing.ResourceType(in.Resource), p); err != nil {
			return nil, err
		}
		out := &billingPriceOutput{}
		out.Body.Resource, out.Body.Model, out.Body.Tiers, out.Body.Currency = in.Resource, in.Body.Model, in.Body.Tiers, billing.Currency
		if p.Kind == billing.PriceModelPerUnit {
			out.Body.UnitPrice = p.UnitPrice.String()
		}
		return out, nil
	})
}

// billingOperatorTenant authorises an operator-only tenant route.
func billingOperatorTenant(ctx context.Context, s *Server, idParam string) (eusaas.TenantID, error) {
	tenant, p, err := s.TenantAccess(ctx, idParam, auth.PermBillingWrite)
	if err != nil {
		return tenant, err
	}
	if p.Kind != eusaas.ActorOperator {
		return tenant, errForbidden.With("platform operators only")
	}
	return tenant, nil
}

func billingParseInvoiceID(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		return uuid.Nil, eusaas.Invalid("invalid invoice id", eusaas.FieldViolation{Location: "path.inv_id", Message: "must be a UUID"})
	}
	return id, nil
}

// billingParseEvents converts the wire events, reporting every malformed field at once.
func billingParseEvents(in []billingUsageEvent) ([]billing.UsageEvent, error) {
	var v eusaas.Violations
	if len(in) > billing.MaxBatch {
		v.Add("body.events", "at most 1000 events per request")
		return nil, v.Err()
	}
	out := make([]billing.UsageEvent, len(in))
	for i, e := range in {
		loc := fmt.Sprintf("body.events[%d]", i)
		var q decimal.Decimal
		if !e.Quantity.valid {
			v.Add(loc+".quantity", "must be a decimal string or a JSON number")
		} else if p, err := billing.ParseQuantity(e.Quantity.Text); err != nil {
			v.Add(loc+".quantity", eusaas.MessageOf(err))
		} else {
			q = p
		}
		ev := billing.UsageEvent{ID: e.ID, ResourceType: billing.ResourceType(e.ResourceType), Quantity: q, Timestamp: e.Timestamp, Attributes: e.Attributes}
		for _, f := range eusaas.FieldsOf(ev.Validate(loc)) {
			v.Add(f.Location, f.Message)
		}
		out[i] = ev
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func billingParsePrice(model, unitPrice string, tiers []billingPriceTier) (billing.PriceModel, error) {
	return billingParsePriceAt("body", model, unitPrice, tiers)
}

// billingParsePriceAt parses a wire price model whose fields sit under prefix.
func billingParsePriceAt(prefix, model, unitPrice string, tiers []billingPriceTier) (billing.PriceModel, error) {
	var v eusaas.Violations
	p := billing.PriceModel{Kind: billing.PriceKind(model)}
	dec := func(loc, s string) decimal.Decimal {
		d, err := billing.ParseQuantity(s)
		if err != nil {
			v.Add(loc, "must be a non-negative decimal string")
		}
		return d
	}
	if p.Kind == billing.PriceModelPerUnit {
		p.UnitPrice = dec(prefix+".unit_price", unitPrice)
	}
	for i, t := range tiers {
		loc := fmt.Sprintf("%s.tiers[%d]", prefix, i)
		tier := billing.Tier{UnitPrice: dec(loc+".unit_price", t.UnitPrice)}
		if t.UpTo != nil {
			u := dec(loc+".up_to", *t.UpTo)
			tier.UpTo = &u
		}
		p.Tiers = append(p.Tiers, tier)
	}
	if err := v.Err(); err != nil {
		return p, err
	}
	return p, p.Validate(prefix)
}

func billingBreakdownBody(b billing.Breakdown) billingBreakdown {
	out := billingBreakdown{
		TenantID: b.TenantID.String(), PeriodStart: b.PeriodStart.Format(billingDay), PeriodEnd: b.PeriodEnd.Format(billingDay),
		GroupBy: string(b.GroupBy), TotalAmount: b.Total.String(), Currency: b.Currency, LineItems: []billingLineItem{},
	}
	for _, l := range b.Lines {
		item := billingLineItem{Service: string(l.Service), Unit: l.Unit, Quantity: l.Quantity.String(), Amount: l.Amount.String(), Currency: b.Currency}
		if b.GroupBy == billing.ByDay {
			item.Date = l.Day.Format(billingDay)
		}
		out.LineItems = append(out.LineItems, item)
	}
	return out
}

func billingInvoiceBody(inv billing.Invoice) billingInvoice {
	out := billingInvoice{
		ID: inv.ID.String(), TenantID: inv.TenantID.String(), Status: string(inv.Status),
		PeriodStart: inv.PeriodStart.Format(billingDay), PeriodEnd: inv.PeriodEnd.Format(billingDay),
		Subtotal: inv.Subtotal.StringFixed(2), TaxRate: inv.TaxRate.String(), TaxAmount: inv.TaxAmount.StringFixed(2),
		TotalAmount: inv.Total.StringFixed(2), Currency: inv.Currency, RoundingRule: inv.RoundingRule,
		IssuedAt: inv.IssuedAt, PaidAt: inv.PaidAt, LineItems: []billingInvoiceLine{},
	}
	if inv.Number != "" {
		n := inv.Number
		out.InvoiceNumber = &n
	}
	if inv.DueDate != nil {
		d := inv.DueDate.Format(billingDay)
		out.DueDate = &d
	}
	for _, l := range inv.Lines {
		out.LineItems = append(out.LineItems, billingInvoiceLine{
			Service: string(l.Resource), Description: l.Description, Unit: l.Unit, Quantity: l.Quantity.String(),
			Amount: l.Amount.StringFixed(2), Currency: inv.Currency, UsagePeriod: l.UsageMonth.Format("2006-01"), Adjustment: l.Adjustment,
		})
		if l.VATCategory != "" {
			ol := &out.LineItems[len(out.LineItems)-1]
			ol.LineID, ol.VATCategory, ol.VATRate, ol.CreditedLine = l.ID, string(l.VATCategory), l.VATPercent.String(), l.CreditedLine
			if !l.Quantity.IsZero() {
				ol.UnitPrice = l.Amount.DivRound(l.Quantity, 6).Abs().String()
			}
		}
	}
	party := func(p *billing.Party) *billingParty {
		if p == nil {
			return nil
		}
		return &billingParty{LegalName: p.LegalName, Address: billingAddressBody(p.Address), VATID: p.VATID, Email: p.Email,
			CustomerType: string(p.CustomerType), VATVerification: string(p.Verification), IBAN: p.IBAN, BIC: p.BIC}
	}
	out.Seller, out.Buyer, out.Kind = party(inv.Seller), party(inv.Buyer), string(inv.Kind)
	if t := inv.VAT; t != nil {
		out.VAT = &billingVAT{Rule: string(t.Rule), Category: string(t.Category), Country: t.Country, Rate: t.Percent.String(), Reason: t.Reason,
			ExemptionText: t.ExemptionText, ExemptionCode: t.ExemptionCode, Policy: string(t.Policy)}
		out.AmountDue = inv.Total.StringFixed(2)
	}
	for _, b := range inv.Breakdown {
		out.VATBreakdown = append(out.VATBreakdown, billingVATSubtotal{Category: string(b.Category), Rate: b.Percent.String(),
			TaxableAmount: b.Taxable.StringFixed(2), TaxAmount: b.Tax.StringFixed(2), ExemptionText: b.ExemptionText})
	}
	out.PaymentTerms, out.Reason = inv.PaymentTerms, inv.Reason
	for _, d := range inv.Documents {
		out.Documents = append(out.Documents, billingDocumentRef{Format: d.Format, SHA256: d.SHA256})
	}
	if c := inv.CreditedInvoice; c != nil {
		out.Invoice = &billingCreditRef{ID: c.ID.String(), Number: c.Number, IssuedAt: c.IssuedAt}
	}
	return out
}
