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
// Erasure removes every copy it certifies: the tenant's erasure also deletes its export
// archives (their download URLs answer 404), its queued jobs (jobs.TenantCanceler) and the
// audit log's personal values about it (TenantAuditEraser); a subject's erasure deletes the
// exports holding that subject's data. Certificates count each category (gdpr.exports,
// jobs.pending, audit.personal_data beside the tables). A legal hold pauses all deletion of
// its tenant: erasure is refused naming the hold, retention and key shredding wait.
//
// The module reaches the rest of the platform only through the ports in ports.go: a
// RequestStore, PolicyStore, HoldStore, KeyStore and ArchiveStore for its own records,
// TenantData for the tenant's rows, and small ports adapted from tenancy, auth, audit and
// billing by package platform. Work runs as jobs on the jobs port (RegisterJobs). The
// service's files follow its seams: export.go, erasure.go (subjects), saga.go (tenants),
// retention.go, holds.go, requests.go (lookup and deadlines). gdprtest holds the
// conformance suites, one area per port.
package gdpr
