// Package billing meters usage exactly once, prices it with exact decimals, and answers cost
// breakdowns, the current period, month-end projections with an interval, and invoices.
package billing
