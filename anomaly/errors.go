package anomaly

import "github.com/eusaas/eusaas"

// Errors of the anomaly module.
var (
	// ErrNotFound: the tenant has no anomaly with that id.
	ErrNotFound = eusaas.Sentinel(eusaas.NotFound, "anomaly_not_found", "anomaly not found")
	// ErrInvalid: an anomaly that breaks its invariants was given to a store.
	ErrInvalid = eusaas.Sentinel(eusaas.InvalidArgument, "anomaly_invalid", "invalid anomaly")
)
