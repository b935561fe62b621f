// Package audit is the tamper-evident audit log: one SHA-256 hash chain per tenant plus a
// platform chain over the canonical encoding of every entry, group-committed appends, signed
// checkpoints, a streaming verifier, and erasable personal data kept beside the chain.
package audit
