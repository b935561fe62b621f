// Package eusaas holds the vocabulary shared by every eusaas module and nothing else:
// error kinds and KindOf, TenantID and its context helpers, the request principal and
// audit recorder ports, the transaction port and the clock.
//
// The domain modules (tenancy, auth, billing, anomaly, gdpr, audit) each import only this
// package, the standard library and a few small leaf libraries, so embedding one module
// compiles none of the others and no database driver. Adapters for Postgres, Redis and
// memory live under adapters/; the reference server in cmd/eusaas wires them together.
package eusaas
