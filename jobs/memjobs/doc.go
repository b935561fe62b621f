// Package memjobs is the in-process reference adapter of the jobs port, kept beside it the
// way gocloud.dev keeps blob/memblob beside blob: a Runner that implements jobs.Queue with
// the jobs in memory, a small worker pool (Start/Stop) or one-at-a-time draining
// (WorkAvailable, for tests and the in-memory server), retries with backoff, a discarded
// (dead-letter) state and the Registry's periodic schedules. An Enqueue inside a memtx
// transaction runs only once that transaction commits, so it joins the memory stores of
// every module the way River's InsertTx joins a Postgres transaction. It passes the jobs
// conformance suite (jobstest.Run; see TestConformance) and imports only jobs, the root
// package, memtx and the standard library (plus uuid for job ids), so it compiles no domain
// module. Jobs do not survive a restart.
package memjobs
