// Package memtx is the in-process transaction shared by the modules' memory adapters
// (tenancy/memtenancy, billing/membilling, ...): one TxRunner whose undo log lets stores of
// different modules commit or roll back together, as one Postgres transaction would.
// It imports only the standard library and the root package, so a memory adapter that uses
// it stays free of every other module.
package memtx
