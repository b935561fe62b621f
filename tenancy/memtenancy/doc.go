// Package memtenancy is the in-memory reference adapter of package tenancy, kept beside it
// the way gocloud.dev keeps blob/memblob beside blob: a tenant Store, a Provisioner that
// records schema versions instead of creating schemas, a Cache with a time to live, and a
// RateCounter for the per-tenant settings.api_rate_limit. It passes tenancy's conformance
// suites (tenancytest.Run, RunCache and RunProvisioner; see TestConformance), takes part in
// memtx transactions, and imports only tenancy, the root package, memtx and the standard
// library, so embedding tenancy with it compiles no other module. Nothing survives a restart.
package memtenancy
