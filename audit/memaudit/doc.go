// Package memaudit is the in-memory reference adapter of package audit, kept beside it the
// way gocloud.dev keeps blob/memblob beside blob: one Store holding the hash chains, the
// personal values apart from the entries (so erasure removes them without breaking a hash),
// the per-subject keys and the checkpoints; it is both audit.Store and audit.KeyStore.
// It passes audit's conformance suite (audittest.Run; see TestConformance), and its Rewrite,
// RewritePersonal and Contains let tamper-detection and erasure tests do to it what an
// attacker or an auditor could do to a table. It imports only audit, the root package and
// the standard library (plus uuid, which the audit vocabulary already uses), so embedding
// audit with it compiles no other module. Nothing survives a restart.
package memaudit
