package audit

import "github.com/eusaas/eusaas"

// Errors of the audit module.
var (
	// ErrConflict: an append did not continue the chain's head (a store contract breach).
	ErrConflict = eusaas.Sentinel(eusaas.Aborted, "audit_chain_conflict", "audit chain head moved")
	// ErrImmutable: something tried to change or delete a chained entry.
	ErrImmutable = eusaas.Sentinel(eusaas.FailedPrecondition, "audit_immutable", "audit entries cannot be changed or deleted")
	// ErrNoSigner: checkpoints were requested from a service without a signing key.
	ErrNoSigner = eusaas.Sentinel(eusaas.FailedPrecondition, "audit_no_signer", "no checkpoint signing key configured")
	// ErrClosed: the service was closed.
	ErrClosed = eusaas.Sentinel(eusaas.Unavailable, "audit_closed", "audit log closed")
	// ErrForged: a chain's stored state does not match what its writers signed (someone
	// wrote the database behind the audit log's back). Nothing is appended or signed on top.
	ErrForged = eusaas.Sentinel(eusaas.FailedPrecondition, "audit_chain_forged", "audit chain does not match what its writers signed")
	// ErrUpgrade: the chain was written before the Merkle tree existed; run Service.Upgrade.
	ErrUpgrade = eusaas.Sentinel(eusaas.FailedPrecondition, "audit_upgrade_needed", "audit chain needs its Merkle tree built (eusaas audit upgrade)")
)
