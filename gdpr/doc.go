// Package gdpr carries out data subjects' and customers' rights: Article 20 export, Article
// 17 erasure of a subject or of a whole tenant as a resumable saga, and retention
// enforcement; every request carries its Art. 12(3) deadline.
//
// Exports stream every tenant table (or the rows of listed data subjects) as JSON, CSV or
// XML into one zip archive with a manifest (row counts and SHA-256 per file) signed with
// Ed25519; VerifyArchive checks one offline. The tenant erasure saga implements tenancy's
// Deprovisioner: seven idempotent steps whose state is stored, so a crash anywhere resumes
// where it stopped; its step-two backup is sealed with a per-tenant AES-256-GCM key that a
// periodic job destroys when the retention period passes (crypto-shredding). Signed
// certificates stay retrievable after the tenant is gone.
//
// The module reaches the rest of the platform only through the ports in ports.go: a
// RequestStore, PolicyStore, HoldStore, KeyStore and ArchiveStore for its own records,
// TenantData for the tenant's rows, and small ports adapted from tenancy, auth, audit and
// billing by package platform. Work runs as jobs on the jobs port (RegisterJobs). The
// service's files follow its seams: export.go, erasure.go (subjects), saga.go (tenants),
// retention.go, holds.go, requests.go (lookup and deadlines). gdprtest holds the
// conformance suites, one area per port.
package gdpr
