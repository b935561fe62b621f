// Package redis implements eusaas ports on Redis (go-redis v9): the tenant cache, and
// whatever else needs shared, expiring state (token denylist, rate limits). Every key starts
// with the adapter's configured prefix and carries the tenant: <prefix>t:<tenant_id>:...
package redis
