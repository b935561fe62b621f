package billing

import "github.com/eusaas/eusaas"

// Module errors. Refine with With/Withf; errors.Is matches the sentinel.
var (
	ErrInvoiceNotFound    = eusaas.Sentinel(eusaas.NotFound, "invoice_not_found", "invoice not found")
	ErrInvalidTransition  = eusaas.Sentinel(eusaas.FailedPrecondition, "invalid_invoice_transition", "invalid invoice status transition")
	ErrPeriodNotClosed    = eusaas.Sentinel(eusaas.FailedPrecondition, "period_not_closed", "the billing period has not ended yet")
	ErrAlreadyInvoiced    = eusaas.Sentinel(eusaas.AlreadyExists, "period_already_invoiced", "the period already has an invoice")
	ErrInvoiceImmutable   = eusaas.Sentinel(eusaas.FailedPrecondition, "invoice_immutable", "an issued invoice cannot be changed")
	ErrBatchTooLarge      = eusaas.Sentinel(eusaas.InvalidArgument, "batch_too_large", "at most 1000 events per batch")
	ErrInvalidDateRange   = eusaas.Sentinel(eusaas.InvalidArgument, "invalid_date_range", "invalid date range")
	ErrStatusConflict     = eusaas.Sentinel(eusaas.Aborted, "invoice_status_conflict", "the invoice changed concurrently, retry")
	ErrInvoiceNumberRange = eusaas.Sentinel(eusaas.ResourceExhausted, "invoice_numbers_exhausted", "invoice numbers for the year are exhausted")
)
