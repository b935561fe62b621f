// Package billing meters usage exactly once, prices it with exact decimals, and answers cost
// breakdowns, the current period, month-end projections with an interval, and invoices.
//
// Usage events ({ID, ResourceType, Quantity, Timestamp, Attributes}) are ingested in batches
// of at most 1000. The ID is the idempotency key: unique per tenant for at least 35 days, so
// a batch posted again, or by several clients at once, is counted once. Events more than 5
// minutes in the future or older than the late-arrival horizon (35 days by default) are
// rejected with a reason; a rejected event never affects the rest of its batch.
//
// Accepted events are rated into daily buckets (resource, UTC day: quantity and exact
// amount), in the same transaction as their dedup record (see UsageStore.Record). Every read
// works on buckets, never on raw events. Prices are per tenant (DefaultPrices overlaid with
// overrides) and per-unit, graduated or volume tiered over a calendar month; a bucket's
// amount is the marginal cost its quantity added to its month, so a month's buckets add up
// to exactly the tiered cost of the month's quantity.
//
// Invoices cover one closed month: DRAFT -> ISSUED -> PAID | OVERDUE | VOID. Issuing assigns
// the next gap-free number INV-YYYY-NNNNNN and freezes the content. Amounts are rounded once,
// per line, under RoundingRule (stored with each invoice); usage that reaches an already
// invoiced month later becomes adjustment lines on the next invoice.
//
// The package depends only on the standard library, package eusaas, uuid and
// shopspring/decimal. Storage is behind the ports in ports.go (UsageStore, InvoiceStore,
// PriceStore); adapters prove themselves with the billingtest conformance suite.
package billing
