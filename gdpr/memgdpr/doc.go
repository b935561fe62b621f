// Package memgdpr is the in-memory reference adapter of the gdpr module (as gocloud's
// blob/memblob is blob's): the request, policy, hold and key store (NewStore), the archive
// store (NewArchives), the tenant data port over any eusaas.DataSource (NewTenantData), and
// a generic table set for tests and small embedders (NewTables). It imports only gdpr, the
// root package, memtx and the standard library, and passes gdprtest's suites.
package memgdpr
