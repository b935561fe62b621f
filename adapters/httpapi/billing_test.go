package httpapi_test

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/adapters/httpapi/httpapitest"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/membilling"
	"github.com/eusaas/eusaas/memtx"
)

// billingNow is the fake time of the billing HTTP tests.
var billingNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

type billingHarness struct {
	*httpapitest.Harness
	svc   *billing.Service
	clock *eusaas.FakeClock
}

func newBillingServer(t testing.TB) *billingHarness {
	h := httpapitest.New(t)
	clock := eusaas.NewFakeClock(billingNow)
	svc, err := billing.NewService(billing.Deps{Usage: membilling.NewUsageStore(), Invoices: membilling.NewInvoiceStore(), Prices: membilling.NewPriceStore(), Tx: memtx.NewTxRunner()}, billing.Options{Clock: clock})
	require.NoError(t, err)
	httpapi.RegisterBilling(h.Server, svc)
	return &billingHarness{Harness: h, svc: svc, clock: clock}
}

type usageResp struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	Rejected   int `json:"rejected"`
	Results    []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Reason string `json:"reason"`
	} `json:"results"`
}

type breakdownResp struct {
	TenantID    string `json:"tenant_id"`
	TotalAmount string `json:"total_amount"`
	Currency    string `json:"currency"`
	LineItems   []struct {
		Service  string `json:"service"`
		Date     string `json:"date"`
		Amount   string `json:"amount"`
		Quantity string `json:"quantity"`
		Unit     string `json:"unit"`
	} `json:"line_items"`
}

func usagePath(t eusaas.TenantID) string { return "/api/v1/tenants/" + t.String() + "/usage" }

func eventJSON(id, res, qty string, ts time.Time) string {
	return fmt.Sprintf(`{"id":%q,"resource_type":%q,"quantity":%s,"timestamp":%q}`, id, res, qty, ts.Format(time.RFC3339Nano))
}

func batchBody(events ...string) string { return `{"events":[` + strings.Join(events, ",") + `]}` }

func requireViolation(t *testing.T, r *httpapitest.Response, location string) {
	t.Helper()
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Body)
	p := r.Problem(t)
	var locs []string
	for _, e := range p.Errors {
		locs = append(locs, e.Location)
	}
	require.Contains(t, locs, location, "%s", r.Body)
}

func TestBillingIngestHTTP(t *testing.T) {
	h := newBillingServer(t)
	a := h.NewTenant()
	svc := h.Service()
	ts := billingNow.Add(-time.Hour)
	body := batchBody(
		eventJSON("e1", "CPU", `"1.5"`, ts),
		// A JSON number with more digits than a float64 holds (it would become
		// 0.12345678901234568): kept exactly.
		eventJSON("e2", "CPU", `0.123456789012345678`, ts),
		eventJSON("e1", "CPU", `"99"`, ts),
		eventJSON("late", "CPU", `"1"`, billingNow.Add(-40*24*time.Hour)),
		eventJSON("future", "CPU", `"1"`, billingNow.Add(10*time.Minute)),
	)
	r := h.Do(http.MethodPost, usagePath(a), body, svc)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var u usageResp
	r.JSON(t, &u)
	require.Equal(t, 2, u.Accepted)
	require.Equal(t, 1, u.Duplicates)
	require.Equal(t, 2, u.Rejected)
	require.Equal(t, "duplicate", u.Results[2].Status)
	require.Contains(t, u.Results[3].Reason, "horizon")
	require.Contains(t, u.Results[4].Reason, "future")

	// The same batch again: all duplicates or rejected, nothing added.
	r = h.Do(http.MethodPost, usagePath(a), body, svc)
	r.JSON(t, &u)
	require.Equal(t, 0, u.Accepted)
	require.Equal(t, 3, u.Duplicates)

	day := ts.Format("2006-01-02")
	op := h.Operator()
	r = h.Do(http.MethodGet, "/api/v1/tenants/"+a.String()+"/costs?start_date="+day+"&end_date="+day, nil, op)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var b breakdownResp
	r.JSON(t, &b)
	require.Len(t, b.LineItems, 1)
	require.Equal(t, "1.623456789012345678", b.LineItems[0].Quantity)
	require.Equal(t, "0.03246913578024691356", b.TotalAmount)
	require.Equal(t, "vCPU-hour", b.LineItems[0].Unit)
	require.Equal(t, "EUR", b.Currency)

	// Tenant users may not ingest, even into their own tenant.
	owner, _ := h.User(a, auth.RoleOwner)
	r = h.Do(http.MethodPost, usagePath(a), batchBody(eventJSON("u", "CPU", `"1"`, ts)), owner)
	require.Equal(t, http.StatusForbidden, r.Status)
	r = h.Do(http.MethodPost, usagePath(a), batchBody(eventJSON("u", "CPU", `"1"`, ts)), "")
	require.Equal(t, http.StatusUnauthorized, r.Status)
}

func TestBillingIngestBadInputHTTP(t *testing.T) {
	h := newBillingServer(t)
	a := h.NewTenant()
	svc := h.Service()
	ts := billingNow.Add(-time.Minute)
	for _, tc := range []struct {
		name, body, location string
	}{
		{"negative", batchBody(eventJSON("a", "CPU", `"1"`, ts), eventJSON("b", "CPU", `"-1"`, ts)), "body.events[1].quantity"},
		{"negative number", batchBody(eventJSON("b", "CPU", `-0.5`, ts)), "body.events[0].quantity"},
		{"non-numeric", batchBody(eventJSON("b", "CPU", `"abc"`, ts)), "body.events[0].quantity"},
		{"nan", batchBody(eventJSON("b", "CPU", `"NaN"`, ts)), "body.events[0].quantity"},
		{"too precise", batchBody(eventJSON("b", "CPU", `"0.0000000000000000001"`, ts)), "body.events[0].quantity"},
		{"unknown resource", batchBody(eventJSON("b", "GPU", `"1"`, ts)), "body.events[0].resource_type"},
		{"missing id", batchBody(eventJSON("", "CPU", `"1"`, ts)), "body.events[0].id"},
		// PostgreSQL text cannot hold NUL: a 422 naming the field, never a 500 for the batch.
		{"nul in id", batchBody(eventJSON("a", "CPU", `"1"`, ts), `{"id":"b\u0000c","resource_type":"CPU","quantity":"1","timestamp":"`+ts.Format(time.RFC3339)+`"}`), "body.events[1].id"},
		{"nul in attribute", batchBody(`{"id":"x","resource_type":"CPU","quantity":"1","timestamp":"` + ts.Format(time.RFC3339) + `","attributes":{"k":"a\u0000b"}}`), "body.events[0].attributes.k"},
		{"bool quantity", batchBody(`{"id":"x","resource_type":"CPU","quantity":true,"timestamp":"` + ts.Format(time.RFC3339) + `"}`), "body.events[0].quantity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.Do(http.MethodPost, usagePath(a), tc.body, svc)
			requireViolation(t, r, tc.location)
		})
	}
	events := make([]string, 1001)
	for i := range events {
		events[i] = eventJSON(fmt.Sprint("e", i), "CPU", `"1"`, ts)
	}
	requireViolation(t, h.Do(http.MethodPost, usagePath(a), batchBody(events...), svc), "body.events")
	// Nothing of the refused requests was recorded.
	bs, err := h.svc.DailyCosts(t.Context(), a, billingNow.AddDate(0, 0, -1), billingNow)
	require.NoError(t, err)
	require.Empty(t, bs)
}

func TestBillingIngestRetriedAndConcurrentHTTP(t *testing.T) {
	h := newBillingServer(t)
	a := h.NewTenant()
	svc := h.Service()
	ev := func(i int) string {
		return eventJSON(fmt.Sprint("id-", i), billing.ResourceTypes[i%5].String(), fmt.Sprintf(`"%d.%03d"`, i, i%1000), billingNow.Add(-time.Duration(i)*time.Minute))
	}
	var all []string
	for i := 0; i < 300; i++ {
		all = append(all, ev(i))
	}
	for k := 0; k < 10; k++ {
		r := h.Do(http.MethodPost, usagePath(a), batchBody(all[:100]...), svc)
		require.Equal(t, http.StatusOK, r.Status)
	}
	var wg sync.WaitGroup
	for c := 0; c < 50; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			lo := c * 200 / 49 // 0..200: together the clients cover all 300 ids
			r := h.Do(http.MethodPost, usagePath(a), batchBody(all[lo:lo+100]...), svc)
			if r.Status != http.StatusOK {
				t.Errorf("status %d: %s", r.Status, r.Body)
			}
		}(c)
	}
	wg.Wait()
	want := map[string]string{}
	sums := map[billing.ResourceType]int64{}
	for i := 0; i < 300; i++ {
		sums[billing.ResourceTypes[i%5]] += int64(i*1000 + i%1000)
	}
	for r, v := range sums {
		want[string(r)] = fmt.Sprintf("%d.%03d", v/1000, v%1000)
	}
	from := billingNow.Add(-300 * time.Minute).Format("2006-01-02")
	r := h.Do(http.MethodGet, "/api/v1/tenants/"+a.String()+"/costs?start_date="+from+"&end_date="+billingNow.Format("2006-01-02"), nil, h.Operator())
	require.Equal(t, http.StatusOK, r.Status)
	var b breakdownResp
	r.JSON(t, &b)
	got := map[string]string{}
	for _, l := range b.LineItems {
		q, err := billing.ParseQuantity(l.Quantity)
		require.NoError(t, err)
		got[l.Service] = q.StringFixed(3)
	}
	require.Equal(t, want, got)
}

func TestBillingCostsHTTP(t *testing.T) {
	h := newBillingServer(t)
	a := h.NewTenant()
	viewer, _ := h.User(a, auth.RoleViewer)
	_, err := h.svc.Ingest(t.Context(), a, []billing.UsageEvent{
		{ID: "1", ResourceType: billing.CPU, Quantity: billing.MustQuantity("10"), Timestamp: time.Date(2026, 3, 1, 1, 0, 0, 0, time.UTC)},
		{ID: "2", ResourceType: billing.APICalls, Quantity: billing.MustQuantity("5"), Timestamp: time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)},
		{ID: "3", ResourceType: billing.Storage, Quantity: billing.MustQuantity("2"), Timestamp: time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)},
	})
	require.NoError(t, err)
	base := "/api/v1/tenants/" + a.String()
	r := h.Do(http.MethodGet, base+"/costs?start_date=2026-03-01&end_date=2026-03-31&group_by=day", nil, viewer)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var b breakdownResp
	r.JSON(t, &b)
	require.Len(t, b.LineItems, 3, "one line per day and service")
	require.Equal(t, "2026-03-01", b.LineItems[0].Date)
	require.Equal(t, "CPU", b.LineItems[0].Service)
	require.Equal(t, "10", b.LineItems[0].Quantity)
	require.Equal(t, "vCPU-hour", b.LineItems[0].Unit)
	require.Equal(t, "0.2", b.LineItems[0].Amount)
	require.Equal(t, "2026-03-02", b.LineItems[1].Date)
	require.Equal(t, "STORAGE", b.LineItems[1].Service)
	require.Equal(t, "0.02", b.LineItems[1].Amount)
	require.Equal(t, "API_CALLS", b.LineItems[2].Service)
	require.Equal(t, "0.0005", b.LineItems[2].Amount)
	require.Equal(t, "0.2205", b.TotalAmount)
	// Every SPEC field is present in the JSON, whatever the grouping.
	billingRequireKeys(t, r.Body, []string{"tenant_id", "period_start", "period_end", "total_amount", "currency", "line_items"},
		[]string{"service", "amount", "currency", "unit", "quantity"})

	r = h.Do(http.MethodGet, base+"/costs/current", nil, viewer)
	require.Equal(t, http.StatusOK, r.Status)
	billingRequireKeys(t, r.Body, []string{"tenant_id", "period_start", "period_end", "total_amount", "currency", "line_items"},
		[]string{"service", "amount", "currency", "unit", "quantity"})
	r.JSON(t, &b)
	require.Equal(t, "0.2205", b.TotalAmount)
	require.Len(t, b.LineItems, 3)
	require.Equal(t, "CPU", b.LineItems[0].Service)

	r = h.Do(http.MethodGet, base+"/costs/projection", nil, viewer)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var p struct {
		ActualToDate   string `json:"actual_to_date"`
		ProjectedTotal string `json:"projected_total"`
		Low            string `json:"confidence_interval_low"`
		High           string `json:"confidence_interval_high"`
		Method         string `json:"method"`
		PeriodEnd      string `json:"billing_period_end"`
	}
	r.JSON(t, &p)
	var pm map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(r.Body, &pm))
	for _, k := range []string{"tenant_id", "billing_period_start", "billing_period_end", "actual_to_date", "projected_total",
		"confidence_interval_low", "confidence_interval_high", "currency"} {
		require.Contains(t, pm, k, "SPEC projection field")
	}
	require.Equal(t, "0.2205", p.ActualToDate)
	require.Equal(t, "weekday_profile", p.Method, "9 complete days since the first usage")
	require.Equal(t, "2026-03-31", p.PeriodEnd)
	require.NotEmpty(t, p.ProjectedTotal)

	requireViolation(t, h.Do(http.MethodGet, base+"/costs?start_date=2026-03-05&end_date=2026-03-01", nil, viewer), "query.end_date")
	requireViolation(t, h.Do(http.MethodGet, base+"/costs?start_date=2026-13-05&end_date=2026-03-01", nil, viewer), "query.start_date")
	requireViolation(t, h.Do(http.MethodGet, base+"/costs?start_date=2024-01-01&end_date=2026-03-01", nil, viewer), "query.end_date")
	requireViolation(t, h.Do(http.MethodGet, base+"/costs?end_date=2026-03-01", nil, viewer), "query.start_date")
	requireViolation(t, h.Do(http.MethodGet, base+"/costs?start_date=2026-03-01&end_date=2026-03-01&group_by=week", nil, viewer), "query.group_by")
}

type invoiceResp struct {
	ID            string  `json:"id"`
	InvoiceNumber *string `json:"invoice_number"`
	Status        string  `json:"status"`
	Subtotal      string  `json:"subtotal"`
	TaxAmount     string  `json:"tax_amount"`
	TotalAmount   string  `json:"total_amount"`
	LineItems     []struct {
		Service string `json:"service"`
		Amount  string `json:"amount"`
	} `json:"line_items"`
}

func TestBillingInvoicesHTTP(t *testing.T) {
	h := newBillingServer(t)
	a := h.NewTenant()
	op := h.Operator()
	owner, _ := h.User(a, auth.RoleOwner)
	base := "/api/v1/tenants/" + a.String()
	_, err := h.svc.Ingest(t.Context(), a, []billing.UsageEvent{
		{ID: "1", ResourceType: billing.CPU, Quantity: billing.MustQuantity("100.25"), Timestamp: time.Date(2026, 2, 20, 1, 0, 0, 0, time.UTC)},
	})
	require.NoError(t, err)
	require.NoError(t, h.svc.SetTaxRate(t.Context(), a, billing.MustQuantity("0.19")))

	r := h.Do(http.MethodPost, base+"/invoices", `{"period":"2026-02"}`, owner)
	require.Equal(t, http.StatusForbidden, r.Status, "tenant users cannot draft invoices")
	requireViolation(t, h.Do(http.MethodPost, base+"/invoices", `{"period":"Feb"}`, op), "body.period")
	// Absurd periods are refused and store nothing.
	requireViolation(t, h.Do(http.MethodPost, base+"/invoices", `{"period":"0000-01"}`, op), "body.period")
	requireViolation(t, h.Do(http.MethodPost, base+"/invoices", `{"period":"1999-12"}`, op), "body.period")
	none, err := h.svc.Invoices(t.Context(), a, billing.InvoiceFilter{}, eusaas.Page{})
	require.NoError(t, err)
	require.Zero(t, none.Total)
	r = h.Do(http.MethodPost, base+"/invoices", `{"period":"2026-03"}`, op)
	require.Equal(t, http.StatusConflict, r.Status, "March is not closed")
	r = h.Do(http.MethodPost, base+"/invoices", `{"period":"2026-02"}`, op)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var inv invoiceResp
	r.JSON(t, &inv)
	require.Nil(t, inv.InvoiceNumber)
	require.Equal(t, "2.01", inv.Subtotal)
	require.Equal(t, "0.38", inv.TaxAmount)
	require.Equal(t, "2.39", inv.TotalAmount)

	r = h.Do(http.MethodPost, base+"/invoices/"+inv.ID+"/issue", nil, owner)
	require.Equal(t, http.StatusForbidden, r.Status)
	r = h.Do(http.MethodPost, base+"/invoices/"+inv.ID+"/issue", nil, op)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r.JSON(t, &inv)
	require.Equal(t, "INV-2026-000001", *inv.InvoiceNumber)
	r = h.Do(http.MethodPost, base+"/invoices/"+inv.ID+"/issue", nil, op)
	require.Equal(t, http.StatusConflict, r.Status)

	r = h.Do(http.MethodGet, base+"/invoices/"+inv.ID, nil, owner)
	require.Equal(t, http.StatusOK, r.Status)
	billingRequireKeys(t, r.Body, []string{"id", "tenant_id", "invoice_number", "status", "period_start", "period_end", "subtotal",
		"tax_amount", "total_amount", "currency", "issued_at", "due_date", "paid_at", "line_items"}, []string{"service", "amount", "quantity"})
	r.JSON(t, &inv)
	require.Equal(t, "ISSUED", inv.Status)
	require.Len(t, inv.LineItems, 1)
	require.Equal(t, "2.01", inv.LineItems[0].Amount)

	var list struct {
		Items      []invoiceResp `json:"items"`
		Pagination struct {
			TotalItems int `json:"total_items"`
			PageSize   int `json:"page_size"`
		} `json:"pagination"`
	}
	r = h.Do(http.MethodGet, base+"/invoices?status=ISSUED&page_size=5", nil, owner)
	require.Equal(t, http.StatusOK, r.Status)
	r.JSON(t, &list)
	require.Equal(t, 1, list.Pagination.TotalItems)
	require.Equal(t, 5, list.Pagination.PageSize)
	r = h.Do(http.MethodGet, base+"/invoices?status=PAID", nil, owner)
	r.JSON(t, &list)
	require.Zero(t, list.Pagination.TotalItems)
	requireViolation(t, h.Do(http.MethodGet, base+"/invoices?status=LOST", nil, owner), "query.status")
	requireViolation(t, h.Do(http.MethodGet, base+"/invoices/not-a-uuid", nil, owner), "path.inv_id")
	r = h.Do(http.MethodGet, base+"/invoices/0190b4c4-0000-7000-8000-000000000000", nil, owner)
	require.Equal(t, http.StatusNotFound, r.Status)

	r = h.Do(http.MethodPost, base+"/invoices/"+inv.ID+"/pay", nil, op)
	require.Equal(t, http.StatusOK, r.Status)

	r = h.Do(http.MethodPut, base+"/prices/CPU", `{"model":"graduated","tiers":[{"up_to":"100","unit_price":"0.02"},{"up_to":null,"unit_price":"0.01"}]}`, op)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	requireViolation(t, h.Do(http.MethodPut, base+"/prices/CPU", `{"model":"per_unit","unit_price":"-1"}`, op), "body.unit_price")
	requireViolation(t, h.Do(http.MethodPut, base+"/prices/CPU", `{"model":"volume","tiers":[{"up_to":"10","unit_price":"1"}]}`, op), "body.tiers[0].up_to")
	r = h.Do(http.MethodPut, base+"/prices/CPU", `{"model":"per_unit","unit_price":"1"}`, owner)
	require.Equal(t, http.StatusForbidden, r.Status)
}

// TestBillingTenantIsolationHTTP: on every billing endpoint, tenant B's token on tenant A's
// path is 403, and A's invoice id under B's path is 404.
func TestBillingTenantIsolationHTTP(t *testing.T) {
	h := newBillingServer(t)
	a, b := h.NewTenant(), h.NewTenant()
	_, err := h.svc.Ingest(t.Context(), a, []billing.UsageEvent{
		{ID: "1", ResourceType: billing.CPU, Quantity: billing.MustQuantity("1"), Timestamp: time.Date(2026, 2, 20, 1, 0, 0, 0, time.UTC)},
	})
	require.NoError(t, err)
	inv, err := h.svc.DraftInvoice(t.Context(), a, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	bOwner, _ := h.User(b, auth.RoleOwner)
	pa, pb := "/api/v1/tenants/"+a.String(), "/api/v1/tenants/"+b.String()
	for _, tc := range []struct{ method, path, body string }{
		{http.MethodPost, pa + "/usage", batchBody(eventJSON("x", "CPU", `"1"`, billingNow))},
		{http.MethodGet, pa + "/costs?start_date=2026-02-01&end_date=2026-02-28", ""},
		{http.MethodGet, pa + "/costs/current", ""},
		{http.MethodGet, pa + "/costs/projection", ""},
		{http.MethodGet, pa + "/invoices", ""},
		{http.MethodGet, pa + "/invoices/" + inv.ID.String(), ""},
		{http.MethodPost, pa + "/invoices", `{"period":"2026-02"}`},
		{http.MethodPost, pa + "/invoices/" + inv.ID.String() + "/issue", ""},
		{http.MethodPut, pa + "/prices/CPU", `{"model":"per_unit","unit_price":"1"}`},
	} {
		var body any
		if tc.body != "" {
			body = tc.body
		}
		r := h.Do(tc.method, tc.path, body, bOwner)
		require.Equal(t, http.StatusForbidden, r.Status, "%s %s: %s", tc.method, tc.path, r.Body)
	}
	r := h.Do(http.MethodGet, pb+"/invoices/"+inv.ID.String(), nil, bOwner)
	require.Equal(t, http.StatusNotFound, r.Status)
	op := h.Operator()
	r = h.Do(http.MethodPost, pb+"/invoices/"+inv.ID.String()+"/issue", nil, op)
	require.Equal(t, http.StatusNotFound, r.Status)
	var list struct {
		Items []invoiceResp `json:"items"`
	}
	r = h.Do(http.MethodGet, pb+"/invoices", nil, bOwner)
	require.Equal(t, http.StatusOK, r.Status)
	r.JSON(t, &list)
	require.Empty(t, list.Items)
	var bd breakdownResp
	r = h.Do(http.MethodGet, pb+"/costs?start_date=2026-02-01&end_date=2026-02-28", nil, bOwner)
	require.Equal(t, http.StatusOK, r.Status)
	r.JSON(t, &bd)
	require.Equal(t, "0", bd.TotalAmount)
	// A suspended tenant's users are refused.
	h.Gate.Set(b, "SUSPENDED")
	r = h.Do(http.MethodGet, pb+"/costs/current", nil, bOwner)
	require.Equal(t, http.StatusForbidden, r.Status)
}

// FuzzBillingQuantityJSON feeds arbitrary quantity tokens through the real request path's
// decoding: the quantity is either refused with a 422 naming body.events[0].quantity, or
// recorded exactly as the decimal its text denotes.
func FuzzBillingQuantityJSON(f *testing.F) {
	for _, s := range []string{`"1.5"`, `12`, `1e3`, `-1`, `"abc"`, `0.123456789012345678`, `"1E-18"`, `null`, `true`, `{}`, `"١"`} {
		f.Add(s)
	}
	h := newBillingServer(f)
	svc := h.Service()
	f.Fuzz(func(t *testing.T, tok string) {
		h.T = t // inputs run one at a time per process; helpers must report to this t
		a := h.NewTenant()
		body := `{"events":[{"id":"x","resource_type":"CPU","quantity":` + tok + `,"timestamp":"` + billingNow.Format(time.RFC3339) + `"}]}`
		r := h.Do(http.MethodPost, usagePath(a), body, svc)
		switch r.Status {
		case http.StatusOK:
			bd, err := h.svc.Costs(t.Context(), a, billingNow, billingNow, billing.ByResource)
			require.NoError(t, err)
			text := strings.Trim(tok, " \t\r\n")
			if strings.HasPrefix(text, `"`) {
				require.NoError(t, json.Unmarshal([]byte(text), &text))
			}
			want, ok := new(big.Rat).SetString(text)
			require.True(t, ok, "accepted %q", tok)
			got := new(big.Rat)
			if len(bd.Lines) == 1 {
				got, _ = new(big.Rat).SetString(bd.Lines[0].Quantity.String())
			}
			require.Zero(t, want.Cmp(got), "%q recorded as %v", tok, got)
		case http.StatusUnprocessableEntity:
		default:
			t.Fatalf("status %d for %q: %s", r.Status, tok, r.Body)
		}
	})
}

// billingRequireKeys checks that the JSON object body has every key of top and each of its
// line_items every key of line (SPEC.md's field lists), present even when empty.
func billingRequireKeys(t *testing.T, body []byte, top, line []string) {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &m))
	for _, k := range top {
		require.Contains(t, m, k, "%s", body)
	}
	var items []map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(m["line_items"], &items))
	require.NotEmpty(t, items)
	for _, it := range items {
		for _, k := range line {
			require.Contains(t, it, k, "%s", body)
		}
	}
}
