package tenancy

import "github.com/eusaas/eusaas"

// Errors of the tenancy module. Compare with errors.Is; messages are refined with Withf.
var (
	// ErrNotFound: no tenant with that id or slug.
	ErrNotFound = eusaas.ErrTenantNotFound
	// ErrSlugTaken: another live tenant already uses the slug.
	ErrSlugTaken = eusaas.Sentinel(eusaas.AlreadyExists, "slug_taken", "slug is already in use")
	// ErrInvalidTransition: the lifecycle does not allow the change from the current status.
	// The message names the current status.
	ErrInvalidTransition = eusaas.Sentinel(eusaas.FailedPrecondition, "invalid_transition", "invalid status transition")
	// ErrPreconditionFailed: the caller's If-Match version is not the stored version (HTTP 412).
	ErrPreconditionFailed = eusaas.ErrPreconditionFailed.With("the tenant was changed since it was read")
	// ErrVersionConflict is what a Store returns when a compare-and-swap update finds another
	// version than the one it was given. The service retries its own read-modify-write
	// cycles on it and turns it into ErrPreconditionFailed for a caller's If-Match.
	ErrVersionConflict = eusaas.Sentinel(eusaas.Aborted, "version_conflict", "concurrent update of the tenant")
	// ErrProvisioningFailed: the tenant's schema could not be provisioned; the tenant was
	// deleted and the reason recorded.
	ErrProvisioningFailed = eusaas.Sentinel(eusaas.Unavailable, "provisioning_failed", "tenant provisioning failed; the tenant was deleted")
)

// ErrNotModifiable: the tenant's status does not allow changing it (PATCH of a tenant that
// is not ACTIVE or SUSPENDED). The message names the current status.
var ErrNotModifiable = eusaas.Sentinel(eusaas.FailedPrecondition, "tenant_not_modifiable", "the tenant cannot be changed in its status")
