// Package memanomaly is the in-memory reference adapter of package anomaly, kept beside it
// the way gocloud.dev keeps blob/memblob beside blob: a Store of detected anomalies (also an
// eusaas.DataSource for GDPR export and erasure, with EnforceDataRetention for the tenant's
// default_retention_days) and a Series, an anomaly.SeriesSource of daily costs added by hand
// (tests, benchmarks, evaluations; the reference server reads billing's instead). It passes
// anomaly's conformance suite (anomalytest.Run; see TestConformance), takes part in memtx
// transactions, and imports only anomaly, the root package, memtx and the standard library
// (plus uuid and decimal, which the anomaly vocabulary already uses), so embedding anomaly
// with it compiles no other module. Nothing survives a restart.
package memanomaly
