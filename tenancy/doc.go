// Package tenancy is the tenant registry and lifecycle: who the tenants are, which state each
// is in, which transitions are allowed, and the provisioning of each tenant's isolated schema.
//
// The lifecycle (SPEC.md):
//
//	PENDING -> PROVISIONING -> ACTIVE <-> SUSPENDED -> DEPROVISIONING -> DELETED
//	PENDING|PROVISIONING -> DELETED (provisioning failed)
//
// Service validates every transition against that table (anything else is
// ErrInvalidTransition, naming the current status), stores it with a compare-and-swap on the
// tenant's Version, and records it through eusaas.Recorder in the same transaction. The
// Version doubles as the ETag of the HTTP layer; Update honours an If-Match version.
//
// Ports (ports.go): Store (registry), Provisioner (a tenant's schema), Cache (read-through,
// written through on every change), InvitationIssuer (auth issues the owner invitation) and
// Deprovisioner (the gdpr erasure saga; DefaultDeprovisioner until it is wired). The
// conformance suites of Store and Cache are in tenancy/tenancytest.
package tenancy
