package gdpr

import "github.com/eusaas/eusaas"

// Errors of the gdpr module.
var (
	ErrNotFound        = eusaas.Sentinel(eusaas.NotFound, "gdpr_request_not_found", "gdpr request not found")
	ErrLegalHold       = eusaas.Sentinel(eusaas.FailedPrecondition, "legal_hold", "a legal hold blocks erasure")
	ErrNotReady        = eusaas.Sentinel(eusaas.FailedPrecondition, "export_not_ready", "the export is not available")
	ErrBadToken        = eusaas.Sentinel(eusaas.PermissionDenied, "invalid_download_token", "download token invalid or expired")
	ErrArchiveInvalid  = eusaas.Sentinel(eusaas.InvalidArgument, "archive_invalid", "archive verification failed")
	ErrTenantNotErased = eusaas.Sentinel(eusaas.NotFound, "tenant_erasure_not_found", "no erasure of this tenant")
)
