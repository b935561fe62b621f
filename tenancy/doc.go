// Package tenancy is the tenant registry and lifecycle: who the tenants are, which state each
// is in (PENDING, PROVISIONING, ACTIVE, SUSPENDED, DEPROVISIONING, DELETED), which
// transitions are allowed, and the provisioning of each tenant's isolated schema.
package tenancy
