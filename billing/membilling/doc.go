// Package membilling is the in-memory reference adapter of package billing, kept beside it
// the way gocloud.dev keeps blob/memblob beside blob: a UsageStore (events, deduplication,
// hourly buckets and monthly quantities), an InvoiceStore (invoices, their lines and the
// platform-wide yearly numbering) and a PriceStore (per-tenant price overrides and tax rate).
// Each is also an eusaas.DataSource, so GDPR export and tenant erasure see their tables as
// the Postgres tenant schema has them. It passes billing's conformance suite (billingtest.Run;
// see TestConformance), takes part in memtx transactions, and imports only billing, the root
// package, memtx and the standard library (plus uuid and decimal, which the billing vocabulary
// already uses), so embedding billing with it compiles no other module. Nothing survives a
// restart.
package membilling
