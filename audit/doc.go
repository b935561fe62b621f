// Package audit is the tamper-evident audit log: one SHA-256 hash chain per tenant plus a
// platform chain over the canonical encoding of every entry, group-committed appends, signed
// checkpoints, a streaming verifier, and erasable personal data kept beside the chain.
//
// # Chains
//
// Every tenant has its own chain (Entry.Chain = the tenant id) and the platform has one
// (PlatformChain, the zero tenant id) for operator actions and tenant lifecycle. An entry's
// Hash is SHA-256 over a versioned, domain-separated, length-prefixed binary encoding of
// every field of the entry including its seq and the previous entry's hash (see hash.go for
// the exact layout). Changing, removing, inserting or reordering an entry therefore breaks the
// chain, and the Verifier names the first bad seq and the kind of tampering.
//
// # Appends
//
// Service.Record (eusaas.Recorder) prepares the entry outside any lock (id, time, canonical
// changes, commitments), then joins its chain's group commit: the first caller to find no
// commit running becomes the leader and appends everything queued in one store transaction,
// in which the store locks the chain head (Postgres: SELECT ... FOR UPDATE), seals the batch
// (seqs, prev hashes, hashes) and moves the head. Seqs are assigned under that lock only, so
// there are no forks and no gaps, whatever the number of processes. A Record made with a
// context carrying a store transaction appends inside it instead.
//
// # Checkpoints
//
// Every CheckpointEvery entries or CheckpointInterval, the service signs (Ed25519) the
// chain's (chain, size, head hash, time), stores the checkpoint and writes it to a
// CheckpointSink (adapters/file keeps a copy outside the database). The verifier checks the
// chain against every checkpoint: a chain cut back (even with its head row rewound) or
// rewritten after a checkpoint is reported as truncated. The public key is published
// (Service.PublicKey, GET /api/v1/audit-log/checkpoint-key, the sink's key file).
//
// # Transparency log (tree.go, proof.go; ADR 0012)
//
// Each chain is also an RFC 6962 Merkle tree (golang.org/x/mod/sumdb/tlog layout; leaf data:
// the entry hash). A writer seals a batch under the head lock and signs the new head
// (HeadMessage: size, chain hash, tree root); before sealing it checks the head it locked was
// signed by a writer. A checkpoint is made only when the entries since the previous
// checkpoint reproduce the signed head, so a chain rewritten in the database is never signed:
// it is alerted (ForgeriesDetected, Options.OnForgery, the error log) instead. Checkpoints
// also carry the signed-note form (CheckpointBody: origin, size, base64 root) that
// Service.Prove and Service.Consistency proofs are checked against, and go to every sink
// (Sinks: a directory, a witness service) so that a rollback is visible to whoever holds a
// copy. Service.Upgrade builds the tree of chains written before it existed, once.
//
// # Personal data
//
// IP address, user agent and the event's Personal values are not in the chain. The chain
// holds, per value, HMAC-SHA256 under a random per-subject key of (entry id, name, value);
// the values live in a side table and the keys in a key store. EraseSubject deletes the key
// and the values: the chain still verifies (it only ever covered commitments), the API shows
// the fields as erased, and without the key the commitments cannot be linked to any value,
// even a guessable one such as an IP address. Pseudonymous ids (actor and subject ids) stay
// in the chain; they identify no one once the subject's records elsewhere are erased.
package audit
