// Package metering produces billing usage in the reference server, so tenants are billed
// without anyone pushing usage: API calls counted by the HTTP layer, storage measured from
// the tenant's schema, and CPU, memory and network read from Prometheus.
//
// Every event it emits has a deterministic id (instance and sequence for API calls, day for
// storage, hour for Prometheus windows), so a retried flush or a re-run collection is a
// duplicate and never counts twice.
package metering
