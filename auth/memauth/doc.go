// Package memauth is the in-memory reference adapter of package auth, kept beside it the way
// gocloud.dev keeps blob/memblob beside blob: one Store holding users, operators, sessions,
// invitations and service accounts (auth.UserStore, OperatorStore, SessionStore,
// InvitationStore and ServiceAccountStore), a Denylist of revoked access tokens and a login
// failure Limiter, each for a single process. The Store is also an eusaas.DataSource (GDPR
// export and tenant erasure see its tables as the Postgres tenant schema has them) and
// deletes expired sessions and invitations for retention (DeleteExpired). It passes auth's
// conformance suites (authtest.Run, RunDenylist and RunLimiter; see TestConformance), takes
// part in memtx transactions, and imports only auth, the root package, memtx and the
// standard library (plus uuid), so embedding auth with it compiles no other module. Nothing
// survives a restart.
package memauth
