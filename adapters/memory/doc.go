// Package memory implements the auth, billing, anomaly and gdpr ports in process (tenancy,
// audit and jobs have their own memory adapters: tenancy/memtenancy, audit/memaudit,
// jobs/memjobs). It is the embedded default of the reference server and the reference
// implementation each conformance suite is first proven against. Nothing survives a restart.
package memory
